"""Injected faults and request counting, as seen by an HTTP client."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from astra_operator.simulator import Simulator
from tests.simulator.helpers import Clock, create, status

ONE_DB = r"^/v2/databases/[^/]+$"


async def _fault(admin: httpx.AsyncClient, body: object) -> list[dict[str, object]]:
    response = await admin.post("/_sim/faults", json=body)
    assert response.status_code == 200, response.text
    queued: list[dict[str, object]] = response.json()["faults"]
    return queued


async def _counts(admin: httpx.AsyncClient) -> dict[str, int]:
    counts: dict[str, int] = (await admin.get("/_sim/requests")).json()["counts"]
    return counts


@pytest.mark.parametrize("code", [429, 500, 502, 503, 504])
async def test_status_fault_answers_without_doing_the_work(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, code: int
) -> None:
    await _fault(admin, {"kind": "status", "status": code, "method": "POST", "retryAfter": 2})
    response = await api.post("/v2/databases", json={"name": "x"})
    assert response.status_code == code
    assert response.headers["Retry-After"] == "2"
    assert response.json()["errors"][0]["ID"]
    assert (await api.get("/v2/databases")).json() == []  # nothing created, GET unaffected
    assert (await admin.get("/_sim/faults")).json() == {"faults": []}


async def test_faults_apply_in_queue_order_and_only_where_selected(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    queued = await _fault(
        admin,
        [
            {"kind": "status", "status": 503, "path": r"^/v2/databases$", "count": 2},
            {"kind": "status", "status": 502, "path": r"^/v2/databases$"},
        ],
    )
    assert [f["count"] for f in queued] == [2, 1]
    assert (await api.get("/v2/currentOrg")).status_code == 200  # path not selected
    codes = [(await api.get("/v2/databases")).status_code for _ in range(4)]
    assert codes == [503, 503, 502, 200]


async def test_latency_fault_delays_before_or_after_the_work(
    sim: Simulator, api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await _fault(admin, {"kind": "latency", "seconds": 0.3, "method": "GET"})
    started = time.monotonic()
    assert (await api.get("/v2/currentOrg")).status_code == 200
    assert time.monotonic() - started >= 0.3

    await _fault(admin, {"kind": "latency", "seconds": 1.0, "method": "POST", "after": True})
    async with httpx.AsyncClient(
        base_url=sim.url, headers=api.headers, timeout=httpx.Timeout(0.2)
    ) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            await impatient.post("/v2/databases", json={**_BODY})
    assert len((await api.get("/v2/databases")).json()) == 1  # the work was done first


_BODY = {
    "name": "x",
    "cloudProvider": "AWS",
    "region": "us-east-2",
    "tier": "serverless",
    "capacityUnits": 1,
}


async def test_drop_response_does_the_work_then_closes_the_connection(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await _fault(admin, {"kind": "drop_response", "method": "POST", "path": r"^/v2/databases$"})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        await api.post("/v2/databases", json=_BODY)
    assert len((await api.get("/v2/databases")).json()) == 1
    assert (await _counts(admin))["POST /v2/databases"] == 1


async def test_not_found_after_create(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, clock: Clock
) -> None:
    await _fault(admin, {"kind": "not_found_after_create", "seconds": 0.5})
    hidden = await create(api)
    visible = await create(api)  # count defaults to 1
    assert (await api.get(f"/v2/databases/{hidden}")).status_code == 404
    assert (await api.get(f"/v2/databases/{visible}")).status_code == 200
    clock.advance(0.6)
    assert await status(api, hidden) == "ACTIVE"


async def test_create_error(api: httpx.AsyncClient, admin: httpx.AsyncClient, clock: Clock) -> None:
    await _fault(admin, {"kind": "create_error", "count": 2})
    failing = [await create(api) for _ in range(2)]
    fine = await create(api)
    clock.advance(1.0)
    assert [await status(api, db_id) for db_id in failing] == ["ERROR", "ERROR"]
    assert await status(api, fine) == "ACTIVE"
    errored = (await api.get(f"/v2/databases/{failing[0]}")).json()
    assert errored["availableActions"] == ["terminate"]


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "explode"},
        {"kind": "status", "status": 418},
        {"kind": "latency", "seconds": -1},
        {"kind": "status", "path": "(unclosed"},
        {"kind": "drop_response", "count": 0},
    ],
)
async def test_bad_fault_objects_are_rejected(admin: httpx.AsyncClient, bad: object) -> None:
    response = await admin.post("/_sim/faults", json=bad)
    assert response.status_code == 400
    assert response.json()["error"]


async def test_clear_faults(api: httpx.AsyncClient, admin: httpx.AsyncClient) -> None:
    await _fault(admin, {"kind": "status", "status": 500, "count": 5})
    assert (await admin.delete("/_sim/faults")).json() == {"faults": []}
    assert (await api.get("/v2/databases")).status_code == 200


async def test_request_counts_by_route_template(
    sim: Simulator, api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    db_id = await create(api)
    await api.get(f"/v2/databases/{db_id}")
    await api.get("/v2/databases/00000000-0000-0000-0000-000000000000")
    await _fault(admin, {"kind": "status", "status": 503, "path": "currentOrg"})
    await api.get("/v2/currentOrg")
    async with httpx.AsyncClient(base_url=sim.url) as anonymous:
        await anonymous.get("/v2/databases")  # 401s count too
    await admin.get("/_sim/state")  # admin calls do not
    assert await _counts(admin) == {
        "POST /v2/databases": 1,
        "GET /v2/databases/{databaseId}": 2,
        "GET /v2/currentOrg": 1,
        "GET /v2/databases": 1,
    }
    assert (await admin.get("/_sim/requests")).json()["total"] == 5
    await admin.post("/_sim/requests/reset")
    assert (await admin.get("/_sim/requests")).json() == {"total": 0, "counts": {}}


@pytest.mark.parametrize(
    ("form", "echoed"),
    [
        ("plain", lambda t: t),
        ("upper", str.upper),
        ("lower", str.lower),
        ("urlencoded", lambda t: t.replace(":", "%3A")),
        ("urlencoded_lower", lambda t: t.replace(":", "%3A").lower()),
        ("secret_segment", lambda t: t.rsplit(":", 1)[1]),
    ],
)
async def test_echo_token_fault_echoes_the_bearer_token(
    sim: Simulator,
    api: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    form: str,
    echoed: Callable[[str], str],
) -> None:
    queued = await _fault(admin, {"kind": "echo_token", "form": form, "path": r"^/v2/databases$"})
    assert queued == [
        {
            "kind": "echo_token",
            "count": 1,
            "path": r"^/v2/databases$",
            "status": 500,
            "form": form,
            "style": "errors",
        }
    ]
    assert (await api.get("/v2/currentOrg")).status_code == 200  # path not selected
    response = await api.post("/v2/databases", json=_BODY)
    assert response.status_code == 500
    assert response.json() == {
        "errors": [{"ID": 2000500, "message": f"credentials rejected: {echoed(sim.admin_token)}"}]
    }
    assert (await api.get("/v2/databases")).json() == []  # no work done, fault used up


async def test_echo_token_fault_all_forms_other_styles_and_any_token(
    sim: Simulator, api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    token = sim.admin_token
    await _fault(
        admin,
        [
            {"kind": "echo_token", "form": "all", "status": 422, "method": "GET"},
            {"kind": "echo_token", "status": 400, "style": "text", "count": 2},
            {"kind": "echo_token", "form": "upper", "status": 401, "style": "string"},
        ],
    )
    everything = await api.get("/v2/currentOrg")
    assert everything.status_code == 422
    message = everything.json()["errors"][0]["message"]
    secret = token.rsplit(":", 1)[1]
    for part in (token, token.upper(), token.lower(), token.replace(":", "%3A"), secret):
        assert part in message
    text = await api.post("/v2/databases", json=_BODY)
    assert (text.status_code, text.headers["content-type"]) == (400, "text/plain; charset=utf-8")
    assert text.text == f"credentials rejected: {token}"
    async with httpx.AsyncClient(base_url=sim.url) as anonymous:  # echoed even if not valid
        bad = await anonymous.get("/v2/databases", headers={"Authorization": "Bearer nope"})
    assert bad.text == "credentials rejected: nope"
    string = await api.get("/v2/databases")
    assert (string.status_code, string.json()) == (401, f"credentials rejected: {token.upper()}")
    assert (await api.get("/v2/databases")).status_code == 200


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "echo_token", "form": "reversed"},
        {"kind": "echo_token", "status": 302},
        {"kind": "echo_token", "status": "500"},
        {"kind": "echo_token", "style": "null"},
    ],
)
async def test_bad_echo_token_faults_are_rejected(admin: httpx.AsyncClient, bad: object) -> None:
    response = await admin.post("/_sim/faults", json=bad)
    assert response.status_code == 400
    assert response.json()["error"]
    assert (await admin.get("/_sim/faults")).json() == {"faults": []}
