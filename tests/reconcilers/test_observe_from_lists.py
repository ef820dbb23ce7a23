"""Steady objects are observed from their credential's lists (engine ``Pass.listed``): which
requests a pass makes, per case, with in-memory ports."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from astra_operator.astra import errors
from astra_operator.reconcilers import database, engine, role
from tests.reconcilers.fakes import NOW, FakeAstra, astra_db, body, deps

SPEC = {"cloudProvider": "GCP", "region": "us-east1"}
DB = "5f0c1a2b-0000-4000-8000-00000000b001"
OTHER = "5f0c1a2b-0000-4000-8000-00000000b002"


def steady(d: engine.Deps, db_id: str = DB, uid: str = "u1", **spec: Any) -> database.Obj:
    """An object whose last pass saw its database ACTIVE (status as that pass wrote it)."""
    status = {
        "databaseID": db_id,
        "phase": "ACTIVE",
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Available",
                "message": "The database is ACTIVE.",
                "lastTransitionTime": "2026-11-23T11:00:00Z",
                "observedGeneration": 1,
            },
            {
                "type": "Synced",
                "status": "True",
                "reason": "ReconcileSuccess",
                "message": "",
                "lastTransitionTime": "2026-11-23T11:00:00Z",
                "observedGeneration": 1,
            },
        ],
    }
    return database.parse(body({**SPEC, **spec}, status, uid=uid))


async def run(o: database.Obj, d: engine.Deps) -> engine.Outcome[Any]:
    return await engine.reconcile(database.KIND, o, d)


async def test_steady_databases_share_one_list_and_make_no_request_of_their_own() -> None:
    astra = FakeAstra(astra_db(DB), astra_db(OTHER))
    d = deps(astra)
    for db_id, uid in ((DB, "u1"), (OTHER, "u2")):
        outcome = await run(steady(d, db_id, uid), d)
        assert outcome.requeue_after == d.config.poll_interval
    assert astra.calls == ["list"]


async def test_a_database_missing_from_the_list_gets_one_get() -> None:
    astra = FakeAstra(astra_db(OTHER))
    outcome = await run(steady(deps(astra)), deps(astra))
    assert astra.calls == ["list", "get"]
    assert outcome.status.phase == "NOT_FOUND"


async def test_an_edited_spec_reads_the_database_itself() -> None:
    astra = FakeAstra(astra_db(DB))
    o = steady(deps(astra))
    edited = database.parse(
        {
            **body(SPEC, engine.wire_status(o.status)),
            "metadata": {**body(SPEC)["metadata"], "generation": 2},
        }
    )
    await run(edited, deps(astra))
    assert astra.calls == ["get"]


async def test_a_list_older_than_the_objects_last_own_read_is_not_used() -> None:
    astra = FakeAstra(astra_db(DB))
    d = deps(astra)
    await run(steady(d, OTHER, "u2"), d)  # takes the list (OTHER is missing: one GET)
    d.scratch.setdefault("u1", {})[engine.DIRECT_AT] = d.clock() + timedelta(seconds=1)
    astra.calls.clear()
    await run(steady(d), d)
    assert astra.calls == ["get"]


async def test_something_to_do_in_the_list_is_read_directly_before_acting() -> None:
    astra = FakeAstra(astra_db(DB))
    astra.add_keyspace = _record(astra, "add_keyspace")  # type: ignore[method-assign]
    await run(steady(deps(astra), additionalKeyspaces=["more"]), deps(astra))
    assert astra.calls == ["list", "get", "add_keyspace"]


async def test_a_failed_list_sends_objects_to_their_own_reads_for_an_interval() -> None:
    astra = FakeAstra(astra_db(DB), astra_db(OTHER))
    astra.fail("list", errors.Forbidden("no", status=403))
    d = deps(astra)
    await run(steady(d), d)
    await run(steady(d, OTHER, "u2"), d)
    assert astra.calls == ["list", "get", "get"]


async def test_a_steady_role_reads_the_role_list_once_the_list_is_newer_than_its_create() -> None:
    astra = FakeAstra()
    d = deps(astra)
    spec = {"permissions": ["db-cql"], "resources": [{"organization": True}]}
    first = await engine.reconcile(role.KIND, role.parse(body(spec)), d)
    stored = engine.wire_status(first.status)
    astra.calls.clear()
    await engine.reconcile(role.KIND, role.parse(body(spec, stored)), d)
    assert astra.calls == ["get_role"]  # the list it has predates the create
    d.clock = lambda: NOW + timedelta(seconds=30 + d.config.poll_interval + 1)
    astra.calls.clear()
    outcome = await engine.reconcile(role.KIND, role.parse(body(spec, stored)), d)
    assert astra.calls == ["list_roles"]
    assert outcome.status.condition("Ready").status == "True"  # type: ignore[union-attr]


def _record(astra: FakeAstra, name: str) -> Any:
    async def call(*args: Any, **kwargs: Any) -> None:
        astra.calls.append(name)

    return call
