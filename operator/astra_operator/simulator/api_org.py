"""The organisation and its catalogues: ``currentOrg``, serverless regions, classic combinations."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from astra_operator.simulator import catalog, wire
from astra_operator.simulator.pipeline import Call, Route

_REGION_TYPES = {
    "": ("serverless",),
    "serverless": ("serverless",),
    "vector": ("vector",),
    "all": ("serverless", "vector"),
}
_CLASSIC_LIMITS = {"developer": (1, 1)}
_NO_COST = {
    f"costPer{period}{kind}Cents": 0.0
    for kind in ("", "Parked")
    for period in ("Min", "Hour", "Day", "Month")
}  # tier -> (database count limit, capacity unit limit)


async def current_org(call: Call) -> web.StreamResponse:
    """``GET /v2/currentOrg``: ``{"id", "name"}`` (the spec only lists id; the wire has both)."""
    return wire.ok({"id": call.world.org_id, "name": call.world.org_name})


def _serverless(region: catalog.Region, region_type: str) -> dict[str, Any]:
    return {
        "cloudProvider": region.provider,
        "name": region.name,
        "displayName": region.display,
        "zone": region.zone,
        "classification": region.classification,
        "region_type": region_type,
        "enabled": True,
        "reservedForQualifiedUsers": region.classification == "premium_plus",
    }


async def serverless_regions(call: Call) -> web.StreamResponse:
    """``GET /v2/regions/serverless[?region-type=serverless|vector|all][&filter-by-org=...]``.

    ``filter-by-org=enabled`` keeps the regions enabled for the organisation; ``disabled`` (or no
    value) turns that filter off: every region, whether the organisation may use it or not.
    """
    kinds = _REGION_TYPES.get((call.query("region-type") or "").lower())
    if kinds is None:
        raise wire.ApiError(400, "region-type must be serverless, vector or all")
    body = [_serverless(r, kind) for kind in kinds for r in catalog.REGIONS]
    if (call.query("filter-by-org") or "").lower() == "enabled":
        body = [item for item in body if item["enabled"]]
    return wire.ok(body)


def _combination(tier: str, region: catalog.Region, used: int) -> dict[str, Any]:
    count_limit, unit_limit = _CLASSIC_LIMITS.get(tier, (50, 100))
    return {
        "tier": tier,
        "cloudProvider": region.provider,
        "description": f"{tier} on {region.display}",
        "region": region.name,
        "regionDisplay": region.display,
        "regionContinent": region.zone,
        "cost": dict(_NO_COST),
        "databaseCountUsed": used,
        "databaseCountLimit": count_limit,
        "capacityUnitsUsed": used,
        "capacityUnitsLimit": unit_limit,
        "defaultStoragePerCapacityUnitGb": 500,
    }


async def available_regions(call: Call) -> web.StreamResponse:
    """``GET /v2/availableRegions``: the classic catalogue (no serverless tier in it).

    Query parameters (clients send ``filter-by-org``) change nothing: every combination is served.
    """
    used: dict[str, int] = {}
    for db in call.world.every_database():
        if db.classic and db.status != "TERMINATED":
            used[db.tier] = used.get(db.tier, 0) + 1
    body = [
        _combination(tier, region, used.get(tier, 0))
        for tier in sorted(catalog.CLASSIC_TIERS)
        for region in catalog.REGIONS
    ]
    return wire.ok(body)


ROUTES = [
    Route("GET", "/v2/currentOrg", current_org, None),
    Route("GET", "/v2/regions/serverless", serverless_regions, "org-db-create", wire.Style.NULL),
    Route("GET", "/v2/availableRegions", available_regions, "org-db-create"),
]
