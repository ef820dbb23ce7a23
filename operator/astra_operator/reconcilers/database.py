"""The AstraDatabase manager: what the engine asks of databases (create, observe, day-2,
terminate). The create protocol, ownership, credentials and status writes are the engine's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from astra_operator.astra import errors, models
from astra_operator.kube import api as kube_api
from astra_operator.logic import changes, conditions, phases
from astra_operator.logic import database as logic
from astra_operator.reconcilers import access_list, engine
from astra_operator.reconcilers import changes as reconciler_changes
from astra_operator.resources import database as db

R = db.DatabaseReadyReason
S = db.DatabaseSyncedReason
READY, SYNCED = logic.READY, logic.SYNCED
CREATE_GRACE: Final = timedelta(seconds=60)
"""How long a 404 right after create is taken for Astra's eventual consistency."""

NOT_FOUND: Final = "NOT_FOUND"
"""status.phase once Astra answers 404 for the database (it is gone)."""

Obj = engine.Managed[db.AstraDatabaseSpec, db.AstraDatabaseStatus]
Pass = engine.Pass[db.AstraDatabaseSpec, db.AstraDatabaseStatus]
Outcome = engine.Outcome[db.AstraDatabaseStatus]


def parse(body: object) -> Obj:
    """An AstraDatabase from its raw body (pydantic.ValidationError on a refused spec)."""
    return engine.parse(
        engine.as_mapping(body), db.PLURAL, db.AstraDatabaseSpec, db.AstraDatabaseStatus
    )


class DatabaseKind:
    """The engine's view of AstraDatabase."""

    info = engine.KindInfo(
        kind=db.KIND,
        plural=db.PLURAL,
        noun="database",
        id_field="database_id",
        id_label="databaseID",
    )

    def adopt_id(self, spec: db.AstraDatabaseSpec) -> str | None:
        return spec.database_id

    def unknown_ready(self, p: Pass) -> conditions.Update:
        if p.status.database_id is None and p.obj.spec.database_id is not None:
            return conditions.Update(READY, "False", R.UNAVAILABLE, "Not adopted yet.")
        if p.status.database_id is None:
            return conditions.Update(READY, "False", R.CREATING, "No database yet.")
        return conditions.Update(READY, "Unknown", R.UNAVAILABLE, "Not observed yet.")

    async def prepare(self, p: Pass, token: str) -> Outcome | None:
        return None

    async def same_name(self, p: Pass, token: str) -> list[str]:
        name = logic.astra_name(p.obj.spec, p.obj.ref.name)
        listed = await p.shared("databases", lambda: p.astra.list_databases(token=token))
        return logic.same_name(name, listed)

    def marker(self, p: Pass, existing: list[str]) -> db.CreatePending:
        return logic.pending_marker(p.obj.spec, p.obj.ref.name, p.now, existing)

    async def create(self, p: Pass, token: str) -> str:
        request = logic.create_request(p.obj.spec, p.obj.ref.name)
        return await p.astra.create_database(request, token=token)

    def created(self, p: Pass, new_id: str) -> Outcome:
        spec, name = p.obj.spec, logic.astra_name(p.obj.spec, p.obj.ref.name)
        p.event(
            "Created",
            f"Created Astra database {name!r} ({new_id}) in {spec.cloud_provider} {spec.region}.",
        )
        ready = conditions.Update(READY, "False", R.CREATING, "Astra accepted the create.")
        return p.outcome([ready, engine.SYNCED_OK], p.config.busy_requeue)

    async def matching(self, p: Pass, token: str, marker: object) -> list[str]:
        if not isinstance(marker, db.CreatePending):
            return []
        return logic.pending_matches(marker, await p.astra.list_databases(token=token))

    async def verify(self, p: Pass, token: str, external_id: str) -> tuple[str, str] | None:
        try:
            database = await p.astra.get_database(external_id, token=token)
        except errors.NotFound:
            return S.DATABASE_NOT_FOUND, (
                f"No Astra database with ID {external_id} is visible to the token: check "
                "spec.databaseID, and that the token's role can view it. The operator never "
                "creates a database for an adoption."
            )
        if phases.kind(database.status) is phases.Kind.GONE:
            return S.DATABASE_NOT_FOUND, (
                f"The Astra database {external_id} is {database.status}: it cannot be adopted."
            )
        mismatches = logic.identity_mismatches(p.obj.spec, p.obj.ref.name, database)
        if not mismatches:
            return None
        return S.ADOPTION_REFUSED, (
            f"Will not adopt the Astra database {external_id}: it is not the database this "
            f"spec describes ({'; '.join(mismatches)}). Fix the spec or spec.databaseID."
        )

    async def observe(self, p: Pass, token: str, external_id: str) -> Outcome:
        return await _observe(p, token, external_id)

    def steady(self, p: Pass) -> bool:
        phase = p.obj.status.phase
        return phase is not None and phases.kind(phase) is not phases.Kind.BUSY

    def protected(self, obj: Obj) -> str | None:
        if not obj.spec.deletion_protection:
            return None
        return (
            "Deletion is blocked by spec.deletionProtection=true: the Astra database and this "
            "object are kept. To proceed, set spec.deletionProtection to false (terminates the "
            "database) or spec.deletionPolicy to Retain (keeps it)."
        )

    async def delete(self, p: Pass, token: str, external_id: str) -> Outcome:
        return await _terminate(p, token, external_id)


