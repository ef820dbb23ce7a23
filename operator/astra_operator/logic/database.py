"""Pure decisions for AstraDatabase: create requests, observed status, Ready, failures.

Everything here is a function of its arguments: the reconciler does the I/O and asks this
module what the observations mean and what to write.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

from astra_operator.astra import models
from astra_operator.logic import conditions, phases
from astra_operator.resources import common
from astra_operator.resources import database as db

READY: Final = common.ConditionType.READY
SYNCED: Final = common.ConditionType.SYNCED
R = db.DatabaseReadyReason
S = db.DatabaseSyncedReason

CLOCK_SKEW: Final = timedelta(minutes=5)
"""How far Astra's creationTime may precede our create-pending marker and still match."""


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
    spec: db.AstraDatabaseSpec, metadata_name: str, now: datetime, existing: Iterable[str]
) -> db.CreatePending:
    """The record written before a create is sent; ``existing`` already carry the name."""
    return db.CreatePending(
        requested_at=now,
        name=astra_name(spec, metadata_name),
        existing_ids=tuple(sorted(existing)),
        cloud_provider=spec.cloud_provider,
        region=spec.region,
    )


def same_name(name: str, candidates: Iterable[models.Database]) -> list[str]:
    """IDs of the databases (terminated ones aside) named ``name``."""
    return [
        c.id
        for c in candidates
        if c.info.name == name and phases.kind(c.status) is not phases.Kind.GONE
    ]


def _created_at(database: models.Database) -> datetime | None:
    if not database.creation_time:
        return None
    try:
        return datetime.fromisoformat(database.creation_time.replace("Z", "+00:00"))
    except ValueError:
        return None


def pending_matches(marker: db.CreatePending, candidates: Iterable[models.Database]) -> list[str]:
    """IDs of databases that the pending create may have made: same name, provider and region,
    not there before the request (``existing_ids``), created after the marker (allowing for
    clock skew), not terminated. Excluding other objects' databases is the caller's part."""
    found = []
    for candidate in candidates:
        info = candidate.info
        created = _created_at(candidate)
        if (
            info.name == marker.name
            and (info.cloud_provider or "").upper() == marker.cloud_provider
            and info.region == marker.region
            and candidate.id not in marker.existing_ids
            and phases.kind(candidate.status) is not phases.Kind.GONE
            and (created is None or created >= marker.requested_at - CLOCK_SKEW)
        ):
            found.append(candidate.id)
    return found


def identity_mismatches(
    spec: db.AstraDatabaseSpec, metadata_name: str, database: models.Database
) -> list[str]:
    """What about an existing database contradicts the spec that wants to adopt it."""
    info = database.info
    wanted: list[tuple[str, object, object]] = [
        ("name", astra_name(spec, metadata_name), info.name),
        ("cloudProvider", spec.cloud_provider, (info.cloud_provider or "").upper()),
        ("region", spec.region, info.region),
        ("tier", spec.tier, info.tier),
        ("dbType", spec.db_type, info.db_type or None),
    ]
    return [
        f"spec.{field} is {want!r} but the database has {have!r}"
        for field, want, have in wanted
        if want != have
    ]


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
