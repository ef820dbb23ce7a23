"""The path every /v2 request takes: count it, apply faults, authenticate, authorise, handle."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from astra_operator.simulator import faults, iam, model, wire
from astra_operator.simulator.world import World


@dataclasses.dataclass(slots=True)
class Call:
    """One authenticated API call, as a handler sees it."""

    request: web.Request
    world: World
    token: iam.Token
    reshuffle: bool = False  # a shuffle_datacenters fault hit this request

    def query(self, name: str) -> str | None:
        """The first value of a query parameter."""
        return self.request.query.get(name)

    def param(self, name: str) -> str:
        """A path parameter (``{databaseId}`` ...)."""
        return self.request.match_info[name]

    async def body(self) -> object:
        """The JSON request body; 400 if it is not JSON."""
        raw = await self.request.read()
        try:
            return json.loads(raw) if raw.strip() else None
        except ValueError:
            raise wire.ApiError(400, "request body is not valid JSON") from None

    def database(self) -> model.Database:
        """The ``{databaseId}`` database; 404 if unknown, expired or (by a fault) not yet seen."""
        db_id = self.param("databaseId")
        db = self.world.lookup(db_id)
        if db is None or db.hidden_until > self.world.now():
            raise wire.ApiError(404, f"database {db_id} not found")
        return db


Handler = Callable[[Call], Awaitable[web.StreamResponse]]


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    """One endpoint: where it lives, who may call it, and how it writes its errors."""

    method: str
    template: str
    handler: Handler
    permission: str | None
    style: wire.Style = wire.Style.ERRORS
    denied: int | None = None  # the status for a missing permission, when not the family's

    @property
    def key(self) -> str:
        """``"<METHOD> <route template>"``: the request-count key."""
        return f"{self.method} {self.template}"

    @property
    def denied_status(self) -> int:
        """Database endpoints say 401 for a missing permission; IAM endpoints say 403."""
        if self.denied is not None:
            return self.denied
        return 403 if self.style in (wire.Style.STRING, wire.Style.TEXT) else 401


async def _authorised(
    route: Route, world: World, request: web.Request, *, reshuffle: bool = False
) -> web.StreamResponse:
    token = world.iam.authenticate(request.headers.get("Authorization"))
    if token is None:
        return wire.unauthenticated()
    db_id = request.match_info.get("databaseId")
    try:
        if route.permission and not world.iam.allows(token, route.permission, db_id):
            raise wire.ApiError(
                route.denied_status,
                f"the token does not have the permission {route.permission} for this operation",
                wire.MISSING_PERMISSION,
            )
        return await route.handler(Call(request, world, token, reshuffle))
    except wire.ApiError as error:
        return wire.render_error(route.style, error)


def _drop(request: web.Request) -> None:
    """Close the connection so the response already produced is never written."""
    transport = request.transport
    if transport is not None:
        transport.abort()


def _delay(hits: list[faults.Fault], *, after: bool) -> float:
    return sum(f.seconds for f in hits if f.kind == "latency" and f.after == after)


async def _serve(
    route: Route, world: World, request: web.Request, hits: list[faults.Fault]
) -> web.StreamResponse:
    before = _delay(hits, after=False)
    if before:
        await asyncio.sleep(before)
    echo = next((f for f in hits if f.kind == "echo_token"), None)
    refusal = next((f for f in hits if f.kind == "status"), None)
    if echo is not None:
        message = faults.echo_message(request.headers.get("Authorization"), echo.form)
        response: web.StreamResponse = wire.render_error(
            wire.Style(echo.style), wire.ApiError(echo.status, message)
        )
    elif refusal is not None:
        response = wire.fault_response(refusal.status, refusal.retry_after)
    else:
        reshuffle = any(f.kind == "shuffle_datacenters" for f in hits)
        response = await _authorised(route, world, request, reshuffle=reshuffle)
    after = _delay(hits, after=True)
    if after:
        await asyncio.sleep(after)
    if any(f.kind == "drop_response" for f in hits):
        _drop(request)
    return response


def endpoint(route: Route, world: World) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for ``route``."""
    method, template = route.method, route.template

    async def handle(request: web.Request) -> web.StreamResponse:
        world.count(method, template, request.path, request.query_string)
        hits = world.faults.take_for_request(request.method, request.path)
        if not hits:  # the common path, kept short for throughput
            return await _authorised(route, world, request)
        return await _serve(route, world, request, hits)

    return handle


def unknown_route(world: World) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Any other /v2 path: counted under its literal path, answered 404."""

    async def handle(request: web.Request) -> web.StreamResponse:
        world.count(request.method, request.path, request.path, request.query_string)
        error = wire.ApiError(404, f"no such endpoint: {request.method} {request.path}")
        return wire.render_error(wire.Style.ERRORS, error)

    return handle
