"""Pure decisions for AstraDatabase: create requests, observed status, Ready, failures.

Everything here is a function of its arguments: the reconciler does the I/O and asks this
module what the observations mean and what to write.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

from astra_operator.astra import errors, models
from astra_operator.logic import conditions, phases
from astra_operator.resources import common
from astra_operator.resources import database as db

READY: Final = common.ConditionType.READY
SYNCED: Final = common.ConditionType.SYNCED
R = db.DatabaseReadyReason
S = db.DatabaseSyncedReason

CLOCK_SKEW: Final = timedelta(minutes=5)
"""How far Astra's creationTime may precede our create-pending marker and still match."""

PERMISSIONS: Final[dict[str, str]] = {
    "create": "org-db-create",
    "read": "org-db-view",
    "list": "org-db-view",
    "terminate": "org-db-terminate",
    "park": "org-db-suspend",
    "unpark": "org-db-suspend",
    "resize": "org-db-expand",
    "add_keyspace": "db-keyspace-create",
    "add_region": "db-manage-region",
    "remove_region": "db-manage-region",
}
"""The Astra role permission each operator action needs (named in 401 messages)."""


def astra_name(spec: db.AstraDatabaseSpec, metadata_name: str) -> str:
    """The database name in Astra: spec.name, or metadata.name when omitted."""
    return spec.name or metadata_name


def create_request(spec: db.AstraDatabaseSpec, metadata_name: str) -> models.DatabaseCreate:
    """The DevOps API create body for this spec."""
    serverless = spec.tier == db.SERVERLESS
    return models.DatabaseCreate(
        name=astra_name(spec, metadata_name),
        cloud_provider=spec.cloud_provider,
        region=spec.region,
        tier=spec.tier,
        capacity_units=1 if serverless else (spec.capacity_units or 1),
        keyspace=spec.keyspace,
        db_type=spec.db_type if serverless else None,
    )


def pending_marker(
    spec: db.AstraDatabaseSpec, metadata_name: str, now: datetime
) -> db.CreatePending:
    """The record written before a create is sent."""
    return db.CreatePending(
        requested_at=now,
        name=astra_name(spec, metadata_name),
        cloud_provider=spec.cloud_provider,
        region=spec.region,
    )


def _created_at(database: models.Database) -> datetime | None:
    if not database.creation_time:
        return None
    try:
        return datetime.fromisoformat(database.creation_time.replace("Z", "+00:00"))
    except ValueError:
        return None


def pending_matches(
    marker: db.CreatePending, candidates: Iterable[models.Database]
) -> list[models.Database]:
    """Databases that the pending create may have made: same name, provider and region,
    created after the marker (allowing for clock skew), not terminated."""
    found = []
    for candidate in candidates:
        info = candidate.info
        created = _created_at(candidate)
        if (
            info.name == marker.name
            and (info.cloud_provider or "").upper() == marker.cloud_provider
            and info.region == marker.region
            and phases.kind(candidate.status) is not phases.Kind.GONE
            and (created is None or created >= marker.requested_at - CLOCK_SKEW)
        ):
            found.append(candidate)
    return found


def unresolved_message(marker: db.CreatePending, count: int) -> str:
    """What a human should check when a pending create cannot be resolved safely."""
    seen = "no database" if count == 0 else f"{count} databases"
    return (
        f"A create request for {marker.name!r} ({marker.cloud_provider} {marker.region}) was "
        f"sent at {marker.requested_at.isoformat()} but its result was never recorded, and "
        f"{seen} with that name, provider and region created since then can be seen. The "
        "operator will not create another one. Check the Astra console: to adopt the database "
        "that was created, set spec.databaseID to its ID; if none was created, remove "
        "status.createPending (kubectl patch --subresource=status --type=merge -p "
        '\'{"status":{"createPending":null}}\') and the operator will create it.'
    )


def _endpoints(database: models.Database) -> db.DatabaseEndpoints:
    region = database.info.region
    data_api = f"https://{database.id}-{region}.apps.astra.datastax.com" if region else None
    return db.DatabaseEndpoints(
        data_api=data_api,
        cqlsh=database.cqlsh_url,
        graphql=database.graphql_url,
        rest=database.data_endpoint_url,
        grafana=database.grafana_url,
    )


