"""The database status strings Astra is known to report, grouped by what they mean (an open
set: Astra adds values). The one home of this list: ``logic.phases`` classifies by it and
``metrics`` bounds its ``phase`` label by it.

Sources: the DevOps API spec's enum and the statuses real clients met beyond it.
"""

from __future__ import annotations

from typing import Final

ACTIVE: Final = frozenset({"ACTIVE"})
CREATING: Final = frozenset(
    {"PENDING", "INITIALIZING", "ASSOCIATING", "PLACING", "PREPARING", "PREPARED"}
)
"""Statuses a new database passes through on its way to ACTIVE."""
BUSY: Final = CREATING | frozenset(
    {
        "MAINTENANCE",
        "RESIZING",
        "PARKING",
        "UNPARKING",
        "HIBERNATING",
        "RESUMING",
        "SYNCHRONIZING",
        "SUSPENDING",
        "DEGRADED",
    }
)
"""Astra is working on the database."""
PAUSED: Final = frozenset({"PARKED", "HIBERNATED", "SUSPENDED"})
GONE: Final = frozenset({"TERMINATING", "TERMINATED", "DECOMMISSIONING"})
FAILED: Final = frozenset({"ERROR"})
KNOWN: Final = ACTIVE | BUSY | PAUSED | GONE | FAILED | frozenset({"UNKNOWN"})
"""Every status above, and UNKNOWN (which Astra itself reports at times)."""
