"""Helpers shared by the simulator tests: request bodies, a manual clock, small HTTP shortcuts."""

from __future__ import annotations

from typing import Any

import httpx

SERVERLESS: dict[str, Any] = {
    "name": "db",
    "cloudProvider": "GCP",
    "region": "us-east1",
    "tier": "serverless",
    "capacityUnits": 1,
}
CLASSIC: dict[str, Any] = {
    "name": "classic",
    "cloudProvider": "AWS",
    "region": "us-east-1",
    "tier": "C10",
    "capacityUnits": 2,
}


class Clock:
    """A monotonic clock the test moves by hand, so timed transitions need no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create(api: httpx.AsyncClient, **changes: Any) -> str:
    """Create a database (serverless unless told otherwise) and return its id."""
    body = {**(CLASSIC if changes.pop("classic", False) else SERVERLESS), **changes}
    response = await api.post("/v2/databases", json=body)
    assert response.status_code == 201, response.text
    return response.headers["Location"]


async def status(api: httpx.AsyncClient, db_id: str) -> str:
    response = await api.get(f"/v2/databases/{db_id}")
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def mint(admin: httpx.AsyncClient, *roles: str) -> str:
    """A token bound to roles (ids or names) via the admin API."""
    response = await admin.post("/_sim/tokens", json={"roles": list(roles)})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


async def active(api: httpx.AsyncClient, clock: Clock, **changes: Any) -> str:
    """Create a database and move the manual clock until it is ACTIVE."""
    db_id = await create(api, **changes)
    clock.advance(1.0)
    assert await status(api, db_id) == "ACTIVE"
    return db_id
