"""Turn simulator records into the exact JSON shapes the real DevOps API puts on the wire."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import Any

from astra_operator.simulator import catalog, ids, model

Json = dict[str, Any]

_BUNDLE_HOST = "https://bundles.astra-simulator.invalid"  # never resolves: the bundles are fake


def _apps(db_id: str, region: str) -> str:
    return f"https://{db_id}-{region}.apps.astra.datastax.com"


def _urls(db_id: str, region: str) -> Json:
    apps = _apps(db_id, region)
    return {
        "grafanaUrl": f"https://{db_id}-{region}.dashboard.astra.datastax.com"
        "/d/cloud/dse-cluster-condensed?refresh=30s&orgId=1&kiosk=tv",
        "cqlshUrl": f"{apps}/cqlsh",
        "graphqlUrl": f"{apps}/api/graphql",
        "dataEndpointUrl": f"{apps}/api/rest",
    }


def bundle_url(dc_id: str, db_name: str, kind: str, signature: str) -> str:
    """A pre-signed-looking link, valid "5 minutes" like the real S3 ones."""
    return (
        f"{_BUNDLE_HOST}/{dc_id}/{kind}secure-connect-{db_name}.zip"
        f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=300&X-Amz-Signature={signature}"
    )


def _bundle_fields(dc: model.Datacenter, db_name: str, signature: str) -> Json:
    return {
        "secureBundleUrl": bundle_url(dc.id, db_name, "", signature),
        "secureBundleInternalUrl": bundle_url(dc.id, db_name, "internal-", signature),
        "secureBundleMigrationProxyUrl": bundle_url(dc.id, db_name, "proxy-", signature),
        "secureBundleMigrationProxyInternalUrl": bundle_url(
            dc.id, db_name, "proxy-internal-", signature
        ),
    }


def datacenter(dc: model.Datacenter, db: model.Database, signature: str) -> Json:
    """A ``Datacenter`` as found in ``info.datacenters`` and ``GET .../datacenters``."""
    region = catalog.find_region(dc.provider, dc.region)
    return {
        "id": dc.id,
        "name": dc.name,
        "tier": dc.tier,
        "status": dc.state if db.classic else "",
        "dateCreated": dc.created,
        "cloudProvider": dc.provider,
        "region": dc.region,
        "regionZone": region.zone if region else "na",
        "regionClassification": region.classification if region else "standard",
        "capacityUnits": dc.capacity_units,
        **_urls(db.id, dc.region),
        **_bundle_fields(dc, db.name, signature),
    }


def datacenter_order(db: model.Database, dcs: Sequence[model.Datacenter]) -> list[model.Datacenter]:
    """``dcs`` (in creation order) in the order this database always lists them.

    Astra gives no creation order, but does not reshuffle per request either: the order is fixed
    per database by its seed, and never the creation order (the first-created datacenter, the
    primary region, is never first when there are two or more).
    """

    def rank(dc: model.Datacenter) -> bytes:
        return hashlib.sha256(f"{db.order_seed}/{dc.id}".encode()).digest()

    ordered = sorted(dcs, key=rank)
    if len(ordered) > 1 and ordered[0] is dcs[0]:
        ordered = ordered[1:] + ordered[:1]
    return ordered


def _reshuffled(items: list[Json], rng: random.Random) -> list[Json]:
    """``items`` in another random order (the ``shuffle_datacenters`` fault)."""
    if len(items) < 2:
        return items
    shuffled = list(items)
    while shuffled == items:
        rng.shuffle(shuffled)
    return shuffled


def datacenters(
    db: model.Database,
    dcs: Sequence[model.Datacenter],
    rng: random.Random,
    *,
    reshuffle: bool = False,
) -> list[Json]:
    """``dcs`` rendered in the database's fixed order, or reshuffled when a fault asks for it."""
    body = [datacenter(dc, db, f"{rng.getrandbits(128):032x}") for dc in datacenter_order(db, dcs)]
    return _reshuffled(body, rng) if reshuffle else body


def _storage(db: model.Database) -> Json:
    if db.classic:
        units = db.capacity_units
        return {
            "nodeCount": 3 * units,
            "replicationFactor": 3,
            "totalStorage": 500 * units,
            "usedStorage": 0,
        }
    return {"nodeCount": 3, "replicationFactor": 1, "totalStorage": 5, "usedStorage": 0}


def _info(db: model.Database, rng: random.Random, reshuffle: bool) -> Json:
    dcs = datacenters(db, db.live_datacenters(), rng, reshuffle=reshuffle)
    info: Json = {
        "name": db.name,
        "keyspace": db.keyspace,
        "keyspaces": list(db.keyspaces),
        "additionalKeyspaces": [k for k in db.keyspaces if k != db.keyspace],
        "cloudProvider": db.provider,
        "region": db.region,
        "tier": db.tier,
        "capacityUnits": db.capacity_units,
        "datacenters": dcs,
        "engineType": None,  # not in the spec; null in real answers (docs/simulator-admin-api.md)
    }
    if db.db_type:
        info["dbType"] = db.db_type
    return info


def database(db: model.Database, rng: random.Random, *, reshuffle: bool = False) -> Json:
    """A ``Database`` as ``GET /v2/databases[/{id}]`` serves it (call ``db.settle`` first)."""
    created = ids.rfc3339(db.created_wall)
    terminated = db.terminated_wall
    return {
        "id": db.id,
        "orgId": db.org_id,
        "ownerId": db.owner_id,
        "creationTime": created,
        "terminationTime": ids.GO_ZERO_TIME if terminated is None else ids.rfc3339(terminated),
        "lastUsageTime": created,
        "info": _info(db, rng, reshuffle),
        "status": db.status,
        "observedStatus": db.status,
        "storage": _storage(db),
        "availableActions": model.available_actions(db.status, db.classic),
        "studioUrl": "",  # a string in the schema; these databases offer no Studio
        **_urls(db.id, db.region),
    }


def creds_url(dc: model.Datacenter, db_name: str, signature: str) -> Json:
    """A ``CredsURL`` (note the real, intentionally misspelled ``datcenterID`` twin)."""
    return {
        "datacenterID": dc.id,
        "datcenterID": dc.id,
        "downloadURL": bundle_url(dc.id, db_name, "", signature),
        "downloadURLInternal": bundle_url(dc.id, db_name, "internal-", signature),
        "downloadURLMigrationProxy": bundle_url(dc.id, db_name, "proxy-", signature),
        "downloadURLMigrationProxyInternal": bundle_url(
            dc.id, db_name, "proxy-internal-", signature
        ),
    }


def access_list(db: model.Database) -> Json:
    """An ``AccessListResponse``."""
    return {
        "organizationId": db.org_id,
        "databaseId": db.id,
        "addresses": [
            {
                "address": e.address,
                "enabled": e.enabled,
                "description": e.description,
                "lastUpdateDateTime": e.updated,
            }
            for e in db.access
        ],
        "configurations": {"accessListEnabled": db.access_enabled},
    }
