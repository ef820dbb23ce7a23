"""How long each simulated database transition lasts: "fast", "realistic" and scaled profiles."""

from __future__ import annotations

import dataclasses
import enum


class Phase(enum.Enum):
    """A timed stretch of a database's life (one status held for a while)."""

    PENDING = "PENDING"
    INITIALIZING = "INITIALIZING"
    INITIALIZING_CLASSIC = "INITIALIZING_CLASSIC"
    KEYSPACE = "KEYSPACE"
    REGION_ADD = "REGION_ADD"
    REGION_REMOVE = "REGION_REMOVE"
    TERMINATING = "TERMINATING"
    TERMINATED_VISIBLE = "TERMINATED_VISIBLE"
    PARKING = "PARKING"
    UNPARKING = "UNPARKING"
    RESIZING = "RESIZING"
    HIBERNATING = "HIBERNATING"
    RESUMING = "RESUMING"


# Seconds, as observed on the real service (facts sheet §1, §3, §7).
REALISTIC: dict[Phase, float] = {
    Phase.PENDING: 20.0,
    Phase.INITIALIZING: 100.0,  # serverless: ~2 min from create to ACTIVE
    Phase.INITIALIZING_CLASSIC: 900.0,  # classic tiers take much longer
    Phase.KEYSPACE: 9.0,  # 8-10 s in MAINTENANCE
    Phase.REGION_ADD: 600.0,
    Phase.REGION_REMOVE: 300.0,
    Phase.TERMINATING: 360.0,  # ~6 min
    Phase.TERMINATED_VISIBLE: 600.0,  # TERMINATED stays readable ~10 min, then 404
    Phase.PARKING: 300.0,
    Phase.UNPARKING: 600.0,
    Phase.RESIZING: 600.0,
    Phase.HIBERNATING: 60.0,
    Phase.RESUMING: 60.0,
}

# Well under a second per step, so tests can watch a whole lifecycle.
FAST: dict[Phase, float] = {
    Phase.PENDING: 0.05,
    Phase.INITIALIZING: 0.15,
    Phase.INITIALIZING_CLASSIC: 0.15,
    Phase.KEYSPACE: 0.2,
    Phase.REGION_ADD: 0.2,
    Phase.REGION_REMOVE: 0.2,
    Phase.TERMINATING: 0.2,
    Phase.TERMINATED_VISIBLE: REALISTIC[Phase.TERMINATED_VISIBLE],  # see UNSCALED
    Phase.PARKING: 0.1,
    Phase.UNPARKING: 0.15,
    Phase.RESIZING: 0.2,
    Phase.HIBERNATING: 0.1,
    Phase.RESUMING: 0.15,
}

# Phases every profile keeps at their realistic length. A terminated record must stay readable as
# long as on Astra whatever the speed of the transitions: clients poll terminations slowly (the
# Python client every 15 s) and must still see TERMINATED before the 404.
UNSCALED = frozenset({Phase.TERMINATED_VISIBLE})

TimingSpec = str | float


@dataclasses.dataclass(frozen=True)
class Timing:
    """Durations in seconds for every phase, plus the spec they came from (for display)."""

    durations: dict[Phase, float]
    label: str

    def seconds(self, phase: Phase) -> float:
        """How long ``phase`` lasts under this profile."""
        return self.durations[phase]

    @classmethod
    def parse(cls, spec: TimingSpec) -> Timing:
        """``"fast"``, ``"realistic"``, or a scale factor applied to the realistic durations."""
        if isinstance(spec, bool):
            raise ValueError(f"timing must be 'fast', 'realistic' or a number, not {spec!r}")
        if spec == "fast":
            return cls(dict(FAST), "fast")
        if spec == "realistic":
            return cls(dict(REALISTIC), "realistic")
        try:
            scale = float(spec)
        except ValueError:
            raise ValueError(
                f"timing must be 'fast', 'realistic' or a number, not {spec!r}"
            ) from None
        if not scale >= 0 or scale == float("inf"):
            raise ValueError(f"timing scale must be a finite number >= 0, not {spec!r}")
        durations = {
            phase: value if phase in UNSCALED else value * scale
            for phase, value in REALISTIC.items()
        }
        return cls(durations, f"x{scale:g}")
