"""Pure decisions every kind shares: an API failure becomes a condition and a retry delay.

The permission table is the one home of "which Astra permission does this operator action
need"; 401/403 messages name it so a user can fix the token's role.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from astra_operator.astra import errors
from astra_operator.logic import conditions
from astra_operator.resources import common

SYNCED: Final = common.ConditionType.SYNCED
S = common.SyncedReason

PERMISSIONS: Final[dict[tuple[str, str], str]] = {
    ("database", "create"): "org-db-create",
    ("database", "read"): "org-db-view",
    ("database", "list"): "org-db-view",
    ("database", "terminate"): "org-db-terminate",
    ("database", "park"): "org-db-suspend",
    ("database", "unpark"): "org-db-suspend",
    ("database", "resize"): "org-db-expand",
    ("database", "add_keyspace"): "db-keyspace-create",
    ("database", "add_region"): "db-manage-region",
    ("database", "remove_region"): "db-manage-region",
    ("database", "read_access_list"): "accesslist-read",
    ("database", "write_access_list"): "accesslist-write",
    ("role", "create"): "org-role-write",
    ("role", "read"): "org-role-read",
    ("role", "list"): "org-role-read",
    ("role", "update"): "org-role-write",
    ("role", "delete"): "org-role-delete",
    ("token", "create"): "org-token-write",
    ("token", "read"): "org-token-read",
    ("token", "list"): "org-token-read",
    ("token", "revoke"): "org-token-write",
    ("organization", "read"): "org-read",
}
"""The Astra role permission each operator action needs, by (API area, action)."""

MIN_BACKOFF: Final = 1.0
MAX_BACKOFF: Final = 60.0


def backoff(failures: int) -> float:
    """Seconds before retrying after ``failures`` consecutive failed passes: 1, 2, 4 ... 60."""
    return min(MIN_BACKOFF * 2.0 ** max(failures, 0), MAX_BACKOFF)


@dataclasses.dataclass(frozen=True)
class Failure:
    """How an Astra API failure is reported and when to try again."""

    synced: conditions.Update
    retry_after: float
    warn: bool
    """Post a Warning event (the user must act)."""


def failure(
    exc: errors.AstraError, noun: str, action: str, *, failures: int, what: str = ""
) -> Failure:
    """Translate an API error during ``action`` on a ``noun`` into a condition and a delay.

    Messages do not carry the delay: one distinct failure is one message, so it posts one
    Warning event however often it is retried. ``what`` names the item ("add region x")."""
    delay = backoff(failures)
    detail = f": {what}" if what and what != action else ""
    what = f"{noun} action {action!r}{detail}"
    if isinstance(exc, errors.Unauthorized | errors.Forbidden):
        need = PERMISSIONS.get((noun, action), "the matching")
        message = (
            f"Astra refused the token ({exc.status}) for the {what}: the token's role needs "
            f"the {need} permission, or the token is invalid or expired."
        )
        return Failure(
            conditions.Update(SYNCED, "False", S.RECONCILE_ERROR, message),
            max(delay, 30.0),
            warn=True,
        )
    if isinstance(exc, errors.InvalidRequest):
        message = f"Astra rejected the {what}: {exc.message or exc}"
        return Failure(
            conditions.Update(SYNCED, "False", S.SPEC_REJECTED, message), MAX_BACKOFF, warn=True
        )
    if isinstance(exc, errors.RateLimited) and exc.retry_after:
        delay = min(max(exc.retry_after, 1.0), 5 * MAX_BACKOFF)
    message = f"The {what} failed (retrying with backoff): {exc.message or exc}"
    return Failure(conditions.Update(SYNCED, "False", S.RECONCILE_ERROR, message), delay, warn=True)