KIND: Final = DatabaseKind()


async def _observe(p: Pass, token: str, db_id: str) -> Outcome:
    listed = await p.listed("databases", lambda: p.astra.list_databases(token=token))
    entry = next((d for d in listed or () if d.id == db_id), None)
    if entry is not None:
        status, events = p.status, list(p.events)
        quiet = await _decide(p, token, db_id, entry, direct=False)
        if quiet is not None:
            return quiet
        p.status, p.events, p.observed = status, events, []
    p.action = "read"  # not steady, missing from the list, or something to do: read it
    try:
        database = await p.astra.get_database(db_id, token=token)
    except errors.NotFound:
        return _missing(p, db_id)
    outcome = await _decide(p, token, db_id, database, direct=True)
    assert outcome is not None
    return outcome


async def _decide(
    p: Pass, token: str, db_id: str, database: models.Database, *, direct: bool
) -> Outcome | None:
    """Status from what Astra shows, then the next action. From a list (``direct=False``)
    it returns None instead of acting: an action waits for a read of the database itself."""
    p.scratch.pop("first_missing", None)
    if _still_creating(p, database):  # nothing new to show until it is ACTIVE (or fails)
        return p.outcome([], p.config.busy_requeue)
    p.status = logic.observed(p.status, database, p.now)
    kind = phases.kind(database.status)
    if kind is phases.Kind.GONE:
        return _gone(p, db_id, f"Astra reports it {database.status}")
    ready = logic.ready(database.status, p.obj.spec)
    p.observed = [ready]
    _announce(p, ready, kind)
    if p.observing:
        return await _observe_only(p, token, db_id, database, kind, direct)
    return await _act(p, token, db_id, database, kind, ready, direct)


async def _act(
    p: Pass,
    token: str,
    db_id: str,
    database: models.Database,
    kind: phases.Kind,
    ready: conditions.Update,
    direct: bool,
) -> Outcome | None:
    """The next action (managementPolicy Full); None from a list when there is one."""
    held = changes.removals(p.obj.spec, database) if p.removals_held() else []
    change = changes.next_change(p.obj.spec, database, removals=not held)
    manage_access = _manages_access(p, kind)
    access = access_list.Result()
    if not direct:
        if change is not None:
            return None
        if manage_access:
            access = await access_list.converge(p, token, db_id, direct=False)
            if access.act:
                return None
    conflict = await _connection_secret(p, database) if kind is phases.Kind.READY else None
    if change is not None:
        return await _change(p, change, database, ready, token)
    if direct and manage_access:
        access = await access_list.converge(p, token, db_id, direct=True)
    held += access.held
    if held and kind is phases.Kind.READY:
        return _finish(p, [p.adoption_pending(held)], p.config.poll_interval, direct)
    return _finish(p, [conflict or access.synced or engine.SYNCED_OK], _requeue(p, kind), direct)


