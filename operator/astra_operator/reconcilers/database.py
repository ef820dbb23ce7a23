"""Reconcile one AstraDatabase: create (crash-safe), adopt, observe, report.

Create protocol (names are not unique and a create is not idempotent): write
``status.createPending`` *before* the POST, write ``status.databaseID`` right after it. A marker
found without an id means an earlier create's result is unknown: look the database up and adopt
exactly one match, or stop and say what a human should check. Nothing is ever re-created.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from astra_operator.astra import errors, models
from astra_operator.kube import api as kube_api
from astra_operator.logic import changes, conditions, phases
from astra_operator.logic import database as logic
from astra_operator.reconcilers import base
from astra_operator.reconcilers import changes as reconciler_changes
from astra_operator.resources import database as db

R = db.DatabaseReadyReason
S = db.DatabaseSyncedReason
READY, SYNCED = logic.READY, logic.SYNCED
CREATE_GRACE: Final = timedelta(seconds=60)
"""How long a 404 right after create is taken for Astra's eventual consistency."""
SYNCED_OK: Final = base.SYNCED_OK


async def reconcile(
    obj: base.DatabaseObject, deps: base.Deps, *, failures: int = 0
) -> base.Outcome:
    """One pass over one object; never raises for Astra, Secret or spec problems."""
    run = _DatabaseRun(obj, deps, failures)
    if obj.paused:
        message = f"Reconciliation is paused by the annotation {base.PAUSE_ANNOTATION}=true."
        update = conditions.Update(SYNCED, "False", S.RECONCILE_PAUSED, message)
        return run.outcome([update], deps.config.poll_interval)
    try:
        token = await run.token()
    except kube_api.SecretUnavailable as exc:
        run.warn_once(S.CREDENTIALS_UNAVAILABLE, str(exc))
        update = conditions.Update(SYNCED, "False", S.CREDENTIALS_UNAVAILABLE, str(exc))
        return run.outcome([update], max(run.backoff, 10.0))
    try:
        return await run.with_token(token)
    except errors.AstraError as exc:
        return run.failed(exc)


