"""Access-list (IP allow-list) endpoints; their errors are plain text, like the real service's."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from astra_operator.simulator import guards, ids, model, render, wire
from astra_operator.simulator.pipeline import Call, Route

CIDR = re.compile(r"^([0-9]{1,3}\.){3}[0-9]{1,3}(/([0-9]|[1-2][0-9]|3[0-2]))?$")


def _database(call: Call) -> model.Database:
    db = call.database()  # 404 (rendered as text by the route's style)
    if db.status in ("TERMINATING", "TERMINATED"):
        raise wire.ApiError(404, "access list not found")
    return db


def _entry(raw: object, stamp: str) -> model.AccessEntry:
    item = guards.json_object(raw, "an address")
    address, enabled, description = (
        item.get("address"),
        item.get("enabled"),
        item.get("description"),
    )
    if not isinstance(address, str) or not CIDR.match(address):
        raise wire.ApiError(400, f"invalid address {address!r}: expected IPv4 CIDR")
    if not isinstance(enabled, bool) or not isinstance(description, str):
        raise wire.ApiError(400, "address, enabled and description are all required")
    return model.AccessEntry(address, enabled, description, stamp)


def _upsert(db: model.Database, entries: list[model.AccessEntry]) -> None:
    by_address = {e.address: e for e in db.access}
    for entry in entries:
        if entry.address in by_address:
            db.access[db.access.index(by_address[entry.address])] = entry
        else:
            db.access.append(entry)
        by_address[entry.address] = entry


def _request(call: Call, raw: object) -> tuple[list[model.AccessEntry], bool | None]:
    """An ``AccessListRequest``: the addresses and the optional enabled flag."""
    body = guards.json_object(raw)
    stamp = ids.go_time(call.world.wall())
    addresses = body.get("addresses", [])
    if not isinstance(addresses, list):
        raise wire.ApiError(400, "addresses must be an array")
    config: Any = body.get("configurations", {})
    enabled = config.get("accessListEnabled") if isinstance(config, dict) else None
    if enabled is not None and not isinstance(enabled, bool):
        raise wire.ApiError(400, "configurations.accessListEnabled must be a boolean")
    return [_entry(item, stamp) for item in addresses], enabled


async def get_list(call: Call) -> web.StreamResponse:
    """``GET .../access-list``."""
    return wire.ok(render.access_list(_database(call)))


async def add_addresses(call: Call) -> web.StreamResponse:
    """``POST .../access-list`` with an array of addresses: 204."""
    db = _database(call)
    body = await call.body()
    if not isinstance(body, list):
        raise wire.ApiError(400, "the body must be an array of addresses")
    stamp = ids.go_time(call.world.wall())
    _upsert(db, [_entry(item, stamp) for item in body])
    return wire.empty(204)


async def replace_list(call: Call) -> web.StreamResponse:
    """``PUT .../access-list``: the whole list and its enabled flag replaced: 204."""
    db = _database(call)
    entries, enabled = _request(call, await call.body())
    db.access = entries
    db.access_enabled = bool(enabled)
    return wire.empty(204)


async def update_list(call: Call) -> web.StreamResponse:
    """``PATCH .../access-list``: update (or add) the given entries, maybe toggle: 204."""
    db = _database(call)
    entries, enabled = _request(call, await call.body())
    _upsert(db, entries)
    if enabled is not None:
        db.access_enabled = enabled
    return wire.empty(204)


async def delete_addresses(call: Call) -> web.StreamResponse:
    """``DELETE .../access-list[?addresses=...]``: only the FIRST address is honoured (real bug)."""
    db = _database(call)
    first = call.request.query.getone("addresses", None)
    if first is None:
        db.access = []
    else:
        db.access = [e for e in db.access if e.address != first]
    return wire.empty(204)


async def list_all(call: Call) -> web.StreamResponse:
    """``GET /v2/access-lists``: every database's list the token may read."""
    iam, token = call.world.iam, call.token
    body = [
        render.access_list(db)
        for db in call.world.every_database()
        if db.status not in ("TERMINATING", "TERMINATED")
        and iam.allows(token, "accesslist-read", db.id)
    ]
    return wire.ok(body)


def _check_address(raw: object) -> str | None:
    """Why an ``AddressRequest`` is unacceptable, or None."""
    try:
        _entry(raw, "")
    except wire.ApiError as problem:
        return problem.message
    return None


async def validate(call: Call) -> web.StreamResponse:
    """``POST /v2/access-list/validate``: 200 ``{"valid", "validationFailures"}``, never 400.

    Takes an ``AccessListRequest`` (or a bare array of addresses) and says what is wrong with it.
    """
    try:
        body = await call.body()
    except wire.ApiError as problem:
        return wire.ok({"valid": False, "validationFailures": [problem.message]})
    failures: list[str] = []
    addresses: object = body
    if isinstance(body, dict):
        addresses = body.get("addresses", [])
        config = body.get("configurations", {})
        enabled = config.get("accessListEnabled") if isinstance(config, dict) else None
        if not isinstance(config, dict) or not isinstance(enabled, bool | None):
            failures.append("configurations.accessListEnabled must be a boolean")
    if not isinstance(addresses, list):
        failures.append("addresses must be an array")
        addresses = []
    failures += [problem for problem in map(_check_address, addresses) if problem]
    return wire.ok({"valid": not failures, "validationFailures": failures})


TEMPLATE: dict[str, Any] = {
    "addresses": [
        {"address": "137.187.23.0/24", "enabled": True, "description": "an example network"}
    ],
    "configurations": {"accessListEnabled": True},
}


async def template(call: Call) -> web.StreamResponse:
    """``POST /v2/access-list/template``: an example ``AccessListRequest`` to start from."""
    return wire.ok(TEMPLATE)


_PATH = "/v2/databases/{databaseId}/access-list"
_TEXT = wire.Style.TEXT
ROUTES = [
    Route("GET", _PATH, get_list, "accesslist-read", _TEXT),
    Route("POST", _PATH, add_addresses, "accesslist-write", _TEXT),
    Route("PUT", _PATH, replace_list, "accesslist-write", _TEXT),
    Route("PATCH", _PATH, update_list, "accesslist-write", _TEXT),
    Route("DELETE", _PATH, delete_addresses, "accesslist-write", _TEXT),
    Route("GET", "/v2/access-lists", list_all, "accesslist-read", _TEXT),
    Route("POST", "/v2/access-list/validate", validate, "accesslist-read", _TEXT),
    Route("POST", "/v2/access-list/template", template, "accesslist-read", _TEXT),
]
