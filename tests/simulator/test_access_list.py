"""Access lists: add, replace, patch, the first-address-only DELETE bug, text/plain errors."""

from __future__ import annotations

import uuid

import httpx

from tests.simulator.helpers import Clock, active


def _address(address: str, enabled: bool = True) -> dict[str, object]:
    return {"address": address, "enabled": enabled, "description": f"for {address}"}


async def test_access_list_lifecycle(api: httpx.AsyncClient, clock: Clock) -> None:
    db_id = await active(api, clock)
    path = f"/v2/databases/{db_id}/access-list"
    empty = (await api.get(path)).json()
    assert empty["addresses"] == []
    assert empty["configurations"] == {"accessListEnabled": False}

    addresses = [_address("1.2.3.4/32"), _address("10.0.0.0/8", False), _address("192.168.0.1")]
    added = await api.post(path, json=addresses)
    assert added.status_code == 204
    listed = (await api.get(path)).json()
    assert [a["address"] for a in listed["addresses"]] == [
        "1.2.3.4/32",
        "10.0.0.0/8",
        "192.168.0.1",
    ]
    assert listed["addresses"][0]["lastUpdateDateTime"].endswith("+0000 UTC")


async def test_delete_first_address_only_then_patch_put_and_clear(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    db_id = await active(api, clock)
    path = f"/v2/databases/{db_id}/access-list"
    addresses = [_address("1.2.3.4/32"), _address("10.0.0.0/8", False), _address("192.168.0.1")]
    assert (await api.post(path, json=addresses)).status_code == 204
    # The real API honours only the first ``addresses`` value of a DELETE.
    deleted = await api.delete(
        path, params=[("addresses", "1.2.3.4/32"), ("addresses", "10.0.0.0/8")]
    )
    assert deleted.status_code == 204
    left = [a["address"] for a in (await api.get(path)).json()["addresses"]]
    assert left == ["10.0.0.0/8", "192.168.0.1"]

    patch = {
        "addresses": [_address("10.0.0.0/8", True)],
        "configurations": {"accessListEnabled": True},
    }
    assert (await api.patch(path, json=patch)).status_code == 204
    patched = (await api.get(path)).json()
    assert patched["configurations"]["accessListEnabled"] is True
    assert [a["enabled"] for a in patched["addresses"]] == [True, True]

    replace = {
        "addresses": [_address("8.8.8.8/32")],
        "configurations": {"accessListEnabled": False},
    }
    assert (await api.put(path, json=replace)).status_code == 204
    assert [a["address"] for a in (await api.get(path)).json()["addresses"]] == ["8.8.8.8/32"]

    assert (await api.delete(path)).status_code == 204
    assert (await api.get(path)).json()["addresses"] == []


async def test_access_list_errors_are_plain_text(api: httpx.AsyncClient, clock: Clock) -> None:
    missing = await api.get(f"/v2/databases/{uuid.uuid4()}/access-list")
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("text/plain")
    db_id = await active(api, clock)
    bad = await api.post(f"/v2/databases/{db_id}/access-list", json=[_address("not-an-ip")])
    assert bad.status_code == 400
    assert bad.headers["Content-Type"].startswith("text/plain")
    assert "not-an-ip" in bad.text
