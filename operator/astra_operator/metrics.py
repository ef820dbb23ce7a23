"""Prometheus metrics: the series, on a registry of our own, and the few calls that move them.

Every series is named ``astra_operator_*`` and lives on :data:`REGISTRY` (not the library's
global default), served by :func:`serve` on ``ASTRA_METRICS_PORT``. Three places move them,
one call each: the engine at the end of every pass (:func:`observe_pass`) and when it forgets
an object (:func:`forget`); ``astra/session.py`` for each attempt sent (:func:`observe_request`)
and each retry (:func:`observe_retry`); ``astra/budget.py`` for each wait for the request
budget (:func:`observe_budget_wait`). ``handlers/runtime.py`` reports running passes.

Label values are bounded by the code, never by data: kinds, a fixed set of results, the
request's route *template* (``/v2/databases/{databaseId}``, never an ID), HTTP methods and
status codes or a word for a transport error, condition reasons (CamelCase constants of the
code; anything else becomes ``Other``) and Astra's database statuses (unknown ones become
``OTHER``). No name, namespace, uid, ID or token is ever a label value.

Layering: this module imports nothing of the project but ``astra.statuses`` (a list of
strings that imports nothing), so every layer may import it (``astra/``, ``reconcilers/``,
``handlers/``). What it reads of a pass is described by the
Protocols below, which the engine's types fit.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Final, Protocol

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from astra_operator.astra import statuses

# The *_created series double every counter and histogram and answer no question here.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

PREFIX: Final = "astra_operator"
RESULTS: Final = ("success", "failed", "waiting", "paused", "quiet")
"""Values of ``reconcile_total{result}``: the pass succeeded (Synced=True, or a deletion done);
it failed (counts towards the backoff); it waits for something else (Synced=False without a
failure: a reference, a protection, an owner; a deletion not done yet); the object is paused;
it ended on the credential's shared lists with nothing to do (no request of its own)."""
CONDITIONS: Final = ("Ready", "Synced")
DATABASE_KIND: Final = "AstraDatabase"
PHASES: Final = statuses.KNOWN
"""Astra's database statuses (those ``logic/phases.py`` knows, and UNKNOWN); others: OTHER."""
OTHER_PHASE: Final = "OTHER"
NO_PHASE: Final = "NONE"
"""``databases{phase}`` of a database with no status.phase yet (not created, or waiting)."""
OTHER_REASON: Final = "Other"
_REASON: Final = re.compile(r"^[A-Z][A-Za-z0-9]{0,63}$")
METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
TRANSPORT_CODES: Final = ("timeout", "connect", "network", "protocol", "transport")
"""``api_requests_total{code}`` when no HTTP status came back (see ``astra/session.py``)."""
OTHER: Final = "other"

_SHORT: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_WAIT: Final = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_READY: Final = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)


