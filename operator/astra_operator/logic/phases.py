"""What Astra's database status strings mean for the operator (an open set: unknowns are kept).

Sources: the DevOps API facts sheet, section 3 (statuses beyond the spec's enum).
"""

from __future__ import annotations

import enum
from typing import Final


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
    "ACTIVE": Kind.READY,
    **dict.fromkeys(
        (
            "PENDING",
            "INITIALIZING",
            "ASSOCIATING",
            "PLACING",
            "PREPARING",
            "PREPARED",
            "MAINTENANCE",
            "RESIZING",
            "PARKING",
            "UNPARKING",
            "HIBERNATING",
            "RESUMING",
            "SYNCHRONIZING",
            "SUSPENDING",
            "DEGRADED",
        ),
        Kind.BUSY,
    ),
    **dict.fromkeys(("PARKED", "HIBERNATED", "SUSPENDED"), Kind.PAUSED),
    **dict.fromkeys(("TERMINATING", "TERMINATED", "DECOMMISSIONING"), Kind.GONE),
    "ERROR": Kind.FAILED,
}

CREATING: Final = frozenset(
    {"PENDING", "INITIALIZING", "ASSOCIATING", "PLACING", "PREPARING", "PREPARED"}
)
"""Statuses a new database passes through on its way to ACTIVE."""


def kind(status: str) -> Kind:
    """Classify a status string (case-insensitive; unknown strings are UNKNOWN)."""
    return _KINDS.get(status.upper(), Kind.UNKNOWN)
