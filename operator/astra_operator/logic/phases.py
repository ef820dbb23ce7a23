"""What Astra's database status strings mean for the operator (an open set: unknowns are kept).

The status strings themselves live in ``astra.statuses``.
"""

from __future__ import annotations

import enum
from typing import Final

from astra_operator.astra import statuses


class Kind(enum.Enum):
    """How the operator treats a database status."""

    READY = "ready"
    """ACTIVE: usable; writes allowed."""
    BUSY = "busy"
    """Astra is working on it: no writes, requeue soon."""
    PAUSED = "paused"
    """Parked, hibernated or suspended: exists, not usable, no writes but unpark/resume."""
    GONE = "gone"
    """Terminating or terminated."""
    FAILED = "failed"
    """ERROR: needs a human (Astra support); reported, never guessed at."""
    UNKNOWN = "unknown"
    """A status this operator does not know: reported as is, no writes."""


_KINDS: Final[dict[str, Kind]] = {
    **dict.fromkeys(statuses.ACTIVE, Kind.READY),
    **dict.fromkeys(statuses.BUSY, Kind.BUSY),
    **dict.fromkeys(statuses.PAUSED, Kind.PAUSED),
    **dict.fromkeys(statuses.GONE, Kind.GONE),
    **dict.fromkeys(statuses.FAILED, Kind.FAILED),
}

CREATING: Final = statuses.CREATING
"""Statuses a new database passes through on its way to ACTIVE."""


def kind(status: str) -> Kind:
    """Classify a status string (case-insensitive; unknown strings are UNKNOWN)."""
    return _KINDS.get(status.upper(), Kind.UNKNOWN)