def observed(
    status: db.AstraDatabaseStatus, database: models.Database, now: datetime
) -> db.AstraDatabaseStatus:
    """Status fields as read from Astra (conditions untouched)."""
    regions = tuple(
        db.ObservedRegion(region=dc.region or "", datacenter_id=dc.id, status=dc.status or None)
        for dc in sorted(database.info.datacenters, key=lambda d: d.id or "")
    )
    return status.model_copy(
        update={
            "database_id": database.id,
            "org_id": database.org_id,
            "phase": database.status,
            "endpoints": _endpoints(database),
            "keyspaces": tuple(sorted(database.info.keyspaces)) or None,
            "regions": regions or None,
            "capacity_units": database.info.capacity_units,
            "last_observed_time": now,
        }
    )


def ready(phase: str, spec: db.AstraDatabaseSpec) -> conditions.Update:
    """The Ready condition for an observed Astra status."""
    kind = phases.kind(phase)
    if kind is phases.Kind.READY:
        return conditions.Update(READY, "True", R.AVAILABLE, "The database is ACTIVE.")
    if phase.upper() in phases.CREATING:
        return conditions.Update(READY, "False", R.CREATING, f"Astra reports {phase}.")
    if kind is phases.Kind.BUSY:
        return conditions.Update(READY, "False", R.UPDATING, f"Astra reports {phase}.")
    return _not_ready(phase, kind)


def _not_ready(phase: str, kind: phases.Kind) -> conditions.Update:
    upper = phase.upper()
    if upper == "PARKED":
        return conditions.Update(READY, "False", R.PARKED, "The database is parked.")
    if upper == "HIBERNATED":
        return conditions.Update(
            READY,
            "False",
            R.HIBERNATED,
            "Astra hibernated the idle database; any Data API request resumes it.",
        )
    if upper == "SUSPENDED":
        return conditions.Update(
            READY,
            "False",
            R.SUSPENDED,
            "Astra suspended the database (for example, plan credits exhausted).",
        )
    if kind is phases.Kind.GONE:
        return conditions.Update(READY, "False", R.TERMINATED, f"Astra reports {phase}.")
    if kind is phases.Kind.FAILED:
        return conditions.Update(
            READY,
            "False",
            R.UNAVAILABLE,
            "Astra reports ERROR: the database needs attention from DataStax support.",
        )
    return conditions.Update(
        READY,
        "False",
        R.UNAVAILABLE,
        f"Astra reports the status {phase!r}, which this operator does not know; "
        "no changes are made until it returns to ACTIVE.",
    )


@dataclasses.dataclass(frozen=True)
class Failure:
    """How an Astra API failure is reported and when to try again."""

    synced: conditions.Update
    retry_after: float
    warn: bool
    """Post a Warning event (the user must act)."""


def failure(exc: errors.AstraError, action: str, *, backoff: float) -> Failure:
    """Translate an API error during ``action`` into a condition and a retry delay."""
    if isinstance(exc, errors.Unauthorized | errors.Forbidden):
        need = PERMISSIONS.get(action, "the matching")
        message = (
            f"Astra refused the token ({exc.status}) for the database action "
            f"{action!r}: the token's role needs the {need} permission, or the token is "
            "invalid or expired."
        )
        return Failure(
            conditions.Update(SYNCED, "False", S.RECONCILE_ERROR, message),
            max(backoff, 30.0),
            warn=True,
        )
    if isinstance(exc, errors.InvalidRequest):
        message = f"Astra rejected the database action {action!r}: {exc.message}"
        return Failure(
            conditions.Update(SYNCED, "False", S.SPEC_REJECTED, message),
            max(backoff, 60.0),
            warn=True,
        )
    if isinstance(exc, errors.RateLimited) and exc.retry_after:
        delay = max(exc.retry_after, 1.0)
    else:
        delay = backoff
    message = f"The database action {action!r} failed, retrying in {delay:.0f} s: {exc.message}"
    return Failure(
        conditions.Update(SYNCED, "False", S.RECONCILE_ERROR, message), delay, warn=False
    )
