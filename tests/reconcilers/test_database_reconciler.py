"""Reconciler branches the end-to-end tests do not reach, with in-memory ports."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from astra_operator import config
from astra_operator.astra import errors, models
from astra_operator.kube import api as kube_api
from astra_operator.reconcilers import base, database, deletion

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TOKEN = "AstraCS:abc:0123456789abcdef"


class FakeAstra:
    def __init__(self, *existing: models.Database, create_error: Exception | None = None) -> None:
        self.databases = {d.id: d for d in existing}
        self.calls: list[str] = []
        self.create_error = create_error

    async def get_database(self, database_id: str, *, token: str | None = None) -> models.Database:
        self.calls.append("get")
        if database_id not in self.databases:
            raise errors.NotFound("no such database", status=404)
        return self.databases[database_id]

    async def list_databases(self, **_: Any) -> list[models.Database]:
        self.calls.append("list")
        return list(self.databases.values())

    async def create_database(
        self, spec: models.DatabaseCreate, *, token: str | None = None
    ) -> str:
        self.calls.append("create")
        if self.create_error:
            raise self.create_error
        return "new-id"

    async def terminate_database(self, database_id: str, *, token: str | None = None) -> None:
        self.calls.append(f"terminate {database_id}")

    def __getattr__(self, name: str) -> Any:  # day-2 calls are not expected here
        raise AssertionError(f"unexpected call {name}")


class FakeKube:
    def __init__(self, secrets: Mapping[str, str] | None = None) -> None:
        self.secrets = dict(secrets or {"astra-operator/astra-credentials": TOKEN})
        self.patches: list[Mapping[str, object]] = []

    async def patch_status(
        self, ref: kube_api.ObjectRef, status: Mapping[str, object]
    ) -> dict[str, object]:
        self.patches.append(status)
        return {}

    async def read_secret_value(self, namespace: str, name: str, key: str) -> str:
        try:
            return self.secrets[f"{namespace}/{name}"]
        except KeyError:
            raise kube_api.SecretUnavailable(f"Secret {namespace}/{name} does not exist") from None

    async def apply_owned_secret(self, *args: Any) -> bool:
        return False


def astra_db(id_: str, created: datetime = NOW, name: str = "orders") -> models.Database:
    return models.Database.model_validate(
        {
            "id": id_,
            "status": "ACTIVE",
            "creationTime": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "info": {"name": name, "cloudProvider": "GCP", "region": "us-east1"},
        }
    )


def obj(
    status: dict[str, Any] | None = None, annotations: dict[str, str] | None = None, **spec: Any
) -> base.DatabaseObject:
    return base.DatabaseObject.from_body(
        {
            "metadata": {
                "name": "orders",
                "namespace": "team",
                "uid": "u1",
                "generation": 1,
                "annotations": annotations or {},
            },
            "spec": {"cloudProvider": "GCP", "region": "us-east1", **spec},
            "status": status or {},
        }
    )


def deps(astra: FakeAstra, kube: FakeKube | None = None) -> base.Deps:
    return base.Deps(
        astra=astra,
        kube=kube or FakeKube(),
        config=config.OperatorConfig(),
        clock=lambda: NOW + timedelta(seconds=30),
    )


PENDING = {
    "createPending": {
        "requestedAt": "2026-11-23T12:00:00Z",
        "name": "orders",
        "cloudProvider": "GCP",
        "region": "us-east1",
    }
}


def synced(outcome: base.Outcome) -> tuple[str, str]:
    cond = outcome.status.condition("Synced")
    assert cond is not None
    return cond.status, cond.reason


async def test_two_candidates_for_a_lost_create_stop_instead_of_guessing() -> None:
    astra = FakeAstra(astra_db("a"), astra_db("b"))
    outcome = await database.reconcile(obj(PENDING), deps(astra))
    assert synced(outcome) == ("False", "CreatePendingUnresolved")
    assert "create" not in astra.calls
    assert outcome.status.database_id is None
    assert [e.type for e in outcome.events] == ["Warning"]


async def test_no_candidate_after_a_restart_stops_and_never_creates() -> None:
    astra = FakeAstra(astra_db("old", created=NOW - timedelta(days=3)))
    outcome = await database.reconcile(obj(PENDING), deps(astra))
    assert synced(outcome) == ("False", "CreatePendingUnresolved")
    assert "create" not in astra.calls


async def test_one_candidate_is_adopted_and_its_id_persisted_first() -> None:
    astra, kube = FakeAstra(astra_db("found")), FakeKube()
    outcome = await database.reconcile(obj(PENDING), deps(astra, kube))
    assert outcome.status.database_id == "found"
    assert kube.patches[0]["databaseID"] == "found"
    assert kube.patches[0]["createPending"] is None


async def test_refused_create_clears_the_marker_and_names_astras_reason() -> None:
    astra = FakeAstra(create_error=errors.InvalidRequest("unsupported region", status=422))
    kube = FakeKube()
    outcome = await database.reconcile(obj(), deps(astra, kube))
    assert kube.patches[0]["createPending"] is not None  # marker written before the POST
    assert outcome.status.create_pending is None
    assert synced(outcome) == ("False", "SpecRejected")
    assert "unsupported region" in outcome.status.condition("Synced").message  # type: ignore[union-attr]


async def test_paused_object_makes_no_calls_at_all() -> None:
    astra, kube = FakeAstra(), FakeKube()
    paused = obj(annotations={"astra.operator.dev/paused": "true"})
    outcome = await database.reconcile(paused, deps(astra, kube))
    assert synced(outcome) == ("False", "ReconcilePaused")
    assert astra.calls == []
    assert kube.patches == []


async def test_missing_secret_is_named_and_the_token_never_leaks() -> None:
    astra = FakeAstra()
    ref = {"secretRef": {"name": "mine", "key": "token"}}
    outcome = await database.reconcile(obj(credentials=ref), deps(astra))
    assert synced(outcome) == ("False", "CredentialsUnavailable")
    assert "team/mine" in outcome.status.condition("Synced").message  # type: ignore[union-attr]
    assert astra.calls == []


@pytest.mark.parametrize(
    ("policy", "calls"),
    [
        ("Retain", []),
        ("Delete", ["list", "get", "terminate found"]),
    ],
)
async def test_deleting_with_only_a_marker_finds_the_database(
    policy: str, calls: list[str]
) -> None:
    astra = FakeAstra(astra_db("found"))
    outcome = await deletion.finalize(obj(PENDING, deletionPolicy=policy), deps(astra))
    assert astra.calls == calls
    assert outcome.done is (policy == "Retain")


async def test_deleting_when_nothing_was_created_releases() -> None:
    astra = FakeAstra()
    outcome = await deletion.finalize(obj(PENDING, deletionPolicy="Delete"), deps(astra))
    assert outcome.done
