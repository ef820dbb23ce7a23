"""Helpers for the contract tests: the simulator's admin API over plain httpx, and polling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from typing import Protocol

import httpx

from astra_operator.astra import client as astra_client
from astra_operator.astra import errors, models

POLL = 0.02


class Sim(Protocol):
    """What the tests use of a running simulator."""

    @property
    def url(self) -> str: ...

    @property
    def admin_token(self) -> str: ...


class Admin:
    """The simulator's ``/_sim`` control API (no Astra token needed)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def _call(self, method: str, path: str, body: object = None) -> object:
        response = await self.http.request(method, path, json=body)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    async def fault(self, **fault: object) -> None:
        await self._call("POST", "/_sim/faults", fault)

    async def counts(self) -> dict[str, int]:
        data = await self._call("GET", "/_sim/requests")
        assert isinstance(data, dict)
        counts = data["counts"]
        assert isinstance(counts, dict)
        return {str(k): int(v) for k, v in counts.items()}

    async def reset_counts(self) -> None:
        await self._call("POST", "/_sim/requests/reset")

    async def state(self) -> dict[str, object]:
        data = await self._call("GET", "/_sim/state")
        assert isinstance(data, dict)
        return data

    async def variants(self, **chosen: object) -> dict[str, object]:
        """Choose how the simulator answers where the real API varies (``existingKeyspace``)."""
        data = await self._call("POST", "/_sim/variants", chosen)
        assert isinstance(data, dict)
        return data

    async def mint_token(self, roles: list[str]) -> str:
        data = await self._call("POST", "/_sim/tokens", {"roles": roles})
        assert isinstance(data, dict)
        return str(data["token"])


async def wait_status(
    astra: astra_client.AstraClient,
    database_id: str,
    targets: Collection[str],
    *,
    within: float = 15.0,
    gone_ok: bool = False,
) -> models.Database | None:
    """Poll until the database's status is in ``targets`` (or 404 if ``gone_ok``)."""
    deadline = time.monotonic() + within
    seen: list[str] = []
    while time.monotonic() < deadline:
        try:
            db = await astra.get_database(database_id)
        except errors.NotFound:
            if gone_ok:
                return None
            raise
        if not seen or seen[-1] != db.status:
            seen.append(db.status)
        if db.status in targets:
            return db
        await asyncio.sleep(POLL)
    raise AssertionError(f"{database_id} never reached {sorted(targets)}; saw {seen}")


async def statuses_until(
    astra: astra_client.AstraClient,
    database_id: str,
    targets: Collection[str],
    *,
    within: float = 15.0,
) -> list[str]:
    """Every distinct status seen while polling until one in ``targets`` (or 404 = ``GONE``)."""
    deadline = time.monotonic() + within
    seen: list[str] = []
    while time.monotonic() < deadline:
        try:
            status = (await astra.get_database(database_id)).status
        except errors.NotFound:
            status = "GONE"
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in targets or status == "GONE":
            return seen
        await asyncio.sleep(POLL)
    raise AssertionError(f"{database_id} never reached {sorted(targets)}; saw {seen}")


async def serverless_spec(
    astra: astra_client.AstraClient, name: str = "db", provider: str | None = None
) -> models.DatabaseCreate:
    """A create body for a serverless region the simulator offers."""
    regions = await astra.list_serverless_regions()
    region = next(r for r in regions if provider is None or r.cloud_provider == provider)
    assert region.cloud_provider is not None
    return models.DatabaseCreate(
        name=name, cloud_provider=region.cloud_provider, region=region.name
    )


async def classic_spec(astra: astra_client.AstraClient) -> models.DatabaseCreate:
    """A create body for a classic tier from the simulator's available-regions catalogue."""
    combos = await astra.list_available_regions()
    combo = next(c for c in combos if c.tier and c.tier.lower() not in ("serverless", "developer"))
    assert combo.cloud_provider is not None
    assert combo.region is not None
    assert combo.tier
    return models.DatabaseCreate(
        name="classic", cloud_provider=combo.cloud_provider, region=combo.region, tier=combo.tier
    )


async def active_database(astra: astra_client.AstraClient, name: str = "db") -> str:
    db_id = await astra.create_database(await serverless_spec(astra, name))
    await wait_status(astra, db_id, {models.ACTIVE})
    return db_id