class Condition(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def observed_generation(self) -> int | None: ...


class Status(Protocol):
    @property
    def conditions(self) -> Sequence[Condition]: ...
    @property
    def observed_generation(self) -> int | None: ...


class Object(Protocol):
    """The object a pass started from (``engine.Managed``)."""

    @property
    def uid(self) -> str: ...
    @property
    def generation(self) -> int: ...
    @property
    def paused(self) -> bool: ...
    @property
    def status(self) -> Status: ...


class Outcome(Protocol):
    """What the pass ended with (``engine.Outcome``)."""

    @property
    def status(self) -> Status: ...
    @property
    def failed(self) -> bool: ...
    @property
    def done(self) -> bool: ...


class Clocked(Protocol):
    @property
    def clock(self) -> Callable[[], datetime]: ...


class PassInfo(Protocol):
    """The pass (``engine.Pass``): when it started, on whose clock, and how it ended."""

    @property
    def now(self) -> datetime: ...
    @property
    def deps(self) -> Clocked: ...
    @property
    def from_lists(self) -> bool: ...


Labels = tuple[str, ...]


@dataclasses.dataclass
class _Seen:
    """What the gauges count for one object, and its generation's way to Ready."""

    kind: str
    conditions: tuple[Labels, ...]
    phase: str | None
    generation: int
    first_seen: datetime
    ready_observed: bool


class Metrics:
    """The series on one registry, and the last state of every object they count."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

        def counter(name: str, doc: str, labels: Iterable[str]) -> Counter:
            return Counter(name, doc, labels, namespace=PREFIX, registry=registry)

        def gauge(name: str, doc: str, labels: Iterable[str] = ()) -> Gauge:
            return Gauge(name, doc, labels, namespace=PREFIX, registry=registry)

        def histogram(
            name: str, doc: str, labels: Iterable[str], buckets: Sequence[float]
        ) -> Histogram:
            return Histogram(
                name, doc, labels, namespace=PREFIX, registry=registry, buckets=buckets
            )

        self.reconciles = counter(
            "reconcile", "Reconcile and deletion passes, by kind and result.", ("kind", "result")
        )
        self.pass_seconds = histogram(
            "reconcile_duration_seconds", "Duration of one pass.", ("kind",), _SHORT
        )
        self.requests = counter(
            "api_requests",
            "DevOps API requests sent (every attempt), by route template and HTTP status "
            "(or timeout, connect, network, protocol, transport when none came back).",
            ("method", "endpoint", "code"),
        )
        self.request_seconds = histogram(
            "api_request_duration_seconds",
            "DevOps API request latency (one attempt, from sending to the reply).",
            ("method", "endpoint"),
            _SHORT,
        )
        self.retries = counter(
            "api_retries", "DevOps API requests retried.", ("method", "endpoint")
        )
        self.rate_limited = counter(
            "api_rate_limited", "DevOps API replies 429 (rate limited).", ("endpoint",)
        )
        self.budget_wait = histogram(
            "api_budget_wait_seconds",
            "Time an attempt waited for its credential's request budget (ASTRA_API_RATE, "
            "a 429's pause).",
            (),
            _WAIT,
        )
        self.objects = gauge(
            "objects",
            "Objects by kind and the status and reason of their Ready and Synced conditions.",
            ("kind", "condition", "status", "reason"),
        )
        self.databases = gauge(
            "databases", "AstraDatabases by Astra status (status.phase).", ("phase",)
        )
        self.watched = gauge("objects_watched", "Objects the operator reconciles.", ("kind",))
        self.generation_to_ready = histogram(
            "generation_to_ready_seconds",
            "From the first pass that saw a new metadata.generation to Ready=True for it.",
            ("kind",),
            _READY,
        )
        self.running = gauge("passes_running", "Passes running now.")
        self.waiting = gauge("passes_waiting", "Passes waiting for a turn (the backlog).")
        self._seen: dict[str, _Seen] = {}

    # --- passes and objects -------------------------------------------------------------

    def observe_pass(
        self, kind: str, obj: Object, outcome: Outcome, p: PassInfo, *, deleting: bool = False
    ) -> None:
        """Count the pass, and move the object's gauges to the status it ended with."""
        end = p.deps.clock()
        self.pass_seconds.labels(kind).observe(max((end - p.now).total_seconds(), 0.0))
        self.reconciles.labels(
            kind, result(obj, outcome, from_lists=p.from_lists, deleting=deleting)
        ).inc()
        if deleting and outcome.done:
            self.forget(obj.uid)
            return
        old = self._seen.get(obj.uid)
        if old is None or old.generation != obj.generation:
            ready = ready_for(obj.status, obj.generation)  # already Ready: nothing to time
            new = _Seen(kind, (), None, obj.generation, p.now, ready)
        else:
            new = dataclasses.replace(old)
        new.conditions = tuple(condition_labels(outcome.status))
        new.phase = database_phase(outcome.status) if kind == DATABASE_KIND else None
        if not new.ready_observed and ready_for(outcome.status, obj.generation):
            new.ready_observed = True
            seconds = (end - new.first_seen).total_seconds()
            self.generation_to_ready.labels(kind).observe(max(seconds, 0.0))
        self._count(old, -1)
        self._count(new, +1)
        self._seen[obj.uid] = new

    def forget(self, uid: str) -> None:
        """The object is gone: it counts nowhere any more."""
        self._count(self._seen.pop(uid, None), -1)

    def _count(self, seen: _Seen | None, delta: int) -> None:
        if seen is None:
            return
        self.watched.labels(seen.kind).inc(delta)
        for condition, status, reason in seen.conditions:
            self.objects.labels(seen.kind, condition, status, reason).inc(delta)
        if seen.phase is not None:
            self.databases.labels(seen.phase).inc(delta)

    def passes_running(self, count: int) -> None:
        self.running.set(count)

    def passes_waiting_from(self, count: Callable[[], int]) -> None:
        self.waiting.set_function(count)

    # --- the DevOps API -----------------------------------------------------------------

    def observe_request(self, method: str, endpoint: str, code: str, seconds: float) -> None:
        """One attempt sent to ``endpoint`` (a route template) and how it ended."""
        method = method if method in METHODS else OTHER
        self.requests.labels(method, endpoint, request_code(code)).inc()
        self.request_seconds.labels(method, endpoint).observe(max(seconds, 0.0))
        if code == "429":
            self.rate_limited.labels(endpoint).inc()

    def observe_retry(self, method: str, endpoint: str) -> None:
        self.retries.labels(method if method in METHODS else OTHER, endpoint).inc()

    def observe_budget_wait(self, seconds: float) -> None:
        self.budget_wait.observe(max(seconds, 0.0))


def result(obj: Object, outcome: Outcome, *, from_lists: bool, deleting: bool) -> str:
    """The pass's ``reconcile_total{result}`` (one of :data:`RESULTS`)."""
    synced = _condition(outcome.status, "Synced")
    if outcome.failed:
        return "failed"
    if obj.paused and synced is not None and synced.reason == "ReconcilePaused":
        return "paused"
    if deleting:
        return "success" if outcome.done else "waiting"
    if from_lists:
        return "quiet"
    return "success" if synced is None or synced.status == "True" else "waiting"


def _condition(status: Status, kind: str) -> Condition | None:
    return next((c for c in status.conditions if c.type == kind), None)


def ready_for(status: Status, generation: int) -> bool:
    """Ready=True, computed from ``generation`` (the spec as it is now)."""
    ready = _condition(status, "Ready")
    return (
        ready is not None
        and ready.status == "True"
        and ready.observed_generation == generation
        and status.observed_generation == generation
    )


def condition_labels(status: Status) -> list[Labels]:
    """(condition, status, reason) of the Ready and Synced conditions, reasons bounded."""
    return [
        (c.type, c.status, c.reason if _REASON.match(c.reason) else OTHER_REASON)
        for c in status.conditions
        if c.type in CONDITIONS
    ]


def database_phase(status: object) -> str:
    phase = getattr(status, "phase", None)
    if not isinstance(phase, str) or not phase:
        return NO_PHASE
    return phase.upper() if phase.upper() in PHASES else OTHER_PHASE


def request_code(code: str) -> str:
    """An HTTP status (100-599), a transport word, or ``other``."""
    if code in TRANSPORT_CODES or (code.isdigit() and 100 <= int(code) <= 599):
        return code
    return OTHER


def series_names(registry: CollectorRegistry) -> frozenset[str]:
    """Every sample name ``registry`` can expose (a histogram's _bucket, _sum and _count, a
    counter's _total), whether or not a sample exists yet: what a dashboard may query."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    names: set[str] = set()
    for family in registry.collect():
        names.update(family.name + s for s in suffixes.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return frozenset(names)


REGISTRY: Final = CollectorRegistry()
"""The operator's registry: every series above, and the process's (``process_*``, ``python_*``)."""
prometheus_client.ProcessCollector(registry=REGISTRY)
prometheus_client.PlatformCollector(registry=REGISTRY)
prometheus_client.GCCollector(registry=REGISTRY)
METRICS: Final = Metrics(REGISTRY)


def observe_pass(
    kind: str, obj: Object, outcome: Outcome, p: PassInfo, *, deleting: bool = False
) -> None:
    METRICS.observe_pass(kind, obj, outcome, p, deleting=deleting)


def forget(uid: str) -> None:
    METRICS.forget(uid)


def passes_running(count: int) -> None:
    METRICS.passes_running(count)


def passes_waiting_from(count: Callable[[], int]) -> None:
    """The backlog (passes due that wait for a free slot), counted when scraped."""
    METRICS.passes_waiting_from(count)


def observe_request(method: str, endpoint: str, code: str, seconds: float) -> None:
    METRICS.observe_request(method, endpoint, code, seconds)


def observe_retry(method: str, endpoint: str) -> None:
    METRICS.observe_retry(method, endpoint)


def observe_budget_wait(seconds: float) -> None:
    METRICS.observe_budget_wait(seconds)


def serve(port: int, addr: str = "0.0.0.0") -> None:
    """Serve :data:`REGISTRY` on ``http://addr:port/metrics`` from a daemon thread (never
    joined: the operator's exit does not wait for it). Raises OSError if the port is taken."""
    prometheus_client.start_http_server(port, addr=addr, registry=REGISTRY)
