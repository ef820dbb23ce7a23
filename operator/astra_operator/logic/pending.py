"""Pure rules of the crash-safe create every kind shares.

Astra names are not unique and creates are not idempotent, so a create is bracketed: a marker
(``status.createPending``) is written before the request, the new ID right after. The marker
records which IDs already carried the name, so a later look-up can only pick what that request
made. These functions decide what a look-up's result means.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

from astra_operator.resources import common


class Verdict(enum.Enum):
    """What to do about a create whose result was not recorded."""

    ADOPT = "adopt"
    """Exactly one new candidate: that request made it."""
    WAIT = "wait"
    """None yet, but Astra's lists may lag: look again soon."""
    CREATE = "create"
    """None after the grace period: the request made nothing; create (again)."""
    STOP = "stop"
    """Several candidates: a human must say which one is ours."""


def candidates(
    marker: common.CreatePending, matching_ids: Iterable[str], owned_elsewhere: Iterable[str]
) -> list[str]:
    """IDs that the marker's request may have made: matching, new, owned by no other object."""
    skip = set(marker.existing_ids) | set(owned_elsewhere)
    return sorted({i for i in matching_ids if i not in skip})


def verdict(
    marker: common.CreatePending, found: list[str], *, now: datetime, grace: float
) -> Verdict:
    """Adopt one, stop on several, create again once none has shown up for ``grace`` s."""
    if len(found) == 1:
        return Verdict.ADOPT
    if found:
        return Verdict.STOP
    age = (now - marker.requested_at).total_seconds()
    return Verdict.CREATE if age >= grace else Verdict.WAIT


def unresolved_message(noun: str, marker: common.CreatePending, found: list[str]) -> str:
    """What a human should check when several resources may be the one a create made."""
    return (
        f"A create request for the {noun} {marker.name!r} was sent at "
        f"{marker.requested_at.isoformat()} but its result was never recorded, and "
        f"{len(found)} new {noun}s with that name can be seen ({', '.join(found)}). The "
        f"operator will not guess or create another one. Check Astra: set this object's "
        f"spec ID field to the one to manage, and remove status.createPending (kubectl patch "
        '--subresource=status --type=merge -p \'{"status":{"createPending":null}}\').'
    )