async def _observe_only(
    p: Pass,
    token: str,
    db_id: str,
    database: models.Database,
    kind: phases.Kind,
    direct: bool,
) -> Outcome:
    """managementPolicy Observe: report every difference, as a plan; never write to Astra."""
    planned = changes.plan(p.obj.spec, database)
    access = access_list.Result()
    if _manages_access(p, kind):
        access = await access_list.converge(p, token, db_id, direct=False)
        if access.planned:
            planned.append(f"change the access list ({access.planned})")
    conflict = await _connection_secret(p, database) if kind is phases.Kind.READY else None
    update = access.synced or p.drift_observed(planned)
    return _finish(p, [conflict or update], _requeue(p, kind), direct)


def _manages_access(p: Pass, kind: phases.Kind) -> bool:
    """The access-list step runs on an ACTIVE database, or to clear status when unmanaged."""
    return kind is phases.Kind.READY or p.obj.spec.access_list is None


def _finish(p: Pass, updates: list[conditions.Update], requeue: float, direct: bool) -> Outcome:
    if direct:
        return p.outcome(updates, requeue)
    return p.quiet_outcome(updates, requeue)


def _still_creating(p: Pass, database: models.Database) -> bool:
    """Astra is creating the database this object created, and status already says so."""
    stored, ready = p.obj.status.phase, p.obj.status.condition(READY)
    return (
        database.status.upper() in phases.CREATING
        and (stored is None or stored.upper() in phases.CREATING)
        and ready is not None
        and ready.reason == R.CREATING
    )


async def _change(
    p: Pass,
    change: changes.Change,
    database: models.Database,
    ready: conditions.Update,
    token: str,
) -> Outcome:
    """Make one day-2 change; Astra reports the database busy until it is done."""
    if not changes.allowed(change, database):
        if change.kind == "resize" and (database.info.tier or "") == db.SERVERLESS:
            message = (
                "Serverless databases do not resize (they scale by themselves): remove "
                "spec.capacityUnits."
            )
        else:
            message = (
                f"Cannot {change.description} now: Astra does not offer "
                f"{changes.ACTIONS[change.kind]!r} in status {database.status}."
            )
        p.warn_once(S.RECONCILE_ERROR, message)
        update = conditions.Update(SYNCED, "False", S.RECONCILE_ERROR, message)
        return p.outcome([update], p.config.poll_interval)
    p.action, p.what = change.kind, change.description
    _report_drift(p, change)
    try:
        await reconciler_changes.apply(change, p.obj.spec, database, p.astra, token)
    except errors.Conflict:  # another change is in flight: come back soon
        return p.outcome([engine.SYNCED_OK], p.config.busy_requeue)
    p.event(
        reconciler_changes.EVENT_REASONS[change.kind],
        f"Requested Astra to {change.description} (database {database.id}).",
    )
    updating = conditions.Update(
        READY, ready.status, R.UPDATING, f"Applying the spec: {change.description}."
    )
    return p.outcome([updating, engine.SYNCED_OK], p.config.busy_requeue)


def _requeue(p: Pass, kind: phases.Kind) -> float:
    return p.config.busy_requeue if kind is phases.Kind.BUSY else p.config.poll_interval


def _report_drift(p: Pass, change: changes.Change) -> None:
    """A change that undoes what someone did in Astra says so (a dropped keyspace lost data)."""
    seen_keyspaces = set(p.obj.status.keyspaces or ())
    seen_regions = {r.region for r in p.obj.status.regions or ()}
    if change.kind == "add_keyspace" and change.target in seen_keyspaces:
        p.warn(
            "KeyspaceRecreated",
            f"Keyspace {change.target} was dropped outside Kubernetes: its data is gone. "
            "Creating it again, empty, as the spec asks.",
        )
    elif change.kind == "add_region" and change.target in seen_regions:
        p.warn(
            "DriftReverted",
            f"Region {change.target} was removed outside Kubernetes; adding it back.",
        )
    elif change.kind == "remove_region":
        p.warn(
            "DriftReverted",
            f"{change.description.capitalize()}: it is not in spec.additionalRegions "
            "(added outside Kubernetes, or removed from the spec).",
        )