class _DatabaseRun(base.Run):
    action = "read"

    async def with_token(self, token: str) -> base.Outcome:
        db_id = self.status.database_id or self.obj.spec.database_id
        if db_id is not None:
            return await self.observe(db_id, token)
        if self.status.create_pending is not None:
            return await self.resolve_pending(self.status.create_pending, token)
        if self.obj.uid in self.deps.recheck_before_create:
            marker = logic.pending_marker(self.obj.spec, self.obj.ref.name, self.now)
            return await self.resolve_pending(marker, token, create_if_none=True)
        return await self.create(token)

    def failed(self, exc: errors.AstraError) -> base.Outcome:
        self.refused(exc)
        result = logic.failure(exc, self.action, backoff=self.backoff)
        if result.warn:
            self.warn_once(result.synced.reason, result.synced.message)
        return self.outcome([result.synced], result.retry_after)

    async def create(self, token: str) -> base.Outcome:
        self.action = "create"
        spec, name = self.obj.spec, self.obj.astra_name
        marker = logic.pending_marker(spec, self.obj.ref.name, self.now)
        self.status = self.status.model_copy(update={"create_pending": marker})
        await self.persist()
        try:
            db_id = await self.deps.astra.create_database(
                logic.create_request(spec, self.obj.ref.name), token=token
            )
        except errors.AstraError as exc:
            if exc.maybe_applied:  # no answer, or a 5xx: it may exist; resolve by lookup
                self.deps.uncertain_creates[self.obj.uid] = None
            else:  # Astra answered: the create was refused, not done
                self.status = self.status.model_copy(update={"create_pending": None})
                self.deps.recheck_before_create.add(self.obj.uid)
            raise
        self.forget_create_failures()
        self.status = self.status.model_copy(update={"database_id": db_id, "create_pending": None})
        await self.persist()
        self.event(
            "Created",
            f"Created Astra database {name!r} ({db_id}) in {spec.cloud_provider} {spec.region}.",
        )
        ready = conditions.Update(READY, "False", R.CREATING, "Astra accepted the create.")
        return self.outcome([ready, SYNCED_OK], self.deps.config.busy_requeue)

    async def resolve_pending(
        self, marker: db.CreatePending, token: str, *, create_if_none: bool = False
    ) -> base.Outcome:
        self.action = "list"
        candidates = await self.deps.astra.list_databases(token=token)
        matches = logic.pending_matches(marker, candidates)
        if len(matches) == 1:
            found = matches[0]
            self.forget_create_failures()
            self.status = self.status.model_copy(
                update={"database_id": found.id, "create_pending": None}
            )
            await self.persist()
            self.event(
                "CreateResolved",
                f"Found database {found.id} made by an earlier create "
                "request whose result was lost; managing it.",
            )
            return await self.observe(found.id, token)
        if not matches and create_if_none:
            self.forget_create_failures()
            return await self.create(token)
        if not matches and self.obj.uid in self.deps.uncertain_creates:
            return await self.retry_uncertain(token)
        message = logic.unresolved_message(marker, len(matches))
        self.warn_once(S.CREATE_PENDING_UNRESOLVED, message)
        update = conditions.Update(SYNCED, "False", S.CREATE_PENDING_UNRESOLVED, message)
        return self.outcome([update], self.deps.config.poll_interval)

    def forget_create_failures(self) -> None:
        self.deps.recheck_before_create.discard(self.obj.uid)
        self.deps.uncertain_creates.pop(self.obj.uid, None)

    async def retry_uncertain(self, token: str) -> base.Outcome:
        """This process saw its create fail and Astra still shows no such database after the
        grace period (list results can lag): create again. Otherwise keep looking."""
        first = self.deps.uncertain_creates[self.obj.uid] or self.now
        self.deps.uncertain_creates[self.obj.uid] = first
        grace = self.deps.config.create_retry_grace
        if (self.now - first).total_seconds() >= grace:
            self.forget_create_failures()
            return await self.create(token)
        message = (
            "The create request failed without a clear answer; checking that Astra "
            "did not create the database before trying again."
        )
        update = conditions.Update(SYNCED, "False", S.RECONCILE_ERROR, message)
        return self.outcome([update], min(grace, self.deps.config.busy_requeue))

    async def observe(self, db_id: str, token: str) -> base.Outcome:
        self.action = "read"
        try:
            database = await self.deps.astra.get_database(db_id, token=token)
        except errors.NotFound:
            return self.missing(db_id)
        self.deps.first_missing.pop(db_id, None)
        self.status = logic.observed(self.status, database, self.now)
        kind = phases.kind(database.status)
        if kind is phases.Kind.GONE:
            return self.gone(db_id, f"Astra reports it {database.status}")
        ready = logic.ready(database.status, self.obj.spec)
        self.announce(ready, kind)
        if kind is phases.Kind.READY:
            await self.connection_secret(database)
        change = changes.next_change(self.obj.spec, database)
        if change is not None:
            return await self.change(change, database, ready, token)
        return self.outcome([ready, SYNCED_OK], self.requeue(kind))

    async def change(
        self,
        change: changes.Change,
        database: models.Database,
        ready: conditions.Update,
        token: str,
    ) -> base.Outcome:
        """Make one day-2 change; Astra reports the database busy until it is done."""
        if not changes.allowed(change, database):
            message = (
                f"Cannot {change.description} now: Astra does not offer "
                f"{changes.ACTIONS[change.kind]!r} in status {database.status}."
            )
            update = conditions.Update(SYNCED, "False", S.RECONCILE_ERROR, message)
            return self.outcome([ready, update], self.deps.config.poll_interval)
        self.action = change.kind
        try:
            await reconciler_changes.apply(change, self.obj.spec, database, self.deps.astra, token)
        except errors.Conflict:  # another change is in flight: come back soon
            return self.outcome([ready, SYNCED_OK], self.deps.config.busy_requeue)
        self.event(
            reconciler_changes.EVENT_REASONS[change.kind],
            f"Requested Astra to {change.description}.",
        )
        updating = conditions.Update(
            READY, ready.status, R.UPDATING, f"Applying the spec: {change.description}."
        )
        return self.outcome([updating, SYNCED_OK], self.deps.config.busy_requeue)

    def requeue(self, kind: phases.Kind) -> float:
        cfg = self.deps.config
        return cfg.busy_requeue if kind is phases.Kind.BUSY else cfg.poll_interval

    def announce(self, ready: conditions.Update, kind: phases.Kind) -> None:
        old = self.obj.status.condition(READY)
        if old is not None and (old.status, old.reason) == (ready.status, ready.reason):
            return
        if ready.status == "True":
            self.event("Ready", "The database is ACTIVE.")
        elif kind in (phases.Kind.FAILED, phases.Kind.UNKNOWN):
            self.events.append(base.Event("Warning", ready.reason, ready.message))

    def missing(self, db_id: str) -> base.Outcome:
        first = self.deps.first_missing.setdefault(db_id, self.now)
        created_here = self.obj.spec.database_id is None and self.status.phase is None
        if created_here and self.now - first < CREATE_GRACE:
            ready = conditions.Update(
                READY, "False", R.CREATING, "Astra does not show the new database yet."
            )
            return self.outcome([ready, SYNCED_OK], self.deps.config.busy_requeue)
        return self.gone(db_id, "it does not exist in Astra (404)")

    def gone(self, db_id: str, why: str) -> base.Outcome:
        if self.obj.spec.database_id is not None and self.status.phase is None:
            message = (
                f"No Astra database with ID {db_id} is visible to the token: check "
                "spec.databaseID, and that the token's role can view it. The operator "
                "never creates a database for an adoption."
            )
        else:
            message = (
                f"The Astra database {db_id} was terminated outside Kubernetes: {why}. "
                "The operator does not re-create it. Delete this object to clean up, or "
                "create a new AstraDatabase for a new database."
            )
        ready = conditions.Update(READY, "False", R.TERMINATED, message)
        self.warn_once(S.DATABASE_NOT_FOUND, message)
        synced = conditions.Update(SYNCED, "False", S.DATABASE_NOT_FOUND, message)
        return self.outcome([ready, synced], self.deps.config.poll_interval)

    async def connection_secret(self, database: models.Database) -> None:
        target = self.obj.spec.connection_secret
        if target is None:
            return
        data = connection_details(self.obj.spec, self.status, database)
        owner = kube_api.Owner(db.KIND, self.obj.ref.name, self.obj.uid)
        try:
            changed = await self.deps.kube.apply_owned_secret(
                self.obj.ref.namespace, target.name, owner, data
            )
        except kube_api.SecretConflict as exc:
            self.warn_once("ConnectionSecretConflict", str(exc))
            return
        if changed:
            self.event(
                "ConnectionSecretWritten", f"Wrote connection details to Secret {target.name}."
            )


def connection_details(
    spec: db.AstraDatabaseSpec, status: db.AstraDatabaseStatus, database: models.Database
) -> dict[str, str]:
    """What apps need to connect (never a token): id, region, keyspace, endpoints."""
    endpoints = status.endpoints or db.DatabaseEndpoints()
    data = {
        "databaseID": database.id,
        "databaseName": database.info.name or "",
        "cloudProvider": spec.cloud_provider,
        "region": spec.region,
        "keyspace": spec.keyspace,
        "dataAPIEndpoint": endpoints.data_api or "",
        "cqlshURL": endpoints.cqlsh or "",
        "graphqlURL": endpoints.graphql or "",
        "restURL": endpoints.rest or "",
    }
    return {k: v for k, v in data.items() if v}
