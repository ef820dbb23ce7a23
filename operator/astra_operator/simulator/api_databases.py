"""Database endpoints: list, create, get, terminate, park, unpark, resize, reset password."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from aiohttp import web

from astra_operator.simulator import api_pcus, catalog, guards, lifecycle, pcu, render, wire
from astra_operator.simulator.pipeline import Call, Route
from astra_operator.simulator.world import World

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MAX_GROWTH = 3  # capacity units added by one resize at most
MIN_PASSWORD = 6
_TIERS = {t.lower(): t for t in (*catalog.CLASSIC_TIERS, catalog.SERVERLESS_TIER)}


# --- list -----------------------------------------------------------------------------------------


def _include(raw: str | None) -> Callable[[str], bool]:
    value = (raw or "nonterminated").lower()
    if value == "nonterminated":
        return lambda status: status != "TERMINATED"
    if value == "all":
        return lambda status: True
    if value not in catalog.INCLUDE_STATUSES:
        raise wire.ApiError(400, f"invalid include value {raw!r}")
    wanted = value.upper()
    return lambda status: status == wanted


def _provider(raw: str | None) -> str | None:
    value = (raw or "ALL").upper()
    if value == "ALL":
        return None
    if value not in catalog.PROVIDERS:
        raise wire.ApiError(400, f"invalid provider value {raw!r}")
    return value


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise wire.ApiError(400, f"limit must be an integer, not {raw!r}") from None
    if limit < 1:
        raise wire.ApiError(400, "limit must be at least 1")
    return min(limit, MAX_LIMIT)  # the real API silently caps at 100


def _cursor(world: World, raw: str | None) -> int:
    if not raw:
        return -1
    position = world.position(raw)
    if position is None:
        raise wire.ApiError(400, f"starting_after: unknown database id {raw!r}")
    return position


async def list_databases(call: Call) -> web.StreamResponse:
    """``GET /v2/databases``: a bare array, creation order, cursor = last id of the page before."""
    include = _include(call.query("include"))
    provider = _provider(call.query("provider"))
    limit = _limit(call.query("limit"))
    after = _cursor(call.world, call.query("starting_after"))
    iam, token, rng = call.world.iam, call.token, call.world.rng
    page: list[dict[str, Any]] = []
    for db in call.world.every_database():
        if db.seq <= after or not include(db.status):
            continue
        if provider is not None and db.provider != provider:
            continue
        if not iam.allows(token, "org-db-view", db.id):
            continue  # the real API silently leaves out what the token may not see
        page.append(render.database(db, rng, reshuffle=call.reshuffle))
        if len(page) == limit:
            break
    return wire.ok(page)


# --- create ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _NewDatabase:
    name: str
    provider: str
    region: str
    tier: str
    units: int
    keyspace: str
    db_type: str | None
    pcu_group: str | None = None  # not in the spec; clients send it to place the database


def _problems(new: _NewDatabase) -> list[tuple[int, str]]:
    """Semantic problems (422), each as the real API reports them."""
    found: list[tuple[int, str]] = []
    if new.tier not in _TIERS.values():
        found.append((wire.UNSUPPORTED_TIER, "unsupported database tier"))
    if new.provider not in catalog.PROVIDERS:
        found.append((wire.UNSUPPORTED_PROVIDER, "unsupported cloud provider"))
    elif catalog.find_region(new.provider, new.region) is None:
        found.append((wire.UNSUPPORTED_REGION, "unsupported region"))
    if not 1 <= new.units <= MAX_LIMIT:
        found.append((wire.INVALID, "capacityUnits must be between 1 and 100"))
    elif new.tier == catalog.SERVERLESS_TIER and new.units != 1:
        found.append((wire.INVALID, "capacityUnits must be 1 for serverless databases"))
    if not guards.KEYSPACE_NAME.match(new.keyspace):
        found.append((wire.INVALID, f"invalid keyspace name {new.keyspace!r}"))
    if new.db_type is not None and (new.db_type != "vector" or new.tier != "serverless"):
        found.append((wire.INVALID, 'dbType must be "vector" on a serverless database'))
    return found


def _parse_create(raw: object) -> _NewDatabase:
    body = guards.json_object(raw)
    keyspace = body.get("keyspace") or "default_keyspace"
    db_type = body.get("dbType")
    pcu_group = body.get("pcuGroupUUID") or None
    if not all(isinstance(v, str | None) for v in (db_type, pcu_group)) or not isinstance(
        keyspace, str
    ):
        raise wire.ApiError(400, "keyspace, dbType and pcuGroupUUID must be strings")
    tier = guards.text(body, "tier")
    new = _NewDatabase(
        name=guards.text(body, "name"),
        provider=guards.text(body, "cloudProvider").upper(),  # "gcp" works, as with Terraform
        region=guards.text(body, "region"),
        tier=_TIERS.get(tier.lower(), tier),
        units=guards.integer(body, "capacityUnits"),
        keyspace=keyspace,
        db_type=db_type.lower() if db_type else None,
        pcu_group=pcu_group,
    )
    problems = _problems(new)
    if problems:
        (code, message), *rest = problems
        raise wire.ApiError(422, message, code, rest)
    return new


def _pcu_group(world: World, new: _NewDatabase) -> pcu.PcuGroup | None:
    """The PCU group the new database goes in (422 if unknown or elsewhere), or None."""
    if new.pcu_group is None:
        return None
    group = world.pcu_group(new.pcu_group)
    if group is None:
        raise wire.ApiError(422, f"PCU group {new.pcu_group} not found")
    if (group.provider, group.region) != (new.provider, new.region):
        raise wire.ApiError(422, "the PCU group is in another cloud provider or region")
    return group


async def create_database(call: Call) -> web.StreamResponse:
    """``POST /v2/databases``: 201, empty body, ``Location: <bare id>``; names are not unique."""
    new = _parse_create(await call.body())
    world = call.world
    group = _pcu_group(world, new)
    db = world.new_database(
        owner=call.token.client_id,
        name=new.name,
        provider=new.provider,
        region=new.region,
        tier=new.tier,
        units=new.units,
        db_type=new.db_type,
        keyspace=new.keyspace,
    )
    if group is not None:
        api_pcus.associate(call, group, db.datacenters[0].id)
    hide = world.faults.take_for_create("not_found_after_create")
    if hide is not None:
        db.hidden_until = world.now() + hide.seconds
    failing = world.faults.take_for_create("create_error") is not None
    lifecycle.provision(db, world.timing, world.now(), fail=failing)
    return wire.empty(201, {"Location": db.id})


# --- one database ---------------------------------------------------------------------------------


async def get_database(call: Call) -> web.StreamResponse:
    """``GET /v2/databases/{id}``: TERMINATED stays readable for a while, then 404."""
    return wire.ok(render.database(call.database(), call.world.rng, reshuffle=call.reshuffle))


async def terminate(call: Call) -> web.StreamResponse:
    """``POST .../terminate``: 202; 409 in MAINTENANCE; repeating it is harmless."""
    db = call.database()
    if db.status in ("TERMINATING", "TERMINATED"):
        return wire.empty(202)
    guards.require_action(db, "terminate")
    lifecycle.terminate(db, call.world.timing, call.world.now())
    return wire.empty(202)


async def park(call: Call) -> web.StreamResponse:
    """``POST .../park``: classic and ACTIVE only."""
    db = call.database()
    guards.require_action(db, "park")
    lifecycle.park(db, call.world.timing, call.world.now())
    return wire.empty(202)


async def unpark(call: Call) -> web.StreamResponse:
    """``POST .../unpark``: classic and PARKED only."""
    db = call.database()
    guards.require_action(db, "unpark")
    lifecycle.unpark(db, call.world.timing, call.world.now())
    return wire.empty(202)


async def resize(call: Call) -> web.StreamResponse:
    """``POST .../resize``: classic only; the new total must grow by 1 to 3 units."""
    db = call.database()
    guards.require_action(db, "resize")
    units = guards.integer(guards.json_object(await call.body()), "capacityUnits")
    if not 1 <= units <= MAX_LIMIT:
        raise wire.ApiError(400, "capacityUnits must be between 1 and 100")
    if units <= db.capacity_units:
        raise wire.ApiError(
            400,
            f"capacityUnits must be greater than the current {db.capacity_units}: "
            "reducing capacity is not supported at this time",
        )
    if units > db.capacity_units + MAX_GROWTH:
        raise wire.ApiError(400, f"capacityUnits can grow by at most {MAX_GROWTH} per resize")
    lifecycle.resize(db, call.world.timing, call.world.now(), units)
    return wire.empty(202)


async def reset_password(call: Call) -> web.StreamResponse:
    """``POST .../resetPassword``: classic and ACTIVE only; 202 (nothing else to see)."""
    db = call.database()
    guards.require_action(db, "resetPassword")
    body = guards.json_object(await call.body())
    guards.text(body, "username")
    if len(guards.text(body, "password")) < MIN_PASSWORD:
        raise wire.ApiError(400, f"password must have at least {MIN_PASSWORD} characters")
    return wire.empty(202)


_DB = "/v2/databases/{databaseId}"
ROUTES = [
    Route("GET", "/v2/databases", list_databases, "org-db-view"),
    Route("POST", "/v2/databases", create_database, "org-db-create"),
    Route("GET", _DB, get_database, "org-db-view"),
    Route("POST", f"{_DB}/terminate", terminate, "org-db-terminate"),
    Route("POST", f"{_DB}/park", park, "org-db-suspend"),
    Route("POST", f"{_DB}/unpark", unpark, "org-db-suspend"),
    Route("POST", f"{_DB}/resize", resize, "org-db-expand"),
    # The spec names org-db-create; roles grant it as org-db-passwordreset (facts sheet).
    Route("POST", f"{_DB}/resetPassword", reset_password, "org-db-passwordreset"),
]
