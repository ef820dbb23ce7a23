"""Pure decisions for AstraDatabase, table-driven, one reason per case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from astra_operator.astra import errors, models
from astra_operator.logic import changes, conditions, failures, pending, phases
from astra_operator.logic import database as logic
from astra_operator.resources import common
from astra_operator.resources import database as db

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def spec(**kw: Any) -> db.AstraDatabaseSpec:
    return db.AstraDatabaseSpec.model_validate({"cloudProvider": "GCP", "region": "us-east1", **kw})


def database(
    status: str = "ACTIVE", actions: list[str] | None = None, **info: Any
) -> models.Database:
    body: dict[str, Any] = {
        "name": "orders",
        "cloudProvider": "GCP",
        "region": "us-east1",
        "tier": "serverless",
        "capacityUnits": 1,
        "keyspaces": ["default_keyspace"],
        "datacenters": [{"id": "d-1", "region": "us-east1"}],
        **info,
    }
    return models.Database.model_validate(
        {
            "id": "d",
            "status": status,
            "info": body,
            "availableActions": actions or [],
            "creationTime": "2026-11-23T12:00:05Z",
        }
    )


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("ACTIVE", phases.Kind.READY),
        ("active", phases.Kind.READY),  # case does not matter
        ("MAINTENANCE", phases.Kind.BUSY),
        ("ASSOCIATING", phases.Kind.BUSY),  # beyond the spec's enum, seen from real clients
        ("PARKED", phases.Kind.PAUSED),
        ("HIBERNATED", phases.Kind.PAUSED),
        ("TERMINATING", phases.Kind.GONE),
        ("ERROR", phases.Kind.FAILED),
        ("REINCARNATING", phases.Kind.UNKNOWN),  # unknown strings are kept, not guessed at
    ],
)
def test_status_classification(status: str, kind: phases.Kind) -> None:
    assert phases.kind(status) is kind


@pytest.mark.parametrize(
    ("status", "ready", "reason"),
    [
        ("ACTIVE", "True", "Available"),
        ("PENDING", "False", "Creating"),
        ("MAINTENANCE", "False", "Updating"),
        ("PARKED", "False", "Parked"),
        ("HIBERNATED", "False", "Hibernated"),
        ("TERMINATED", "False", "Terminated"),
        ("ERROR", "False", "Unavailable"),
        ("REINCARNATING", "False", "Unavailable"),
    ],
)
def test_ready_condition_follows_the_phase(status: str, ready: str, reason: str) -> None:
    update = logic.ready(status, spec())
    assert (update.status, update.reason) == (ready, reason)


def test_unknown_status_is_named_in_the_message() -> None:
    assert "REINCARNATING" in logic.ready("REINCARNATING", spec()).message


def test_create_request_for_serverless_and_classic() -> None:
    serverless = logic.create_request(spec(dbType="vector"), "meta-name")
    assert (serverless.name, serverless.tier, serverless.capacity_units) == (
        "meta-name",
        "serverless",
        1,
    )
    assert serverless.db_type == "vector"
    classic = logic.create_request(spec(tier="C10", capacityUnits=4, name="x"), "meta")
    assert (classic.name, classic.tier, classic.capacity_units, classic.db_type) == (
        "x",
        "C10",
        4,
        None,
    )


def _marker(**kw: Any) -> db.CreatePending:
    return db.CreatePending(
        requested_at=kw.pop("at", NOW), name="orders", cloud_provider="GCP", region="us-east1", **kw
    )


@pytest.mark.parametrize(
    ("candidate", "matches"),
    [
        (database(), True),
        (database(name="other"), False),  # another name
        (database(region="europe-west1"), False),  # another region
        (database(cloudProvider="gcp"), True),  # provider case does not matter
        (database("TERMINATED"), False),  # a terminated one is not the one we made
    ],
)
def test_pending_create_matching(candidate: models.Database, matches: bool) -> None:
    assert bool(logic.pending_matches(_marker(), [candidate])) is matches


def test_pending_create_ignores_databases_created_long_before_the_marker() -> None:
    later = _marker(at=NOW + timedelta(hours=1))
    assert logic.pending_matches(later, [database()]) == []


def test_pending_create_never_matches_what_had_the_name_before_it() -> None:
    assert logic.pending_matches(_marker(existing_ids=("d",)), [database()]) == []


@pytest.mark.parametrize(
    ("found", "seconds", "verdict"),
    [
        pytest.param(["a"], 0, pending.Verdict.ADOPT, id="one-new-is-ours"),
        pytest.param(["a", "b"], 0, pending.Verdict.STOP, id="several-ask-a-human"),
        pytest.param([], 5, pending.Verdict.WAIT, id="none-yet-lists-may-lag"),
        pytest.param([], 30, pending.Verdict.CREATE, id="none-after-grace-made-nothing"),
    ],
)
def test_pending_verdicts(found: list[str], seconds: int, verdict: pending.Verdict) -> None:
    now = NOW + timedelta(seconds=seconds)
    assert pending.verdict(_marker(), found, now=now, grace=30) is verdict


def test_pending_candidates_skip_existing_and_owned() -> None:
    marker = _marker(existing_ids=("old",))
    assert pending.candidates(marker, ["old", "owned", "new"], {"owned"}) == ["new"]


def test_unresolved_message_names_the_candidates_and_the_way_out() -> None:
    message = pending.unresolved_message("database", _marker(), ["a", "b"])
    assert "2 new databases" in message
    assert "a, b" in message
    assert "createPending" in message


@pytest.mark.parametrize(
    ("exc", "reason", "warn", "needle"),
    [
        (errors.Unauthorized("nope", status=401), "ReconcileError", True, "org-db-create"),
        (
            errors.InvalidRequest("unsupported region", status=422),
            "SpecRejected",
            True,
            "unsupported region",
        ),
        (errors.ServerError("boom", status=503), "ReconcileError", True, "retrying with backoff"),
    ],
)
def test_failures_name_the_fix(
    exc: errors.AstraError, reason: str, warn: bool, needle: str
) -> None:
    result = failures.failure(exc, "database", "create", failures=2)
    assert result.synced.reason == reason
    assert result.warn is warn
    assert needle in result.synced.message


def test_rate_limit_waits_for_retry_after() -> None:
    result = failures.failure(
        errors.RateLimited("slow", status=429, retry_after=42), "database", "read", failures=0
    )
    assert result.retry_after == 42


@pytest.mark.parametrize(("count", "delay"), [(0, 1), (1, 2), (3, 8), (6, 60), (30, 60)])
def test_backoff_grows_from_a_second_to_a_minute(count: int, delay: float) -> None:
    assert failures.backoff(count) == delay


def test_condition_transition_time_moves_only_on_status_change() -> None:
    first = conditions.merge(
        [], [conditions.Update("Ready", "False", "Creating")], now=NOW, generation=1
    )
    later = NOW + timedelta(minutes=1)
    same = conditions.merge(
        first, [conditions.Update("Ready", "False", "Updating")], now=later, generation=2
    )
    assert same[0].last_transition_time == NOW
    assert same[0].observed_generation == 2
    flipped = conditions.merge(
        same, [conditions.Update("Ready", "True", "Available")], now=later, generation=2
    )
    assert flipped[0].last_transition_time == later


def test_conditions_are_ordered_ready_then_synced() -> None:
    merged = conditions.merge(
        [],
        [
            conditions.Update("Synced", "True", "ReconcileSuccess"),
            conditions.Update("Ready", "True", "Available"),
        ],
        now=NOW,
        generation=1,
    )
    assert [c.type for c in merged] == [common.ConditionType.READY, common.ConditionType.SYNCED]


@pytest.mark.parametrize(
    ("the_spec", "observed", "kind", "target"),
    [
        (spec(), database(), None, None),  # in sync
        (
            spec(additionalKeyspaces=["a", "b"]),
            database(keyspaces=["default_keyspace", "a"]),
            "add_keyspace",
            "b",
        ),
        (spec(additionalRegions=["europe-west1"]), database(), "add_region", "europe-west1"),
        (
            spec(),
            database(
                datacenters=[
                    {"id": "d-1", "region": "us-east1"},
                    {"id": "d-2", "region": "europe-west1"},
                ]
            ),
            "remove_region",
            "d-2",
        ),
        (spec(tier="C10", capacityUnits=9), database(tier="C10", capacityUnits=2), "resize", 5),
        (spec(tier="C10", capacityUnits=4), database(tier="C10", capacityUnits=2), "resize", 4),
        (spec(tier="C10", parked=True), database(tier="C10"), "park", None),
        (spec(tier="C10", parked=False), database("PARKED", tier="C10"), "unpark", None),
        (spec(tier="C10"), database("PARKED", tier="C10"), None, None),  # parked outside: kept
        (spec(additionalKeyspaces=["a"]), database("MAINTENANCE"), None, None),  # busy: wait
        (
            spec(tier="C10", capacityUnits=9, parked=True),
            database(tier="C10", capacityUnits=2),
            "resize",
            5,
        ),  # park comes last
    ],
)
def test_next_change(
    the_spec: db.AstraDatabaseSpec, observed: models.Database, kind: str | None, target: object
) -> None:
    change = changes.next_change(the_spec, observed)
    assert (change.kind if change else None, change.target if change else None) == (kind, target)


def test_change_refused_when_astra_does_not_offer_it() -> None:
    change = changes.Change("park", None, "park the database")
    assert not changes.allowed(change, database(actions=["terminate"]))
    assert changes.allowed(change, database(actions=["park", "terminate"]))