def _announce(p: Pass, ready: conditions.Update, kind: phases.Kind) -> None:
    """Events on transitions only: Ready when it becomes True, a Warning for trouble."""
    old = p.obj.status.condition(READY)
    if old is not None and (old.status, old.reason) == (ready.status, ready.reason):
        return
    if ready.status == "True":
        if old is None or old.status != "True":
            p.event("Ready", f"The database {p.status.database_id} is ACTIVE.")
    elif kind in (phases.Kind.FAILED, phases.Kind.UNKNOWN) or ready.reason in (
        R.HIBERNATED,
        R.SUSPENDED,
    ):
        p.warn(ready.reason, ready.message)


def _missing(p: Pass, db_id: str) -> Outcome:
    first = p.scratch.setdefault("first_missing", p.now)
    created_here = p.obj.spec.database_id is None and p.status.phase is None
    if created_here and isinstance(first, type(p.now)) and p.now - first < CREATE_GRACE:
        ready = conditions.Update(
            READY, "False", R.CREATING, "Astra does not show the new database yet."
        )
        return p.outcome([ready, engine.SYNCED_OK], p.config.busy_requeue)
    p.update(phase=NOT_FOUND)
    return _gone(p, db_id, "it does not exist in Astra (404)")


def _gone(p: Pass, db_id: str, why: str) -> Outcome:
    message = (
        f"The Astra database {db_id} was terminated outside Kubernetes: {why}. The operator "
        "does not re-create it. Delete this object to clean up, or create a new AstraDatabase "
        "for a new database."
    )
    ready = conditions.Update(READY, "False", R.TERMINATED, message)
    p.warn_once(S.DATABASE_NOT_FOUND, message)
    synced = conditions.Update(SYNCED, "False", S.DATABASE_NOT_FOUND, message)
    return p.outcome([ready, synced], p.config.poll_interval)


async def _connection_secret(p: Pass, database: models.Database) -> conditions.Update | None:
    """Write the connection Secret; a Synced=False update when another object holds it."""
    target = p.obj.spec.connection_secret
    if target is None:
        return None
    data = connection_details(p.obj.spec, p.status, database)
    owner = kube_api.Owner(db.KIND, p.obj.ref.name, p.obj.uid)
    try:
        changed = await p.deps.kube.apply_owned_secret(
            p.obj.ref.namespace, target.name, owner, data
        )
    except kube_api.SecretConflict as exc:
        p.warn_once(S.CONNECTION_SECRET_CONFLICT, str(exc))
        return conditions.Update(SYNCED, "False", S.CONNECTION_SECRET_CONFLICT, str(exc))
    if changed:
        p.event("ConnectionSecretWritten", f"Wrote connection details to Secret {target.name}.")
    return None


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


async def _terminate(p: Pass, token: str, target: str) -> Outcome:
    p.action = "read"
    try:
        database = await p.astra.get_database(target, token=token)
    except errors.NotFound:
        return p.outcome([], 0, done=True)
    if phases.kind(database.status) is phases.Kind.GONE:  # TERMINATING is enough
        return p.outcome([], 0, done=True)
    deleting = conditions.Update(READY, "False", R.DELETING, "Terminating the database.")
    p.action = "terminate"
    try:
        await p.astra.terminate_database(target, token=token)
    except errors.Conflict:  # MAINTENANCE or another change in flight: try again
        waiting = conditions.Update(
            SYNCED,
            "False",
            S.RECONCILE_ERROR,
            f"Astra cannot terminate while the database is {database.status}; retrying.",
        )
        return p.outcome([deleting, waiting], p.config.busy_requeue)
    p.event("TerminateRequested", f"Requested termination of Astra database {target}.")
    return p.outcome([deleting, engine.SYNCED_OK], p.config.busy_requeue)
