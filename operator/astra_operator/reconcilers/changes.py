"""Carry out one day-2 change (park, unpark, resize, keyspace, region) through the API port."""

from __future__ import annotations

from astra_operator.astra import models
from astra_operator.logic import changes
from astra_operator.reconcilers import ports
from astra_operator.resources import database as db

EVENT_REASONS = {
    "unpark": "UnparkRequested",
    "park": "ParkRequested",
    "resize": "ResizeRequested",
    "add_keyspace": "KeyspaceAdded",
    "add_region": "RegionAdded",
    "remove_region": "RegionRemoved",
}


async def apply(
    change: changes.Change,
    spec: db.AstraDatabaseSpec,
    database: models.Database,
    astra: ports.DatabasesPort,
    token: str,
) -> None:
    """Make the API call for ``change``; errors propagate to the caller's translator."""
    db_id, target = database.id, change.target
    if change.kind == "park":
        await astra.park_database(db_id, token=token)
    elif change.kind == "unpark":
        await astra.unpark_database(db_id, token=token)
    elif change.kind == "resize":
        await astra.resize_database(db_id, int(target or 0), token=token)
    elif change.kind == "add_keyspace":
        await astra.add_keyspace(db_id, str(target), token=token)
    elif change.kind == "add_region":
        datacenter = models.DatacenterCreate(
            cloud_provider=spec.cloud_provider,
            region=str(target),
            tier=spec.tier,
            capacity_units=None if spec.tier == db.SERVERLESS else spec.capacity_units,
        )
        await astra.add_datacenter(db_id, datacenter, token=token)
    else:
        await astra.terminate_datacenter(db_id, str(target), token=token)
