"""What status and events say on the engine (issue: honest status, adoption that never
removes), with in-memory ports (tests/reconcilers/fakes.py)."""

from __future__ import annotations

from typing import Any

from astra_operator.astra import errors, models
from astra_operator.kube import api as kube_api
from astra_operator.reconcilers import database, engine, role
from tests.reconcilers.fakes import FakeAstra, FakeKube, astra_db, body, deps, synced

SPEC = {"cloudProvider": "GCP", "region": "us-east1"}
ID = "5f0c1a2b-0000-4000-8000-00000000b001"


def obj(
    status: dict[str, Any] | None = None, annotations: dict[str, str] | None = None, **spec: Any
) -> database.Obj:
    return database.parse(body({**SPEC, **spec}, status, annotations))


def two_regions() -> models.Database:
    base = astra_db(ID).model_dump(by_alias=True)
    base["info"]["datacenters"] = [
        {"id": f"{ID}-1", "region": "us-east1"},
        {"id": f"{ID}-2", "region": "europe-west1"},
    ]
    base["availableActions"] = ["terminateDatacenter", "addDatacenters", "addKeyspace"]
    return models.Database.model_validate(base)


async def test_adoption_never_removes_a_region_until_confirmed() -> None:
    astra = FakeAstra(two_regions())
    calls: list[str] = []

    async def terminate_datacenter(database_id: str, dc: str, **_: Any) -> None:
        calls.append(dc)

    astra.terminate_datacenter = terminate_datacenter  # type: ignore[method-assign]
    first = await engine.reconcile(database.KIND, obj(databaseID=ID), deps(astra))
    assert first.status.adopted is True
    assert "Adopted" in [e.reason for e in first.events]
    assert synced(first) == ("False", "AdoptionPending")
    assert "region europe-west1" in first.status.condition("Synced").message  # type: ignore[union-attr]
    assert calls == []
    stored = first.status.model_dump(by_alias=True, mode="json")
    confirm = {"astra.operator.dev/confirm-removals": "true"}
    await engine.reconcile(database.KIND, obj(stored, confirm, databaseID=ID), deps(astra))
    assert calls == [f"{ID}-2"]


async def test_adopted_role_keeps_extra_permissions_until_confirmed() -> None:
    astra = FakeAstra()
    have = models.Policy(resources=["drn:astra:org:o"], actions=["org-db-view", "org-write"])
    rid = "9c2d6a1e-0000-4000-8000-0000000000aa"
    astra.roles[rid] = models.Role(id=rid, name="ops", policy=have)
    spec = {"roleID": rid, "permissions": ["org-db-view"], "resources": [{"organization": True}]}
    outcome = await engine.reconcile(role.KIND, role.parse(body(spec, name="ops")), deps(astra))
    assert synced(outcome) == ("False", "AdoptionPending")
    assert "permission org-write" in outcome.status.condition("Synced").message  # type: ignore[union-attr]
    assert "org-write" in astra.roles[rid].policy.actions  # type: ignore[union-attr]


async def test_missing_credentials_say_so_in_ready_and_do_not_advance_the_generation() -> None:
    ref = {"secretRef": {"name": "absent"}}
    outcome = await engine.reconcile(database.KIND, obj(credentials=ref), deps(FakeAstra()))
    ready = outcome.status.condition("Ready")
    assert ready is not None
    assert (ready.status, ready.reason) == ("False", "CredentialsUnavailable")
    assert outcome.status.observed_generation is None


async def test_paused_does_not_advance_the_generation() -> None:
    paused = obj(annotations={"astra.operator.dev/paused": "true"})
    outcome = await engine.reconcile(database.KIND, paused, deps(FakeAstra()))
    assert outcome.status.observed_generation is None


async def test_every_distinct_failure_posts_one_warning() -> None:
    astra = FakeAstra()
    astra.fail(
        "create", errors.ServerError("boom", status=503), errors.ServerError("boom", status=503)
    )
    first = await engine.reconcile(database.KIND, obj(), deps(astra, later=60))
    assert [e.type for e in first.events] == ["Warning"]
    again = await engine.reconcile(
        database.KIND,
        obj(first.status.model_dump(by_alias=True, mode="json")),
        deps(astra, later=120),
    )
    assert [e for e in again.events if e.type == "Warning"] == []  # the same failure: no repeat


async def test_a_connection_secret_held_by_another_object_is_synced_false_naming_it() -> None:
    class Conflicting(FakeKube):
        async def apply_owned_secret(self, *args: Any) -> bool:
            raise kube_api.SecretConflict("Secret team/shared belongs to AstraDatabase team/other")

    outcome = await engine.reconcile(
        database.KIND,
        obj({"databaseID": ID}, connectionSecret={"name": "shared"}),
        deps(FakeAstra(astra_db(ID)), Conflicting()),
    )
    assert synced(outcome) == ("False", "ConnectionSecretConflict")
    assert "team/other" in outcome.status.condition("Synced").message  # type: ignore[union-attr]


async def test_phase_follows_astra_when_the_database_is_gone() -> None:
    status = {"databaseID": ID, "phase": "ACTIVE"}
    outcome = await engine.reconcile(database.KIND, obj(status), deps(FakeAstra()))
    assert outcome.status.phase == "NOT_FOUND"
