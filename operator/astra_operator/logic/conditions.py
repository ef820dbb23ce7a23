"""Condition bookkeeping shared by every kind: set a condition, keep transition times honest."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from astra_operator.resources import common

Status = Literal["True", "False", "Unknown"]


@dataclasses.dataclass(frozen=True)
class Update:
    """What a condition should say now."""

    type: str
    status: Status
    reason: str
    message: str = ""


def merge(
    existing: Iterable[common.Condition],
    updates: Iterable[Update],
    *,
    now: datetime,
    generation: int,
) -> tuple[common.Condition, ...]:
    """Apply updates; ``lastTransitionTime`` moves only when a condition's status changes."""
    by_type = {c.type: c for c in existing}
    for update in updates:
        old = by_type.get(update.type)
        since = old.last_transition_time if old and old.status == update.status else now
        by_type[update.type] = common.Condition(
            type=update.type,
            status=update.status,
            reason=update.reason,
            message=update.message[:4000],
            last_transition_time=since,
            observed_generation=generation,
        )
    order = {common.ConditionType.READY: 0, common.ConditionType.SYNCED: 1}
    return tuple(sorted(by_type.values(), key=lambda c: (order.get(c.type, 9), c.type)))
