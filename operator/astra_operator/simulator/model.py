"""One simulated database: its record, its lazily-advanced status timeline, and what it allows."""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable, Sequence

from astra_operator.simulator import catalog

# A pseudo-status: the record has expired after TERMINATED and must now answer 404.
GONE = "GONE"
# Where terminate is refused with 409 (MAINTENANCE: documented; the rest: nothing to terminate).
NO_TERMINATE = frozenset({"MAINTENANCE", "TERMINATING", "TERMINATED", GONE})

Effect = Callable[[float], None]  # called with the (monotonic) time the step took effect


@dataclasses.dataclass(slots=True)
class Step:
    """At monotonic time ``at`` the database enters ``status`` and ``effect`` runs."""

    at: float
    status: str
    effect: Effect | None = None


Stage = tuple[str, float, Effect | None]  # (status, seconds it lasts, effect on entering it)


@dataclasses.dataclass(slots=True)
class Datacenter:
    """One region of a database; ``state`` is ours, the wire shows "" for serverless ones."""

    id: str
    name: str
    tier: str
    provider: str
    region: str
    capacity_units: int
    created: str
    state: str = "ACTIVE"


@dataclasses.dataclass(slots=True)
class AccessEntry:
    """One allowed address (CIDR) in a database's access list."""

    address: str
    enabled: bool
    description: str
    updated: str


@dataclasses.dataclass(slots=True)
class Database:
    """A database record plus its timeline; call :meth:`settle` before reading ``status``."""

    id: str
    seq: int
    org_id: str
    owner_id: str
    name: str
    provider: str
    region: str
    tier: str
    capacity_units: int
    db_type: str | None
    keyspace: str
    created_wall: float
    created_mono: float
    status: str = "PENDING"
    keyspaces: list[str] = dataclasses.field(default_factory=list)
    datacenters: list[Datacenter] = dataclasses.field(default_factory=list)
    terminated_wall: float | None = None
    hidden_until: float = 0.0
    dc_counter: int = 0
    access: list[AccessEntry] = dataclasses.field(default_factory=list)
    access_enabled: bool = False
    order_seed: int = 0  # fixes the order its datacenters are listed in (render.datacenter_order)
    plan: collections.deque[Step] = dataclasses.field(default_factory=collections.deque)

    @property
    def classic(self) -> bool:
        """Classic (non-serverless) tier: the only kind that parks, unparks and resizes."""
        return self.tier in catalog.CLASSIC_TIERS

    @property
    def busy(self) -> bool:
        """A timed change is still running (the status will move on by itself)."""
        return bool(self.plan)

    def wall(self, mono: float) -> float:
        """The wall-clock time matching a monotonic instant."""
        return self.created_wall + (mono - self.created_mono)

    def settle(self, now: float) -> None:
        """Apply every step whose time has come, in order."""
        while self.plan and self.plan[0].at <= now:
            step = self.plan.popleft()
            self.status = step.status
            if step.effect is not None:
                step.effect(step.at)

    def schedule(self, now: float, stages: Sequence[Stage]) -> None:
        """Replace the timeline: enter ``stages[0]`` now, each following when the previous ends."""
        self.plan.clear()
        at = now
        for status, seconds, effect in stages:
            self.plan.append(Step(at, status, effect))
            at += seconds
        self.settle(now)

    def force(self, status: str) -> None:
        """Jump straight to ``status`` and stay there (out-of-band change)."""
        self.plan.clear()
        self.status = status

    def next_datacenter(self, provider: str, region: str, created: str) -> Datacenter:
        """A new datacenter numbered after the last one: ``<dbid>-<n>`` / ``dc-<n>``."""
        self.dc_counter += 1
        n = self.dc_counter
        return Datacenter(
            f"{self.id}-{n}", f"dc-{n}", self.tier, provider, region, self.capacity_units, created
        )

    def live_datacenters(self) -> list[Datacenter]:
        """Datacenters not (yet) terminated, in creation order."""
        return [dc for dc in self.datacenters if dc.state != "TERMINATED"]


_SERVERLESS_ACTIVE = (
    "addKeyspace",
    "removeKeyspace",
    "addDatacenters",
    "terminateDatacenter",
    "getCreds",
    "terminate",
    "hibernate",
    "suspend",
)
_CLASSIC_ACTIVE = (
    "park",
    "resize",
    "resetPassword",
    "addKeyspace",
    "removeKeyspace",
    "addDatacenters",
    "terminateDatacenter",
    "getCreds",
    "terminate",
)


def available_actions(status: str, classic: bool) -> list[str]:
    """What the database allows now: the same rules the handlers enforce (facts §3.3)."""
    if status == "ACTIVE":
        return list(_CLASSIC_ACTIVE if classic else _SERVERLESS_ACTIVE)
    if status == "PARKED":
        return ["unpark", "terminate"] if classic else ["terminate"]
    if status in NO_TERMINATE:
        return []
    return ["terminate"]
