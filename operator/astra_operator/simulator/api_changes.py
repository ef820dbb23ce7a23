"""Changes inside a database: keyspaces, datacenters (regions) and secure connect bundles."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from astra_operator.simulator import catalog, guards, ids, lifecycle, model, render, wire
from astra_operator.simulator.pipeline import Call, Route

# --- keyspaces ------------------------------------------------------------------------------------


def _keyspace_name(call: Call) -> str:
    name = call.param("keyspaceName")
    if not guards.KEYSPACE_NAME.match(name):
        raise wire.ApiError(422, f"invalid keyspace name {name!r}")
    return name


async def add_keyspace(call: Call) -> web.StreamResponse:
    """``POST .../keyspaces/{name}``: 201; the database spends a while in MAINTENANCE.

    A keyspace that exists: 201 and nothing changes (as Astra documents it), or 422 when the
    ``existingKeyspace`` variant asks for it.
    """
    db = call.database()
    name = _keyspace_name(call)
    guards.require_action(db, "addKeyspace")
    if name in db.keyspaces:
        if call.world.variants.existing_keyspace == 422:
            raise wire.ApiError(422, f"keyspace {name} already exists")
        return wire.empty(201)
    lifecycle.add_keyspace(db, call.world.timing, call.world.now(), name)
    return wire.empty(201)


async def drop_keyspace(call: Call) -> web.StreamResponse:
    """``DELETE .../keyspaces/{name}``: 202, or 204 when there is no such keyspace."""
    db = call.database()
    name = call.param("keyspaceName")
    if name not in db.keyspaces:
        return wire.empty(204)
    guards.require_action(db, "removeKeyspace")
    if len(db.keyspaces) == 1:
        raise wire.ApiError(422, "a database must keep at least one keyspace")
    lifecycle.drop_keyspace(db, call.world.timing, call.world.now(), name)
    return wire.empty(202)


# --- datacenters ----------------------------------------------------------------------------------


async def list_datacenters(call: Call) -> web.StreamResponse:
    """``GET .../datacenters[?all=true]``: live datacenters, or terminated ones too with ``all``."""
    db = call.database()
    every = (call.query("all") or "").lower() == "true"
    chosen = db.datacenters if every else db.live_datacenters()
    return wire.ok(render.datacenters(db, chosen, call.world.rng, reshuffle=call.reshuffle))


def _region_problems(db: model.Database, item: dict[str, Any]) -> list[tuple[int, str]]:
    tier = str(item.get("tier") or "")
    provider = str(item.get("cloudProvider") or "").upper()
    region = str(item.get("region") or "")
    found: list[tuple[int, str]] = []
    if tier.lower() != db.tier.lower():
        found.append((wire.UNSUPPORTED_TIER, "unsupported database tier"))
    if provider not in catalog.PROVIDERS:
        found.append((wire.UNSUPPORTED_PROVIDER, "unsupported cloud provider"))
    if catalog.find_region(provider, region) is None:
        found.append((wire.UNSUPPORTED_REGION, "unsupported region"))
    if provider != db.provider:
        message = f'provider "{item.get("cloudProvider") or ""}" not supported to add datacenters'
        found.append((wire.DATACENTER_PROVIDER, message))
    return found


def _one_region(body: object) -> dict[str, Any]:
    if not isinstance(body, list) or not body:
        raise wire.ApiError(400, "the body must be a JSON array with one datacenter")
    if len(body) > 1:
        raise wire.ApiError(422, "only one datacenter can be added at a time")
    return guards.json_object(body[0], "a datacenter")


async def add_datacenter(call: Call) -> web.StreamResponse:
    """``POST .../datacenters`` with a one-item array: 201; MAINTENANCE while it deploys."""
    db = call.database()
    item = _one_region(await call.body())
    guards.require_action(db, "addDatacenters")
    problems = _region_problems(db, item)
    if problems:
        (code, message), *rest = problems
        raise wire.ApiError(422, message, code, rest)
    region = str(item["region"])
    if any(dc.region == region for dc in db.live_datacenters()):
        raise wire.ApiError(422, f"the database already has a datacenter in {region}")
    world = call.world
    dc = db.next_datacenter(db.provider, region, ids.rfc3339(world.wall()))
    lifecycle.add_region(db, world.timing, world.now(), dc)
    return wire.empty(201)


async def terminate_datacenter(call: Call) -> web.StreamResponse:
    """``POST .../datacenters/{dcId}/terminate``: 202; the primary region cannot go."""
    db = call.database()
    dc_id = call.param("datacenterId")
    dc = next((d for d in db.live_datacenters() if d.id == dc_id), None)
    if dc is None:
        raise wire.ApiError(404, f"datacenter {dc_id} not found")
    guards.require_action(db, "terminateDatacenter")
    if dc is db.datacenters[0]:
        raise wire.ApiError(
            400, "the primary datacenter cannot be terminated; terminate the database instead"
        )
    lifecycle.remove_region(db, call.world.timing, call.world.now(), dc)
    return wire.empty(202)


# --- secure connect bundle ------------------------------------------------------------------------


async def secure_bundle(call: Call) -> web.StreamResponse:
    """``POST .../secureBundleURL``: one object, or with ``all=true`` one per datacenter."""
    db = call.database()
    guards.require_action(db, "getCreds")
    signature = f"{call.world.rng.getrandbits(128):032x}"
    ready = [dc for dc in db.datacenters if dc.state == "ACTIVE"]
    if (call.query("all") or "").lower() == "true":
        return wire.ok([render.creds_url(dc, db.name, signature) for dc in ready])
    return wire.ok(render.creds_url(ready[0], db.name, signature))


_DB = "/v2/databases/{databaseId}"
_DC_TERMINATE = f"{_DB}/datacenters/{{datacenterId}}/terminate"
ROUTES = [
    Route("POST", f"{_DB}/keyspaces/{{keyspaceName}}", add_keyspace, "db-keyspace-create"),
    Route("DELETE", f"{_DB}/keyspaces/{{keyspaceName}}", drop_keyspace, "db-keyspace-drop"),
    Route("GET", f"{_DB}/datacenters", list_datacenters, "org-db-view"),
    Route("POST", f"{_DB}/datacenters", add_datacenter, "db-manage-region"),
    Route("POST", _DC_TERMINATE, terminate_datacenter, "db-manage-region"),
    Route("POST", f"{_DB}/secureBundleURL", secure_bundle, "db-cql"),
]
