"""The metrics module: bounded labels, object gauges that follow state changes and deletions,
generation-to-Ready observed once per generation, and the one-call hooks in the API session
and the engine (on fresh registries, so nothing depends on what other tests counted)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from astra_operator import metrics
from astra_operator.astra import budget, errors, retry, session
from astra_operator.logic import phases
from astra_operator.reconcilers import database, engine
from astra_operator.resources import common
from astra_operator.resources import database as db_resource
from astra_operator.resources import role as role_resource
from astra_operator.resources import token as token_resource
from tests.reconcilers.fakes import FakeAstra, FakeKube, astra_db, body, deps

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DB = "AstraDatabase"


@dataclasses.dataclass(frozen=True)
class Cond:
    type: str
    status: str
    reason: str
    observed_generation: int | None = None


@dataclasses.dataclass(frozen=True)
class Status:
    conditions: tuple[Cond, ...] = ()
    observed_generation: int | None = None
    phase: str | None = None


@dataclasses.dataclass(frozen=True)
class Obj:
    uid: str
    generation: int = 1
    paused: bool = False
    status: Status = Status()


@dataclasses.dataclass(frozen=True)
class Out:
    status: Status
    failed: bool = False
    done: bool = False


@dataclasses.dataclass
class Clock:
    at: datetime = T0

    def __call__(self) -> datetime:
        return self.at


@dataclasses.dataclass
class FakePass:
    now: datetime
    deps: Any
    from_lists: bool = False


def status(
    ready: str = "True",
    ready_reason: str = "Available",
    synced: str = "True",
    synced_reason: str = "ReconcileSuccess",
    generation: int = 1,
    phase: str | None = "ACTIVE",
) -> Status:
    return Status(
        (Cond("Ready", ready, ready_reason, generation), Cond("Synced", synced, synced_reason)),
        generation,
        phase,
    )


CREATING = status("False", "Creating", phase="PENDING")
READY = status()


@pytest.fixture
def m() -> Metrics:
    return Metrics()


class Metrics:
    """A fresh Metrics with a fake clock, and readers of what its registry exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.m = metrics.Metrics(self.registry)
        self.clock = Clock()

    def run(self, obj: Obj, out: Out, *, seconds: float = 0.5, kind: str = DB, **kw: Any) -> None:
        """A pass that starts now and takes ``seconds``."""
        start = self.clock.at
        self.clock.at = start + timedelta(seconds=seconds)
        p = FakePass(start, _Deps(self.clock), kw.pop("from_lists", False))
        self.m.observe_pass(kind, obj, out, p, **kw)

    def value(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0

    def objects(self, kind: str = DB) -> dict[tuple[str, str, str], float]:
        """Non-zero ``objects`` series of ``kind``: (condition, status, reason) -> count."""
        found = {}
        for family in text_string_to_metric_families(self.exposition()):
            for s in family.samples:
                if s.name == "astra_operator_objects" and s.labels["kind"] == kind and s.value:
                    found[(s.labels["condition"], s.labels["status"], s.labels["reason"])] = s.value
        return found

    def exposition(self) -> str:
        from prometheus_client import generate_latest

        return generate_latest(self.registry).decode()


@dataclasses.dataclass
class _Deps:
    clock: Callable[[], datetime]


# --- bounded labels ---------------------------------------------------------------------


def test_every_reason_the_code_defines_is_a_label_as_is_and_anything_else_is_other() -> None:
    classes = [
        common.ReadyReason,
        common.SyncedReason,
        db_resource.DatabaseReadyReason,
        db_resource.DatabaseSyncedReason,
        role_resource.RoleSyncedReason,
        token_resource.TokenSyncedReason,
    ]
    reasons = {v for c in classes for k, v in vars(c).items() if k.isupper()} | {"InvalidSpec"}
    assert len(reasons) > 20
    for reason in reasons:
        labels = metrics.condition_labels(Status((Cond("Synced", "False", reason),)))
        assert labels == [("Synced", "False", reason)]
    for odd in ("lower", "With Space", "Id:5f0c1a2b-0000", "X" * 65, "Caf\u00e9"):
        assert metrics.condition_labels(Status((Cond("Ready", "False", odd),))) == [
            ("Ready", "False", "Other")
        ]
    # Only the two conditions every kind has are counted.
    assert metrics.condition_labels(Status((Cond("Custom", "True", "Yes"),))) == []


def test_phases_are_astras_statuses_and_unknown_strings_are_other() -> None:
    assert set(phases._KINDS) <= metrics.PHASES
    assert metrics.database_phase(Status(phase="ACTIVE")) == "ACTIVE"
    assert metrics.database_phase(Status(phase="parked")) == "PARKED"
    assert metrics.database_phase(Status(phase="SOMETHING_NEW")) == "OTHER"
    assert metrics.database_phase(Status(phase="5f0c1a2b-0000-4000-8000")) == "OTHER"
    assert metrics.database_phase(Status()) == "NONE"
    assert db_resource.KIND == metrics.DATABASE_KIND


@pytest.mark.parametrize(
    ("code", "label"),
    [("200", "200"), ("429", "429"), ("599", "599"), ("timeout", "timeout"),
     ("connect", "connect"), ("600", "other"), ("ReadError", "other"), ("", "other")],
)  # fmt: skip
def test_request_codes_are_statuses_or_a_few_words(code: str, label: str) -> None:
    assert metrics.request_code(code) == label


def test_methods_are_bounded_and_429s_are_counted_by_endpoint(m: Metrics) -> None:
    m.m.observe_request("GET", "/v2/databases/{databaseId}", "429", 0.1)
    m.m.observe_request("BREW", "/v2/databases", "200", 0.1)
    m.m.observe_retry("GET", "/v2/databases/{databaseId}")
    endpoint = "/v2/databases/{databaseId}"
    assert m.value("astra_operator_api_requests_total", method="GET", endpoint=endpoint, code="429")
    assert m.value("astra_operator_api_rate_limited_total", endpoint=endpoint) == 1
    assert m.value("astra_operator_api_retries_total", method="GET", endpoint=endpoint) == 1
    other = {"method": "other", "endpoint": "/v2/databases", "code": "200"}
    assert m.value("astra_operator_api_requests_total", **other) == 1
    assert m.value("astra_operator_api_request_duration_seconds_count", method="GET",
                   endpoint=endpoint) == 1  # fmt: skip


def test_results_are_the_documented_set(m: Metrics) -> None:
    paused = status(synced="False", synced_reason="ReconcilePaused")
    waiting = status("False", "Creating", "False", "WaitingForDatabase")
    cases = [
        (Obj("a"), Out(READY), {}, "success"),
        (Obj("a"), Out(READY, failed=True), {}, "failed"),
        (Obj("a", paused=True), Out(paused), {}, "paused"),
        (Obj("a"), Out(waiting), {}, "waiting"),
        (Obj("a"), Out(READY), {"from_lists": True}, "quiet"),
        (Obj("a"), Out(READY, done=True), {"deleting": True}, "success"),
        (Obj("a"), Out(status(synced="False", synced_reason="DeletionProtected")),
         {"deleting": True}, "waiting"),
    ]  # fmt: skip
    for obj, out, kw, expected in cases:
        got = metrics.result(obj, out, from_lists=kw.get("from_lists", False),
                             deleting=kw.get("deleting", False))  # fmt: skip
        assert got == expected, (obj, out, kw)
        assert got in metrics.RESULTS
    m.run(Obj("a"), Out(READY), from_lists=True)
    assert m.value("astra_operator_reconcile_total", kind=DB, result="quiet") == 1
    assert m.value("astra_operator_reconcile_duration_seconds_sum", kind=DB) == 0.5


def test_no_label_value_carries_an_id_a_name_or_a_uid(m: Metrics) -> None:
    uid = "0d9f5e2c-uid-of-an-object"
    m.run(Obj(uid), Out(status(phase="PENDING")))
    m.m.observe_request("GET", "/v2/databases/{databaseId}", "200", 0.01)
    text = m.exposition()
    assert uid not in text
    assert "{databaseId}" in text


# --- object gauges ----------------------------------------------------------------------


def test_object_gauges_follow_state_changes_and_deletions(m: Metrics) -> None:
    m.run(Obj("a"), Out(CREATING))
    m.run(Obj("b"), Out(CREATING))
    assert m.objects() == {
        ("Ready", "False", "Creating"): 2,
        ("Synced", "True", "ReconcileSuccess"): 2,
    }
    assert m.value("astra_operator_databases", phase="PENDING") == 2
    assert m.value("astra_operator_objects_watched", kind=DB) == 2
    m.run(Obj("a", status=CREATING), Out(READY))
    m.run(Obj("a", status=READY), Out(READY))  # steady: counted once
    assert m.objects() == {
        ("Ready", "False", "Creating"): 1,
        ("Ready", "True", "Available"): 1,
        ("Synced", "True", "ReconcileSuccess"): 2,
    }
    assert m.value("astra_operator_databases", phase="PENDING") == 1
    assert m.value("astra_operator_databases", phase="ACTIVE") == 1
    # Deletion: a pass that is not done keeps counting; done (or forgotten) counts nowhere.
    deleting = status("False", "Deleting", phase="TERMINATING")
    m.run(Obj("a", status=READY), Out(deleting), deleting=True)
    assert m.value("astra_operator_databases", phase="TERMINATING") == 1
    m.run(Obj("a", status=deleting), Out(deleting, done=True), deleting=True)
    m.m.forget("a")  # the engine's Deps.forget too: idempotent
    m.m.forget("b")
    assert m.objects() == {}
    assert m.value("astra_operator_objects_watched", kind=DB) == 0
    assert m.value("astra_operator_databases", phase="PENDING") == 0
    assert m.value("astra_operator_databases", phase="TERMINATING") == 0
    assert m.value("astra_operator_reconcile_total", kind=DB, result="success") == 5


def test_only_databases_are_counted_by_phase(m: Metrics) -> None:
    m.run(Obj("r"), Out(status(phase=None)), kind="AstraRole")
    m.run(Obj("d"), Out(status(phase=None)))
    assert m.value("astra_operator_databases", phase="NONE") == 1
    assert m.objects("AstraRole") == {
        ("Ready", "True", "Available"): 1,
        ("Synced", "True", "ReconcileSuccess"): 1,
    }


# --- generation to Ready ----------------------------------------------------------------


def test_generation_to_ready_is_observed_once_from_the_first_pass_that_saw_it(
    m: Metrics,
) -> None:
    name = "astra_operator_generation_to_ready_seconds"
    m.run(Obj("a"), Out(CREATING), seconds=2)
    m.run(Obj("a", status=CREATING), Out(CREATING), seconds=3)
    m.run(Obj("a", status=CREATING), Out(READY), seconds=5)
    assert m.value(f"{name}_count", kind=DB) == 1
    assert m.value(f"{name}_sum", kind=DB) == 10.0
    m.run(Obj("a", status=READY), Out(READY))
    m.run(Obj("a", status=READY), Out(status("False", "Unavailable")))
    m.run(Obj("a", status=status("False", "Unavailable")), Out(READY))
    assert m.value(f"{name}_count", kind=DB) == 1, "one generation, one observation"
    # A spec change: generation 2 is timed from the pass that first saw it.
    stale = status(generation=1)  # Ready for generation 1 only
    m.run(Obj("a", generation=2, status=stale), Out(status(generation=1)), seconds=4)
    m.run(Obj("a", generation=2, status=stale), Out(status(generation=2)), seconds=1)
    assert m.value(f"{name}_count", kind=DB) == 2
    assert m.value(f"{name}_sum", kind=DB) == 15.0


def test_an_object_already_ready_when_first_seen_is_not_timed(m: Metrics) -> None:
    # E.g. after a restart: the process never saw that generation change.
    m.run(Obj("a", status=READY), Out(READY))
    assert m.value("astra_operator_generation_to_ready_seconds_count", kind=DB) == 0
    m.m.forget("a")
    assert not m.m._seen


# --- the hooks: session, budget, engine -------------------------------------------------


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Metrics:
    """The module-level METRICS (what the hooks call) replaced by a fresh one."""
    fake = Metrics()
    monkeypatch.setattr(metrics, "METRICS", fake.m)
    return fake


async def _no_sleep(_: float) -> None:
    return None


def _session(handler: Callable[[httpx.Request], httpx.Response]) -> session.Session:
    return session.Session(
        "https://astra.test",
        token="AstraCS:abc:0123456789abcdef",
        timeout=5.0,
        max_concurrency=2,
        rate_budget=budget.Budget(1000.0),
        policy=retry.RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=5.0, jitter=0.0),
        transport=httpx.MockTransport(handler),
        sleep=_no_sleep,
        clock=lambda: 0.0,
    )


