"""The :class:`Simulator`: an aiohttp server on loopback serving /v2 and the /_sim admin API."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from types import TracebackType

from aiohttp import web

from astra_operator.simulator import (
    admin,
    api_access,
    api_changes,
    api_databases,
    api_iam,
    api_org,
    api_pcus,
    pipeline,
)
from astra_operator.simulator.timing import Timing, TimingSpec
from astra_operator.simulator.world import World

ACCESS_LOG = logging.getLogger("astra_operator.simulator.access")
ACCESS_FORMAT = '%a "%r" %s %Tfs'  # never headers: the token stays out of logs
ROUTES: list[pipeline.Route] = [
    *api_databases.ROUTES,
    *api_changes.ROUTES,
    *api_access.ROUTES,
    *api_iam.ROUTES,
    *api_org.ROUTES,
    *api_pcus.ROUTES,
]


def build_app(world: World) -> web.Application:
    """The aiohttp application serving ``world``."""
    app = web.Application()
    app[admin.WORLD] = world
    for route in ROUTES:
        app.router.add_route(route.method, route.template, pipeline.endpoint(route, world))
    unknown = pipeline.unknown_route(world)
    app.router.add_route("*", "/v2/{tail:.*}", unknown)
    app.router.add_route("*", "/v3/{tail:.*}", unknown)  # the spec's CDC paths (not served)
    admin.add_routes(app)
    return app


class Simulator:
    """A DevOps API v2 simulator over real HTTP. ``async with Simulator() as sim: sim.url``."""

    def __init__(
        self,
        timing: TimingSpec = "fast",
        host: str = "127.0.0.1",
        port: int = 0,
        tokens: Iterable[str] = (),
        seed: int | None = None,
        *,
        access_log: bool = False,
    ) -> None:
        self.world = World(Timing.parse(timing), seed=seed)
        admin_role = [self.world.admin_role_id()]
        issue = self.world.iam.issue
        self.admin_token = issue(admin_role, description="simulator admin", permanent=True)[0].token
        for extra in tokens:  # raises ValueError for a malformed token
            issue(admin_role, token=extra, description="--token", permanent=True)
        self.host = host
        self.port = port
        self._access_log = access_log
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """``http://<host>:<port>`` once started."""
        if self._runner is None:
            raise RuntimeError("the simulator is not running: call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Bind and start serving (``port=0`` picks a free port, then ``self.port`` holds it)."""
        if self._runner is not None:
            return
        runner = web.AppRunner(
            build_app(self.world),
            access_log=ACCESS_LOG if self._access_log else None,
            access_log_format=ACCESS_FORMAT,
            shutdown_timeout=0.1,  # requests held by a latency fault are cut short
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self.port = int(runner.addresses[0][1])
        self._runner = runner

    async def stop(self) -> None:
        """Stop serving; safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
