"""AstraRole passes on the engine with in-memory ports (tests/reconcilers/fakes.py)."""

from __future__ import annotations

from typing import Any

from astra_operator.astra import models
from astra_operator.reconcilers import engine, role
from tests.reconcilers.fakes import ORG, FakeAstra, FakeKube, body, deps, synced

SPEC = {
    "permissions": ["db-cql"],
    "resources": [{"databaseRef": {"name": "shop"}, "keyspace": "sales"}],
}
DB_ID = "0b3e6e55-1111-4222-8333-444455556666"


def obj(status: dict[str, Any] | None = None, **spec: Any) -> role.Obj:
    return role.parse(body({**SPEC, **spec}, status, name="readers"))


def kube_with_database(recorded: str | None) -> FakeKube:
    kube = FakeKube()
    kube.objects[("astradatabases", "team", "shop")] = {
        "status": {"databaseID": recorded} if recorded else {}
    }
    return kube


async def test_waits_for_a_database_without_an_id_and_writes_nothing_to_astra() -> None:
    astra = FakeAstra()
    outcome = await engine.reconcile(role.KIND, obj(), deps(astra, kube_with_database(None)))
    assert synced(outcome) == ("False", "WaitingForDatabase")
    assert "shop" in outcome.status.condition("Synced").message  # type: ignore[union-attr]
    assert astra.calls == []


async def test_creates_with_parents_of_a_narrowed_scope() -> None:
    astra = FakeAstra()
    outcome = await engine.reconcile(role.KIND, obj(), deps(astra, kube_with_database(DB_ID)))
    assert outcome.status.role_id is not None
    sent = astra.roles[outcome.status.role_id].policy
    assert sent is not None
    assert sorted(sent.resources) == [
        f"drn:astra:org:{ORG}:db:{DB_ID}",
        f"drn:astra:org:{ORG}:db:{DB_ID}:keyspace:sales",
    ]
    assert outcome.status.drns == tuple(sorted(sent.resources))


async def test_out_of_band_change_is_reverted_with_a_warning_naming_it() -> None:
    astra, kube = FakeAstra(), kube_with_database(DB_ID)
    first = await engine.reconcile(role.KIND, obj(), deps(astra, kube))
    role_id = first.status.role_id
    assert role_id is not None
    policy = astra.roles[role_id].policy
    assert policy is not None
    tampered = policy.model_copy(update={"actions": ["db-cql", "org-db-terminate"]})
    astra.roles[role_id] = models.Role(id=role_id, name="readers", policy=tampered)
    stored = first.status.model_dump(by_alias=True, mode="json")
    outcome = await engine.reconcile(role.KIND, obj(stored), deps(astra, kube))
    assert astra.roles[role_id].policy.actions == ["db-cql"]  # type: ignore[union-attr]
    [warning] = [e for e in outcome.events if e.reason == "DriftReverted"]
    assert "org-db-terminate" in warning.message


async def test_a_built_in_role_cannot_be_adopted() -> None:
    astra = FakeAstra()
    builtin = models.Role(
        id="9c2d6a1e-0000-4000-8000-000000000001",
        name="Database Administrator",
        policy=models.Policy(resources=["drn:astra:org:__ORG_ID__"], actions=["db-cql"]),
    )
    astra.roles[builtin.id] = builtin
    outcome = await engine.reconcile(
        role.KIND, obj(roleID=builtin.id), deps(astra, kube_with_database(DB_ID))
    )
    assert synced(outcome) == ("False", "AdoptionRefused")
    assert outcome.status.role_id is None
    assert not any(c.startswith("update_role") for c in astra.calls)