async def test_the_session_counts_attempts_by_template_and_retries(fresh: Metrics) -> None:
    replies = iter([httpx.Response(503), httpx.Response(429), httpx.Response(200, json={})])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(replies)

    s = _session(handler)
    try:
        await s.request("GET", "/v2/databases/{databaseId}", path_params={"databaseId": "db-1"})
    finally:
        await s.aclose()
    endpoint = "/v2/databases/{databaseId}"
    for code in ("503", "429", "200"):
        labels = {"method": "GET", "endpoint": endpoint, "code": code}
        assert fresh.value("astra_operator_api_requests_total", **labels) == 1
    assert fresh.value("astra_operator_api_retries_total", method="GET", endpoint=endpoint) == 2
    assert fresh.value("astra_operator_api_rate_limited_total", endpoint=endpoint) == 1
    assert fresh.value("astra_operator_api_budget_wait_seconds_count") == 3
    assert "db-1" not in fresh.exposition()


async def test_a_transport_error_is_counted_with_a_word(fresh: Metrics) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    s = _session(handler)
    try:
        with pytest.raises(errors.TransportError):
            await s.request("POST", "/v2/databases", body={}, idempotent=False)
    finally:
        await s.aclose()
    labels = {"method": "POST", "endpoint": "/v2/databases", "code": "connect"}
    assert fresh.value("astra_operator_api_requests_total", **labels) >= 1


