"""AstraDatabase passes on the engine with in-memory ports (tests/reconcilers/fakes.py): the
branches end-to-end tests reach only with luck (lost replies, restarts, ownership races)."""

from __future__ import annotations

from typing import Any

import pytest

from astra_operator.astra import errors, models
from astra_operator.reconcilers import database, engine, ownership
from tests.reconcilers.fakes import (
    TOKEN,
    FakeAstra,
    FakeKube,
    astra_db,
    body,
    deps,
    synced,
)

SPEC = {"cloudProvider": "GCP", "region": "us-east1"}
SHARED = "5f0c1a2b-0000-4000-8000-00000000a001"
OTHER = "5f0c1a2b-0000-4000-8000-00000000a002"


def obj(status: dict[str, Any] | None = None, **spec: Any) -> database.Obj:
    annotations = spec.pop("annotations", None)
    name = spec.pop("name_", "orders")
    uid = spec.pop("uid", "u1")
    return database.parse(body({**SPEC, **spec}, status, annotations, name=name, uid=uid))


def marker(existing: tuple[str, ...] = (), at: str = "2026-11-23T12:00:00Z") -> dict[str, Any]:
    return {
        "createPending": {
            "requestedAt": at,
            "name": "orders",
            "existingIDs": list(existing),
            "cloudProvider": "GCP",
            "region": "us-east1",
        }
    }


async def reconcile(o: database.Obj, d: engine.Deps) -> engine.Outcome[Any]:
    return await engine.reconcile(database.KIND, o, d)


async def test_create_records_what_already_had_the_name_before_sending() -> None:
    astra, kube = FakeAstra(astra_db("twin-of-a")), FakeKube()
    outcome = await reconcile(obj(), deps(astra, kube))
    assert astra.calls == ["list", "create"]
    assert kube.patches[0]["createPending"]["existingIDs"] == ["twin-of-a"]  # type: ignore[index]
    assert outcome.status.database_id == "new-1"
    assert kube.patches[1]["createPending"] is None


@pytest.mark.parametrize(
    "refusal",
    [
        pytest.param(errors.RateLimited("slow down", status=429, retry_after=1), id="429"),
        pytest.param(errors.InvalidRequest("unsupported region", status=422), id="422"),
        pytest.param(errors.TransportError("refused", maybe_applied=False), id="not-sent"),
    ],
)
async def test_a_refused_create_leaves_no_marker_and_never_looks_up(refusal: Exception) -> None:
    astra = FakeAstra(astra_db("someone-elses"))
    astra.fail("create", refusal)
    outcome = await reconcile(obj(), deps(astra))
    assert outcome.status.create_pending is None
    assert outcome.failed
    retry = await reconcile(obj(outcome.status.model_dump(by_alias=True)), deps(astra))
    assert retry.status.database_id == "new-1"  # a create of its own, not a look-up


async def test_a_lost_create_never_adopts_what_existed_before_it() -> None:
    astra = FakeAstra(astra_db("a-db"))
    outcome = await reconcile(obj(marker(existing=("a-db",))), deps(astra, later=5))
    assert outcome.status.database_id is None
    assert "create" not in astra.calls
    assert outcome.status.condition("Ready").reason == "Creating"  # type: ignore[union-attr]
    assert not outcome.failed  # a look-up is not a failure: no backoff


async def test_a_lost_create_with_nothing_found_after_the_grace_creates_again() -> None:
    astra = FakeAstra(astra_db("a-db"))
    outcome = await reconcile(obj(marker(existing=("a-db",))), deps(astra, later=60))
    assert outcome.status.database_id == "new-1"
    assert astra.calls.count("create") == 1


async def test_a_lost_create_adopts_the_one_new_database() -> None:
    astra, kube = FakeAstra(astra_db("a-db"), astra_db("made-by-us")), FakeKube()
    outcome = await reconcile(obj(marker(existing=("a-db",))), deps(astra, kube))
    assert outcome.status.database_id == "made-by-us"
    assert kube.patches[0]["databaseID"] == "made-by-us"
    assert kube.patches[0]["createPending"] is None
    assert "CreateResolved" in [e.reason for e in outcome.events]


async def test_a_lost_create_never_adopts_another_objects_database() -> None:
    owners = ownership.Owners()
    other = ownership.Claimant("2026-01-01T00:00:00Z", "team", "a", "other-uid")
    owners.claim("astradatabases", "owned", other)
    astra = FakeAstra(astra_db("owned"))
    outcome = await reconcile(obj(marker()), deps(astra, owners=owners, later=5))
    assert outcome.status.database_id is None


