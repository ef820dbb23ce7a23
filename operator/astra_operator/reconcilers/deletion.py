"""Finalize one AstraDatabase being deleted: Retain releases, Delete terminates and waits.

``deletionProtection: true`` (with Delete) keeps both the object and the database until the
user turns it off or switches to Retain. A paused object is not finalized either: pausing
means no API calls, so deletion waits for the pause to be lifted.
"""

from __future__ import annotations

from astra_operator.astra import errors
from astra_operator.kube import api as kube_api
from astra_operator.logic import conditions, phases
from astra_operator.logic import database as logic
from astra_operator.reconcilers import base
from astra_operator.resources import database as db

R = db.DatabaseReadyReason
S = db.DatabaseSyncedReason
READY, SYNCED = logic.READY, logic.SYNCED


async def finalize(obj: base.DatabaseObject, deps: base.Deps, *, failures: int = 0) -> base.Outcome:
    """One deletion pass; ``Outcome.done`` says the finalizer may be removed."""
    run = _DeletionRun(obj, deps, failures)
    policy = obj.spec.deletion_policy or deps.config.default_deletion_policy
    if policy == "Retain":
        target = obj.status.database_id or obj.spec.database_id
        if target:
            run.event(
                "Retained",
                f"deletionPolicy is Retain: the Astra database {target} "
                "keeps running and is no longer managed.",
            )
        return run.outcome([], 0, done=True)
    if obj.paused:
        message = (
            f"Deletion waits: reconciliation is paused ({base.PAUSE_ANNOTATION}=true). "
            "Remove the annotation to let the operator terminate the database."
        )
        return run.blocked(S.RECONCILE_PAUSED, message)
    if obj.spec.deletion_protection:
        message = (
            "Deletion is blocked by spec.deletionProtection=true: the Astra database "
            "and this object are kept. To proceed, set spec.deletionProtection to false "
            "(terminates the database) or spec.deletionPolicy to Retain (keeps it)."
        )
        return run.blocked(S.DELETION_PROTECTED, message)
    try:
        token = await run.token()
    except kube_api.SecretUnavailable as exc:
        return run.blocked(S.CREDENTIALS_UNAVAILABLE, f"Cannot terminate: {exc}")
    try:
        return await run.terminate(token)
    except errors.AstraError as exc:
        run.refused(exc)
        result = logic.failure(exc, run.action, backoff=run.backoff)
        if result.warn:
            run.warn_once(result.synced.reason, result.synced.message)
        return run.outcome([result.synced], result.retry_after)


class _DeletionRun(base.Run):
    action = "terminate"

    def blocked(self, reason: str, message: str) -> base.Outcome:
        self.warn_once(reason, message)
        update = conditions.Update(SYNCED, "False", reason, message)
        return self.outcome([update], max(self.deps.config.busy_requeue, 5.0))

    async def target(self, token: str) -> str | base.Outcome | None:
        db_id = self.status.database_id or self.obj.spec.database_id
        marker = self.status.create_pending
        if db_id is not None or marker is None:
            return db_id
        self.action = "list"
        matches = logic.pending_matches(marker, await self.deps.astra.list_databases(token=token))
        if len(matches) > 1:
            return self.blocked(
                S.CREATE_PENDING_UNRESOLVED, logic.unresolved_message(marker, len(matches))
            )
        return matches[0].id if matches else None

    async def terminate(self, token: str) -> base.Outcome:
        target = await self.target(token)
        if isinstance(target, base.Outcome):
            return target
        if target is None:
            return self.outcome([], 0, done=True)  # nothing was ever created
        self.action = "read"
        try:
            database = await self.deps.astra.get_database(target, token=token)
        except errors.NotFound:
            return self.outcome([], 0, done=True)
        if phases.kind(database.status) is phases.Kind.GONE:  # TERMINATING is enough
            return self.outcome([], 0, done=True)
        deleting = conditions.Update(READY, "False", R.DELETING, "Terminating the database.")
        self.action = "terminate"
        try:
            await self.deps.astra.terminate_database(target, token=token)
        except errors.Conflict:  # MAINTENANCE or another change in flight: try again
            waiting = conditions.Update(
                SYNCED,
                "False",
                S.RECONCILE_ERROR,
                f"Astra cannot terminate while the database is {database.status}; retrying.",
            )
            return self.outcome([deleting, waiting], self.deps.config.busy_requeue)
        self.event("TerminateRequested", f"Requested termination of Astra database {target}.")
        return self.outcome([deleting, base.SYNCED_OK], self.deps.config.busy_requeue)
