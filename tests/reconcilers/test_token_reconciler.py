"""AstraToken passes on the engine with in-memory ports (tests/reconcilers/fakes.py)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from pydantic import SecretStr

from astra_operator.astra import models, redaction
from astra_operator.kube import api as kube_api
from astra_operator.logic import token as logic
from astra_operator.reconcilers import engine, token
from tests.reconcilers.fakes import FakeAstra, FakeKube, body, deps, synced

ROLE_ID = "0b5e2c39-6a8f-4d2e-9a51-1c3f5e7d9b20"
RO_USER = "8f1c0c51-8a5e-4f44-9c55-7e1f0b1d3a22"
SPEC: dict[str, Any] = {"roles": [{"roleRef": {"name": "readers"}}, {"builtinRole": "RO User"}]}
MARK = logic.marker("team", "app", "u1")
SECRET = "team/app-token"


class World:
    """One AstraToken object across passes: each pass parses the status the last one wrote."""

    def __init__(self, role_id: str | None = ROLE_ID) -> None:
        self.astra, self.kube = FakeAstra(), FakeKube()
        self.astra.roles[RO_USER] = models.Role(
            id=RO_USER,
            name="RO User",
            policy=models.Policy(resources=["drn:astra:org:__ORG_ID__"], actions=["org-db-view"]),
        )
        self.kube.objects[("astraroles", "team", "readers")] = {
            "status": {"roleID": role_id} if role_id else {}
        }
        self.status: dict[str, Any] = {}
        self.spec: dict[str, Any] = dict(SPEC)
        self.annotations: dict[str, str] = {}
        self.outcomes: list[engine.Outcome[Any]] = []

    def obj(self) -> token.Obj:
        return token.parse(body(self.spec, self.status, self.annotations, name="app"))

    async def run(self, at: float = 30.0) -> engine.Outcome[Any]:
        outcome = await engine.reconcile(
            token.KIND, self.obj(), deps(self.astra, self.kube, later=at)
        )
        self.status = outcome.status.model_dump(by_alias=True, mode="json", exclude={"kopf"})
        self.outcomes.append(outcome)
        return outcome

    async def finalize(self, at: float = 30.0) -> engine.Outcome[Any]:
        outcome = await engine.finalize(
            token.KIND, self.obj(), deps(self.astra, self.kube, later=at)
        )
        self.outcomes.append(outcome)
        return outcome

    def secret(self) -> dict[str, str]:
        return self.kube.secret_values("team", "app-token")

    def live(self) -> set[str]:
        return set(self.astra.tokens)

    def reasons(self) -> list[str]:
        return [e.reason for o in self.outcomes for e in o.events]

    def leaked(self, text: str) -> list[str]:
        """Token values (or their secret parts) found in ``text``."""
        found = []
        for secret, value in self.astra.values.values():
            found += [v for v in (secret, value, value.rsplit(":", 1)[1]) if v in text]
        return found


def everything_but_the_secret(world: World) -> str:
    events = [(e.type, e.reason, e.message) for o in world.outcomes for e in o.events]
    return json.dumps([world.status, events, world.kube.patches], default=str)


async def test_waits_for_a_role_without_an_id_and_issues_nothing() -> None:
    world = World(role_id=None)
    outcome = await world.run()
    assert synced(outcome) == ("False", "WaitingForRole")
    assert "readers" in outcome.status.condition("Synced").message  # type: ignore[union-attr]
    assert world.astra.calls == []
    assert outcome.status.condition("Ready").reason == "Creating"  # type: ignore[union-attr]


async def test_issues_one_token_for_every_role_and_writes_the_secret_in_the_same_pass() -> None:
    world = World()
    outcome = await world.run()
    [client_id] = world.live()
    assert outcome.status.client_id == client_id
    assert outcome.status.roles == tuple(sorted([ROLE_ID, RO_USER]))
    assert sorted(world.astra.tokens[client_id].roles) == sorted([ROLE_ID, RO_USER])
    assert (world.astra.tokens[client_id].description or "").endswith(f"[{MARK}]")
    client_secret, value = world.astra.values[client_id]
    assert world.secret() == {"clientId": client_id, "clientSecret": client_secret, "token": value}
    stored = world.kube.owned[SECRET]
    assert stored.owner_uids == {"u1"}
    assert stored.labels["app.kubernetes.io/managed-by"] == "astra-operator"
    assert stored.labels[logic.TOKEN_LABEL] == "app"
    assert outcome.status.create_pending is None
    assert outcome.status.pending_revocations is None
    assert synced(outcome) == ("True", "ReconcileSuccess")
    assert outcome.status.condition("Ready").status == "True"  # type: ignore[union-attr]
    # the next pass changes nothing
    await world.run(40)
    assert world.live() == {client_id}
    assert world.astra.calls.count("create_token") == 1
    assert world.leaked(everything_but_the_secret(world)) == []


async def test_rotate_annotation_issues_a_new_token_and_revokes_the_old_after_the_grace() -> None:
    world = World()
    world.spec = {**SPEC, "rotation": {"gracePeriod": "30s"}}
    first = (await world.run()).status.client_id
    world.annotations = {"astra.operator.dev/rotate": "1"}
    outcome = await world.run(40)
    second = outcome.status.client_id
    assert second != first
    assert world.secret()["clientId"] == second
    assert world.live() == {first, second}  # the old one works during the grace period
    [pending] = outcome.status.pending_revocations
    assert pending.client_id == first
    assert (pending.revoke_at - outcome.status.issued_at).total_seconds() == 30
    assert "Rotated" in world.reasons()
    assert (await world.run(50)).status.client_id == second  # same value: no new rotation
    assert world.live() == {first, second}
    outcome = await world.run(71)
    assert world.live() == {second}
    assert outcome.status.pending_revocations is None
    assert "Revoked" in world.reasons()
    assert world.astra.calls.count("create_token") == 2


async def test_a_deleted_or_edited_secret_gets_a_new_token() -> None:
    world = World()
    first = (await world.run()).status.client_id
    del world.kube.owned[SECRET]
    second = (await world.run(40)).status.client_id
    assert second not in (None, first)
    assert world.secret()["clientId"] == second
    edited = dict(world.kube.owned[SECRET].data)
    world.kube.owned[SECRET] = kube_api.SecretContent(
        data={**edited, "token": SecretStr("AstraCS:edited:by-hand")},
        annotations=world.kube.owned[SECRET].annotations,
        labels={},
        owner_uids=frozenset({"u1"}),
    )
    third = (await world.run(50)).status.client_id
    assert third not in (first, second)
    assert world.secret()["clientId"] == third
    assert world.live() == {first, second, third}  # both in their grace period (10m)
    await world.run(30 + 11 * 60)
    assert world.live() == {third}


async def test_changed_roles_and_the_schedule_rotate() -> None:
    world = World()
    world.spec = {**SPEC, "rotation": {"every": "1h", "gracePeriod": "1m"}}
    outcome = await world.run()
    first = outcome.status.client_id
    assert (outcome.status.next_rotation_at - outcome.status.issued_at).total_seconds() == 3600
    world.spec = {**world.spec, "roles": [{"builtinRole": "RO User"}]}
    outcome = await world.run(40)
    second = outcome.status.client_id
    assert second != first
    assert world.astra.tokens[second].roles == [RO_USER]
    assert outcome.status.roles == (RO_USER,)
    await world.run(40 + 3600)
    third = world.status["clientId"]
    assert third != second
    assert world.live() == {third, second}  # first went after its minute


async def test_a_token_revoked_outside_is_issued_again_with_a_warning() -> None:
    world = World()
    first = (await world.run()).status.client_id
    del world.astra.tokens[first]
    outcome = await world.run(100)
    assert outcome.status.client_id not in (None, first)
    assert world.secret()["clientId"] == outcome.status.client_id
    assert ("Warning", "Recreating") in [(e.type, e.reason) for e in outcome.events]


async def test_a_failed_secret_write_revokes_the_new_token_and_a_later_pass_issues_one() -> None:
    world = World()
    world.kube.write_errors.append(kube_api.KubeUnavailable("write Secret: no answer"))
    with pytest.raises(kube_api.KubeUnavailable):
        await world.run()
    assert world.live() == set()
    status = world.kube.patches[-1]
    assert status["createPending"] is not None  # the pass died: no outcome, the marker stays
    world.status = dict(status)
    await world.run(70)  # the look-up finds nothing, past the grace: creates again
    [client_id] = world.live()
    assert world.status["clientId"] == client_id
    assert world.secret()["clientId"] == client_id


async def test_a_crash_between_create_and_secret_revokes_the_orphan_before_issuing() -> None:
    """The pass died right after the create: status has the marker (and the new clientId as a
    revocation due now); Astra has the token; no Secret holds it."""
    world = World()
    world.kube.write_errors.append(RuntimeError("killed"))
    world.astra.fail("revoke_token", RuntimeError("killed too"))  # nothing is revoked on the way
    with pytest.raises(RuntimeError):
        await world.run()
    [orphan] = world.live()
    world.status = dict(world.kube.patches[-1])
    assert [r["clientId"] for r in world.status["pendingRevocations"]] == [orphan]
    await world.run(70)
    [client_id] = world.live()
    assert client_id != orphan
    assert world.secret()["clientId"] == client_id
    assert world.status["pendingRevocations"] is None


async def test_an_orphan_found_only_by_its_marker_is_revoked() -> None:
    world = World()
    stray = await world.astra.create_token([ROLE_ID], description=f"[{MARK}]")
    other = await world.astra.create_token([ROLE_ID], description="[astra-operator team/b u2]")
    world.status = {
        "createPending": {"requestedAt": "2026-11-23T12:00:00Z", "name": MARK, "existingIDs": []}
    }
    await world.run(60)
    assert stray.client_id not in world.live()
    assert other.client_id in world.live()
    assert len(world.live()) == 2
    assert "RevokedStray" in world.reasons()


async def test_a_rotation_cut_short_after_the_secret_write_keeps_the_secret_token() -> None:
    world = World()
    first = (await world.run()).status.client_id
    world.annotations = {"astra.operator.dev/rotate": "now"}
    await world.run(40)
    second = world.status["clientId"]
    # The pass died right after the Secret write: status is what it saved before that write.
    [before_write] = [
        patch
        for patch in world.kube.patches
        if patch["clientId"] == first
        and [r["clientId"] for r in patch["pendingRevocations"] or ()] == [second]
    ]
    world.status = dict(before_write)
    outcome = await world.run(50)  # status says first; the Secret holds second
    assert outcome.status.client_id == second
    assert world.live() == {first, second}
    assert [r.client_id for r in outcome.status.pending_revocations] == [first]
    assert "RotationCompleted" in world.reasons()


async def test_a_previous_token_put_back_in_the_secret_is_replaced_not_taken() -> None:
    world = World()
    await world.run()
    first_secret = dict(world.kube.owned[SECRET].data)
    world.annotations = {"astra.operator.dev/rotate": "1"}
    second = (await world.run(40)).status.client_id
    stored = world.kube.owned[SECRET]
    world.kube.owned[SECRET] = kube_api.SecretContent(
        data=first_secret,  # a restored backup: the operator's own fingerprint matches
        annotations={
            logic.FINGERPRINT_ANNOTATION: logic.fingerprint(
                {k: v.get_secret_value() for k, v in first_secret.items()}
            )
        },
        labels=stored.labels,
        owner_uids=stored.owner_uids,
    )
    third = (await world.run(50)).status.client_id
    assert third not in (second, None)
    assert world.secret()["clientId"] == third


async def test_a_secret_owned_by_someone_else_is_never_overwritten() -> None:
    world = World()
    world.kube.owned[SECRET] = kube_api.SecretContent(
        data={}, annotations={}, labels={}, owner_uids=frozenset()
    )
    outcome = await world.run()
    assert synced(outcome) == ("False", "SecretConflict")
    assert world.live() == set()


async def test_unknown_builtin_role_is_a_condition() -> None:
    world = World()
    world.astra.roles.clear()
    outcome = await world.run()
    assert synced(outcome) == ("False", "RoleNotFound")
    assert world.live() == set()


async def test_delete_revokes_the_token_and_the_previous_ones() -> None:
    world = World()
    world.spec = {**SPEC, "deletionPolicy": "Delete"}
    await world.run()
    world.annotations = {"astra.operator.dev/rotate": "1"}
    await world.run(40)
    assert len(world.live()) == 2
    outcome = await world.finalize(50)
    assert outcome.done
    assert world.live() == set()


async def test_retain_keeps_the_token_and_its_secret_and_revokes_the_previous_ones() -> None:
    world = World()
    world.spec = {**SPEC, "deletionPolicy": "Retain"}
    await world.run()
    world.annotations = {"astra.operator.dev/rotate": "1"}
    current = (await world.run(40)).status.client_id
    outcome = await world.finalize(50)
    assert outcome.done
    assert world.live() == {current}
    assert world.kube.owned[SECRET].owner_uids == frozenset()
    assert {"SecretKept", "Retained"} <= set(world.reasons())


async def test_no_token_value_reaches_a_log_record(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    world = World()
    await world.run()
    client_id = world.status["clientId"]
    _, value = world.astra.values[client_id]
    logging.getLogger("test").warning("echo %s and %s", value, world.secret()["clientSecret"])
    flt = redaction.RedactingFilter()
    for record in caplog.records:
        flt.filter(record)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert world.leaked(text) == []
    assert client_id in text  # the ID stays readable