async def test_two_new_candidates_stop_instead_of_guessing() -> None:
    astra = FakeAstra(astra_db("a"), astra_db("b"))
    outcome = await reconcile(obj(marker()), deps(astra))
    assert synced(outcome) == ("False", "CreatePendingUnresolved")
    assert "create" not in astra.calls
    assert [e.type for e in outcome.events] == ["Warning"]


async def test_a_second_adopter_is_already_managed_and_writes_nothing() -> None:
    astra, owners = FakeAstra(astra_db(SHARED)), ownership.Owners()
    first = await reconcile(obj(databaseID=SHARED, uid="first"), deps(astra, owners=owners))
    assert first.status.database_id == SHARED
    second = obj(databaseID=SHARED, uid="second", name_="second")
    outcome = await reconcile(second, deps(astra, owners=owners))
    assert synced(outcome) == ("False", "AlreadyManaged")
    assert "team/orders" in outcome.status.condition("Synced").message  # type: ignore[union-attr]
    assert outcome.status.database_id is None
    deleted = await engine.finalize(
        database.KIND,
        obj(databaseID=SHARED, uid="second", deletionPolicy="Delete"),
        deps(astra, owners=owners),
    )
    assert deleted.done
    assert not any(c.startswith("terminate") for c in astra.calls)


async def test_adoption_names_every_mismatch_and_writes_nothing() -> None:
    astra, kube = FakeAstra(astra_db(OTHER, name="other", region="europe-west1")), FakeKube()
    outcome = await reconcile(obj(databaseID=OTHER), deps(astra, kube))
    assert synced(outcome) == ("False", "AdoptionRefused")
    message = outcome.status.condition("Synced").message  # type: ignore[union-attr]
    assert "spec.name is 'orders' but the database has 'other'" in message
    assert "spec.region is 'us-east1' but the database has 'europe-west1'" in message
    assert outcome.status.database_id is None


@pytest.mark.parametrize(
    ("value", "says"),
    [
        pytest.param("   ", "is empty", id="whitespace"),
        pytest.param("AstraCS:a\tb", "whitespace", id="tab"),
        pytest.param("AstraCS:ä", "non-ASCII", id="non-ascii"),
        pytest.param(b"\xff\xfe", "not UTF-8", id="not-utf8"),
    ],
)
async def test_an_unusable_token_is_named_before_any_marker(value: str | bytes, says: str) -> None:
    astra, kube = FakeAstra(), FakeKube({"team/astra-credentials": value})
    outcome = await reconcile(obj(), deps(astra, kube))
    assert synced(outcome) == ("False", "CredentialsInvalid")
    message = outcome.status.condition("Synced").message  # type: ignore[union-attr]
    assert says in message
    assert astra.calls == []
    assert all(p.get("createPending") is None for p in kube.patches)


async def test_the_default_token_serves_only_listed_namespaces() -> None:
    astra, kube = FakeAstra(), FakeKube({"astra-operator/astra-credentials": TOKEN})
    d = deps(astra, kube)
    d.config = type(d.config)(operator_namespace="astra-operator")
    outcome = await reconcile(obj(), d)
    assert synced(outcome) == ("False", "CredentialsNotAllowed")
    assert astra.calls == []


async def test_paused_object_makes_no_calls_at_all() -> None:
    astra, kube = FakeAstra(), FakeKube()
    outcome = await reconcile(
        obj(annotations={"astra.operator.dev/paused": "true"}), deps(astra, kube)
    )
    assert synced(outcome) == ("False", "ReconcilePaused")
    assert astra.calls == []


async def test_missing_secret_is_named() -> None:
    astra = FakeAstra()
    ref = {"secretRef": {"name": "mine", "key": "token"}}
    outcome = await reconcile(obj(credentials=ref), deps(astra))
    assert synced(outcome) == ("False", "CredentialsUnavailable")
    assert "team/mine" in outcome.status.condition("Synced").message  # type: ignore[union-attr]
    assert astra.calls == []


async def test_status_is_written_only_when_it_changes() -> None:
    astra, kube = FakeAstra(astra_db("known")), FakeKube()
    first = await reconcile(obj({"databaseID": "known"}), deps(astra, kube))
    writes = len(kube.patches)
    await reconcile(obj(first.status.model_dump(by_alias=True, mode="json")), deps(astra, kube))
    assert writes == 1
    assert len(kube.patches) == writes


@pytest.mark.parametrize(
    ("policy", "calls", "done"),
    [
        ("Retain", [], True),
        ("Delete", ["list", "get", "terminate found"], False),
    ],
)
async def test_deleting_with_only_a_marker_finds_the_database(
    policy: str, calls: list[str], done: bool
) -> None:
    astra = FakeAstra(astra_db("found"))
    outcome = await engine.finalize(
        database.KIND, obj(marker(), deletionPolicy=policy), deps(astra)
    )
    assert astra.calls == calls
    assert outcome.done is done