async def test_the_engine_reports_each_pass_and_forgets_deleted_objects(fresh: Metrics) -> None:
    astra, kube = FakeAstra(), FakeKube()
    d = deps(astra, kube)
    spec = {"cloudProvider": "GCP", "region": "us-east1", "deletionPolicy": "Delete"}
    created = await engine.reconcile(database.KIND, database.parse(body(spec)), d)
    assert fresh.value("astra_operator_objects_watched", kind=DB) == 1
    new_id = created.status.database_id
    assert new_id is not None
    astra.databases[new_id] = astra_db(new_id)  # ACTIVE
    as_created = body(spec, engine.wire_status(created.status))
    ready = await engine.reconcile(database.KIND, database.parse(as_created), d)
    assert fresh.objects()[("Ready", "True", "Available")] == 1
    assert fresh.value("astra_operator_databases", phase="ACTIVE") == 1
    assert fresh.value("astra_operator_generation_to_ready_seconds_count", kind=DB) == 1
    assert fresh.value("astra_operator_reconcile_total", kind=DB, result="success") == 2
    del astra.databases[new_id]  # terminated: the deletion is done
    gone = body(spec, engine.wire_status(ready.status))
    outcome = await engine.finalize(database.KIND, database.parse(gone), d)
    assert outcome.done
    assert fresh.objects() == {}
    assert fresh.value("astra_operator_objects_watched", kind=DB) == 0
    assert fresh.value("astra_operator_databases", phase="ACTIVE") == 0


def test_series_names_list_every_sample_a_dashboard_may_query() -> None:
    names = metrics.series_names(metrics.REGISTRY)
    for expected in (
        "astra_operator_reconcile_total",
        "astra_operator_reconcile_duration_seconds_bucket",
        "astra_operator_api_requests_total",
        "astra_operator_api_request_duration_seconds_bucket",
        "astra_operator_api_retries_total",
        "astra_operator_api_rate_limited_total",
        "astra_operator_api_budget_wait_seconds_count",
        "astra_operator_objects",
        "astra_operator_databases",
        "astra_operator_objects_watched",
        "astra_operator_generation_to_ready_seconds_bucket",
        "astra_operator_passes_running",
        "astra_operator_passes_waiting",
    ):
        assert expected in names
    assert not any(n.endswith("_created") for n in names)
