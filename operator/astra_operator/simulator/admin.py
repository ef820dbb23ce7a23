"""The /_sim control API for tests and demos (no Astra token; see docs/simulator-admin-api.md)."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from astra_operator.simulator import faults, iam, lifecycle, model, render, wire
from astra_operator.simulator.timing import Timing
from astra_operator.simulator.world import World

AdminHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WORLD: web.AppKey[World] = web.AppKey("world", World)


class AdminError(Exception):
    """Answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _json(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise AdminError(400, "the body is not valid JSON") from None


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise AdminError(400, "the body must be a JSON object")
    return body


def _guarded(handler: AdminHandler) -> AdminHandler:
    """Render :class:`AdminError` as ``{"error": ...}``."""

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except AdminError as error:
            return wire.ok({"error": str(error)}, error.status)

    return handle


# --- inspection -----------------------------------------------------------------------------------


async def get_state(request: web.Request) -> web.StreamResponse:
    """Everything the simulator holds, databases as GET serves them (TERMINATED included)."""
    world = request.app[WORLD]
    directory = world.iam
    return wire.ok(
        {
            "orgId": world.org_id,
            "timing": world.timing.label,
            "databases": [render.database(db, world.rng) for db in world.every_database()],
            "pcuGroups": [g.as_json() for g in map(world.pcu_group, list(world.pcus)) if g],
            "roles": [directory.role_json(role) for role in directory.roles.values()],
            "tokens": [
                {"clientId": t.client_id, "roles": list(t.roles)} for t in directory.tokens.values()
            ],
            "faults": [f.as_json() for f in world.faults.faults],
        }
    )


async def get_requests(request: web.Request) -> web.StreamResponse:
    """Per-endpoint request counts, keyed ``"<METHOD> <route template>"``."""
    counts = request.app[WORLD].counts
    return wire.ok({"total": sum(counts.values()), "counts": dict(counts)})


async def get_request_log(request: web.Request) -> web.StreamResponse:
    """The logged requests at or after ``since`` (unix seconds; default: all), oldest first,
    and how many were dropped from the full log since the last reset."""
    world = request.app[WORLD]
    raw = request.query.get("since", "0")
    try:
        since = float(raw)
    except ValueError:
        since = math.nan
    if math.isnan(since):
        raise AdminError(400, f"since must be a number of unix seconds, not {raw!r}")
    entries = [r._asdict() for r in world.requests if r.at >= since]
    dropped = max(0, sum(world.counts.values()) - len(world.requests))
    return wire.ok({"requests": entries, "dropped": dropped})


async def reset_requests(request: web.Request) -> web.StreamResponse:
    """Zero the counters and empty the request log."""
    request.app[WORLD].forget_requests()
    return wire.ok({"total": 0, "counts": {}})


# --- faults ---------------------------------------------------------------------------------------


async def add_faults(request: web.Request) -> web.StreamResponse:
    """Queue one fault object or a list of them; answers every queued fault."""
    body = await _json(request)
    try:
        parsed = [faults.parse(item) for item in (body if isinstance(body, list) else [body])]
    except ValueError as exc:
        raise AdminError(400, str(exc)) from None
    queue = request.app[WORLD].faults
    queue.add(parsed)
    return wire.ok({"faults": [f.as_json() for f in queue.faults]})


async def list_faults(request: web.Request) -> web.StreamResponse:
    """The faults still queued (with their remaining counts)."""
    return wire.ok({"faults": [f.as_json() for f in request.app[WORLD].faults.faults]})


async def clear_faults(request: web.Request) -> web.StreamResponse:
    """Drop every queued fault."""
    request.app[WORLD].faults.clear()
    return wire.ok({"faults": []})


# --- tokens, roles, timing, reset -----------------------------------------------------------------


def _role_ids(world: World, refs: Any) -> list[str]:
    if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
        raise AdminError(400, "roles must be a non-empty list of role ids or names")
    found = [world.iam.find_role(ref) for ref in refs]
    missing = [ref for ref, role in zip(refs, found, strict=True) if role is None]
    if missing:
        raise AdminError(400, f"unknown role(s): {', '.join(missing)}")
    return [role.id for role in found if role is not None]


async def add_token(request: web.Request) -> web.StreamResponse:
    """Mint a token bound to roles given by id or name (optionally with a chosen token string)."""
    world = request.app[WORLD]
    body = _object(await _json(request))
    roles = _role_ids(world, body.get("roles"))
    chosen = body.get("token")
    if chosen is not None and (not isinstance(chosen, str) or chosen in world.iam.tokens):
        raise AdminError(400, "token must be a new AstraCS:<clientId>:<hex> string")
    try:
        token, _ = world.iam.issue(roles, token=chosen)
    except ValueError as exc:
        raise AdminError(400, str(exc)) from None
    return wire.ok({"token": token.token, "clientId": token.client_id})


async def put_role(request: web.Request) -> web.StreamResponse:
    """Change any role (built-in ones too) out of band; effective for every bound token at once."""
    world = request.app[WORLD]
    role = world.iam.roles.get(request.match_info["roleId"])
    if role is None:
        raise AdminError(404, f"role {request.match_info['roleId']} not found")
    body = _object(await _json(request))
    name = body.get("name", role.name)
    policy = iam.parse_policy(body.get("policy", role.policy.as_json()))
    if not isinstance(name, str) or not name or isinstance(policy, str):
        raise AdminError(400, policy if isinstance(policy, str) else "name must be a string")
    world.iam.update_role(role, name, policy, "simulator")
    return wire.ok(world.iam.role_json(role))


async def set_timing(request: web.Request) -> web.StreamResponse:
    """Switch timing profile; changes started from now on use it."""
    world = request.app[WORLD]
    body = _object(await _json(request))
    try:
        world.timing = Timing.parse(body.get("timing", ""))
    except ValueError as exc:
        raise AdminError(400, str(exc)) from None
    return wire.ok({"timing": world.timing.label})


async def get_variants(request: web.Request) -> web.StreamResponse:
    """Which way the simulator answers where the real API varies."""
    return wire.ok(request.app[WORLD].variants.as_json())


async def set_variants(request: web.Request) -> web.StreamResponse:
    """Choose how to answer where the real API varies (only the keys given change)."""
    world = request.app[WORLD]
    try:
        world.variants.update(await _json(request))
    except ValueError as exc:
        raise AdminError(400, str(exc)) from None
    return wire.ok(world.variants.as_json())


async def reset(request: web.Request) -> web.StreamResponse:
    """Drop all databases, custom roles, extra tokens, faults, counters and chosen variants."""
    request.app[WORLD].reset()
    return wire.ok({"reset": True})


# --- out-of-band database changes -----------------------------------------------------------------

_ACTIONS: dict[str, Callable[[model.Database, Timing, float], None]] = {
    "terminate": lifecycle.terminate,
    "park": lifecycle.park,
    "unpark": lifecycle.unpark,
    "hibernate": lifecycle.hibernate,
    "resume": lifecycle.resume,
}


def _apply(world: World, db: model.Database, action: Any, status: Any) -> None:
    if status is not None:
        if not isinstance(status, str) or not status:
            raise AdminError(400, "status must be a non-empty string")
        db.force(status.upper())
        return
    if action == "error":
        db.force("ERROR")
        return
    change = _ACTIONS.get(action) if isinstance(action, str) else None
    if change is None:
        known = ", ".join([*_ACTIONS, "error", "delete"])
        raise AdminError(400, f"unknown action {action!r}; expected one of {known}")
    if action in ("park", "unpark") and not db.classic:
        raise AdminError(409, "only classic databases park and unpark")
    change(db, world.timing, world.now())


async def external_change(request: web.Request) -> web.StreamResponse:
    """Change a database as a user could in the Astra UI; answers the database (or the deletion)."""
    world = request.app[WORLD]
    db_id = request.match_info["databaseId"]
    db = world.lookup(db_id)
    if db is None:
        raise AdminError(404, f"database {db_id} not found")
    body = _object(await _json(request))
    if body.get("action") == "delete":
        world.delete(db_id)
        return wire.ok({"deleted": db_id})
    _apply(world, db, body.get("action"), body.get("status"))
    return wire.ok(render.database(db, world.rng))


def add_routes(app: web.Application) -> None:
    """Register every /_sim endpoint."""
    for method, path, handler in (
        ("GET", "/_sim/state", get_state),
        ("GET", "/_sim/requests", get_requests),
        ("GET", "/_sim/requests/log", get_request_log),
        ("POST", "/_sim/requests/reset", reset_requests),
        ("GET", "/_sim/faults", list_faults),
        ("POST", "/_sim/faults", add_faults),
        ("DELETE", "/_sim/faults", clear_faults),
        ("POST", "/_sim/tokens", add_token),
        ("PUT", "/_sim/roles/{roleId}", put_role),
        ("POST", "/_sim/databases/{databaseId}/external", external_change),
        ("POST", "/_sim/timing", set_timing),
        ("GET", "/_sim/variants", get_variants),
        ("POST", "/_sim/variants", set_variants),
        ("POST", "/_sim/reset", reset),
    ):
        app.router.add_route(method, path, _guarded(handler))