async def test_deleting_when_nothing_was_created_releases() -> None:
    astra = FakeAstra()
    outcome = await engine.finalize(
        database.KIND, obj(marker(), deletionPolicy="Delete"), deps(astra)
    )
    assert outcome.done
    assert not any(c.startswith("terminate") for c in astra.calls)


async def test_protected_database_is_never_terminated() -> None:
    astra = FakeAstra(astra_db("kept"))
    o = obj({"databaseID": "kept"}, deletionPolicy="Delete", deletionProtection=True)
    outcome = await engine.finalize(database.KIND, o, deps(astra))
    assert not outcome.done
    assert synced(outcome) == ("False", "DeletionProtected")
    assert astra.calls == []


ACCESS = {"enabled": True, "addresses": [{"address": "203.0.113.7", "description": "office"}]}


def _observed(outcome: engine.Outcome[Any]) -> list[tuple[str, bool, str]]:
    status = outcome.status.access_list
    assert status is not None
    return [(a.address, a.enabled, a.description) for a in status.addresses]


async def test_the_access_list_converges_and_status_shows_what_astra_holds() -> None:
    astra = FakeAstra(astra_db(SHARED))
    outcome = await reconcile(obj({"databaseID": SHARED}, accessList=ACCESS), deps(astra))
    assert synced(outcome) == ("True", "ReconcileSuccess")
    assert "add_access_list 203.0.113.7/32" in astra.calls
    assert astra.access[SHARED].enabled
    assert _observed(outcome) == [("203.0.113.7/32", True, "office")]
    assert "AccessListUpdated" in [e.reason for e in outcome.events]


async def test_an_out_of_band_address_is_removed_with_a_warning() -> None:
    astra = FakeAstra(astra_db(SHARED))
    first = await reconcile(obj({"databaseID": SHARED}, accessList=ACCESS), deps(astra))
    await astra.add_access_list_addresses(SHARED, [models.AddressRequest(address="6.6.6.6")])
    await astra.delete_access_list_address(SHARED, "203.0.113.7/32")
    status = engine.wire_status(first.status)
    second = await reconcile(obj(status, accessList=ACCESS), deps(astra))
    assert [a.address for a in astra.access[SHARED].addresses] == ["203.0.113.7/32"]
    [warning] = [e for e in second.events if e.type == "Warning"]
    assert warning.reason == "DriftReverted"
    assert "add 203.0.113.7/32" in warning.message
    assert "remove 6.6.6.6" in warning.message


async def test_without_spec_access_list_astras_list_is_left_alone() -> None:
    astra = FakeAstra(astra_db(SHARED))
    await astra.add_access_list_addresses(SHARED, [models.AddressRequest(address="6.6.6.6")])
    outcome = await reconcile(obj({"databaseID": SHARED}), deps(astra))
    assert synced(outcome) == ("True", "ReconcileSuccess")
    assert not [c for c in astra.calls if "access_list" in c and not c.startswith("add")]
    assert outcome.status.access_list is None


async def test_an_adopted_databases_extra_addresses_wait_for_confirmation() -> None:
    astra = FakeAstra(astra_db(SHARED))
    await astra.add_access_list_addresses(SHARED, [models.AddressRequest(address="6.6.6.6")])
    adopted = {"databaseID": SHARED, "adopted": True}
    outcome = await reconcile(obj(adopted, accessList=ACCESS, databaseID=SHARED), deps(astra))
    assert synced(outcome) == ("False", "AdoptionPending")
    assert "access-list address 6.6.6.6" in outcome.status.condition("Synced").message  # type: ignore[union-attr]
    assert {a.address for a in astra.access[SHARED].addresses} == {"6.6.6.6", "203.0.113.7/32"}


@pytest.mark.parametrize("refusal", [errors.Unauthorized("no", status=401)])
async def test_a_token_without_access_list_permission_is_named_and_the_rest_converges(
    refusal: Exception,
) -> None:
    astra = FakeAstra(astra_db(SHARED))
    astra.fail("get_access_list", refusal)
    outcome = await reconcile(obj({"databaseID": SHARED}, accessList=ACCESS), deps(astra))
    cond = outcome.status.condition("Synced")
    assert cond is not None
    assert (cond.status, cond.reason) == ("False", "AccessListNotAllowed")
    assert "accesslist-read" in cond.message
    ready = outcome.status.condition("Ready")
    assert ready is not None
    assert ready.status == "True"
    assert not outcome.failed
