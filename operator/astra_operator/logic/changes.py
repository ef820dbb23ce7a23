"""Day-2 decisions: the single next change that brings an Astra database toward its spec.

One change at a time, only while Astra is idle: every change passes through a busy status
(PARKING, RESIZING, MAINTENANCE, ...) and Astra refuses a second one meanwhile. Order: unpark
first (nothing else works while parked), then resize, keyspaces, regions, and park last.
Nothing here drops data: removing a keyspace from the spec never drops it.
"""

from __future__ import annotations

import dataclasses
from typing import Final, Literal

from astra_operator.astra import models
from astra_operator.logic import phases
from astra_operator.resources import database as db

MAX_RESIZE_STEP: Final = 3
"""Astra adds at most 3 capacity units per resize call."""

Kind = Literal["unpark", "resize", "add_keyspace", "add_region", "remove_region", "park"]

ACTIONS: Final[dict[str, str]] = {
    "unpark": "unpark",
    "park": "park",
    "resize": "resize",
    "add_keyspace": "addKeyspace",
    "add_region": "addDatacenters",
    "remove_region": "terminateDatacenter",
}
"""The availableActions entry Astra lists when each change is allowed."""


@dataclasses.dataclass(frozen=True)
class Change:
    """One call to make: ``target`` is a capacity, keyspace, region or datacenter id."""

    kind: Kind
    target: str | int | None
    description: str


def next_change(
    spec: db.AstraDatabaseSpec, database: models.Database, *, removals: bool = True
) -> Change | None:
    """The next change to make now, or None when Astra matches the spec or is busy.
    ``removals=False`` (an adoption not confirmed yet) skips changes that remove anything."""
    status = database.status.upper()
    if status == "PARKED":
        if spec.parked is False:
            return Change("unpark", None, "unpark the database")
        return None
    if phases.kind(status) is not phases.Kind.READY:
        return None
    return (
        _resize(spec, database)
        or _keyspace(spec, database)
        or _region(spec, database, removals=removals)
        or (Change("park", None, "park the database") if spec.parked else None)
    )


def _resize(spec: db.AstraDatabaseSpec, database: models.Database) -> Change | None:
    have = database.info.capacity_units or 1
    want = spec.capacity_units
    if spec.tier == db.SERVERLESS or want is None or want <= have:
        return None
    step = min(want, have + MAX_RESIZE_STEP)
    return Change("resize", step, f"resize from {have} to {step} capacity units")


def _keyspace(spec: db.AstraDatabaseSpec, database: models.Database) -> Change | None:
    have = set(database.info.keyspaces)
    missing = [k for k in spec.additional_keyspaces if k not in have]
    if not missing:
        return None
    return Change("add_keyspace", missing[0], f"add keyspace {missing[0]}")


def _region(
    spec: db.AstraDatabaseSpec, database: models.Database, *, removals: bool = True
) -> Change | None:
    have = {dc.region: dc.id for dc in database.info.datacenters if dc.region}
    for region in spec.additional_regions:
        if region not in have:
            return Change("add_region", region, f"add region {region}")
    if not removals:
        return None
    return next(iter(_removals(spec, database)), None)


def _removals(spec: db.AstraDatabaseSpec, database: models.Database) -> list[Change]:
    primary = database.info.region or spec.region
    have = {dc.region: dc.id for dc in database.info.datacenters if dc.region}
    return [
        Change("remove_region", dc_id, f"remove region {region}")
        for region, dc_id in sorted(have.items())
        if region != primary and region not in spec.additional_regions and dc_id
    ]


def plan(spec: db.AstraDatabaseSpec, database: models.Database) -> list[str]:
    """Every change converging to the spec would make, in words, whatever Astra's state (the
    plan managementPolicy Observe reports)."""
    status = database.status.upper()
    found: list[str] = []
    if spec.parked is False and status == "PARKED":
        found.append("unpark the database")
    have, want = database.info.capacity_units or 1, spec.capacity_units
    if spec.tier != db.SERVERLESS and want is not None and want > have:
        found.append(f"resize from {have} to {want} capacity units")
    keyspaces = set(database.info.keyspaces)
    found += [f"add keyspace {k}" for k in spec.additional_keyspaces if k not in keyspaces]
    regions = {dc.region for dc in database.info.datacenters if dc.region}
    found += [f"add region {r}" for r in spec.additional_regions if r not in regions]
    found += [c.description for c in _removals(spec, database)]
    if spec.parked and status not in ("PARKED", "PARKING"):
        found.append("park the database")
    return found


def removals(spec: db.AstraDatabaseSpec, database: models.Database) -> list[str]:
    """What converging to the spec would remove (regions), in words."""
    return [c.description.removeprefix("remove ") for c in _removals(spec, database)]


def allowed(change: Change, database: models.Database) -> bool:
    """Whether Astra's availableActions permit the change (an empty list is not trusted)."""
    actions = set(database.available_actions)
    return not actions or ACTIONS[change.kind] in actions
