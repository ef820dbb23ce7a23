"""Wire behaviour of AstraClient over httpx.MockTransport: headers, paths, bodies, odd replies."""

from __future__ import annotations

import json
import logging
import uuid

import httpx
import pytest

from astra_operator.astra import client as astra_client
from astra_operator.astra import errors, models
from tests.client.conftest import TOKEN, ClientFactory


def _json(data: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=data)


async def test_headers_auth_and_user_agent(make_client: ClientFactory) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _json({"id": "org-1", "name": "Org"})

    c = make_client(handler)
    org = await c.current_organization()
    assert org.id == "org-1"
    request = seen[0]
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"].startswith("astra-operator/")
    assert request.url == "https://astra.test/v2/currentOrg"


async def test_per_call_token_overrides_and_is_stripped(make_client: ClientFactory) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return _json({"id": "o"})

    c = make_client(handler, token=None)
    await c.current_organization(token="AstraCS:other:ff\n")
    assert seen == ["Bearer AstraCS:other:ff"]
    with pytest.raises(ValueError, match="no Astra token"):
        await c.current_organization()
    for bad in ("AstraCS:a\nb", "AstraCS:a b", "AstraCS:é"):
        with pytest.raises(ValueError, match="header") as info:
            await c.current_organization(token=bad)
        assert bad not in str(info.value)


async def test_empty_path_parameter_is_refused(make_client: ClientFactory) -> None:
    c = make_client(lambda r: _json([]))
    with pytest.raises(ValueError, match="databaseId"):
        await c.get_database("")


async def test_path_parameters_are_quoted(make_client: ClientFactory) -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(201)

    await make_client(handler).add_keyspace("db-1", "a/b")
    assert paths == ["/v2/databases/db-1/keyspaces/a%2Fb"]


def test_repr_hides_the_token() -> None:
    c = astra_client.AstraClient("https://astra.test/", token=TOKEN)
    assert TOKEN not in repr(c)
    assert "AstraCS" not in repr(c)
    assert c.base_url == "https://astra.test"


async def test_base_url_with_a_path_prefix() -> None:
    urls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return _json([])

    transport = httpx.MockTransport(handler)
    async with astra_client.AstraClient(
        "https://proxy.test/astra", token=TOKEN, transport=transport
    ) as c:
        await c.list_roles()
    assert urls == ["https://proxy.test/astra/v2/organizations/roles"]


async def test_debug_log_has_template_status_attempt_but_no_token(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="astra_operator.astra")
    c = make_client(lambda r: _json({"id": "db-1", "status": "ACTIVE"}))
    await c.get_database("db-1")
    text = caplog.text
    assert "GET /v2/databases/{databaseId} -> 200 (attempt 1/4" in text
    assert TOKEN not in text
    assert "AstraCS" not in text


async def test_list_databases_paginates_past_the_cap(make_client: ClientFactory) -> None:
    ids = [f"db-{i:03d}" for i in range(250)]
    queries: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        queries.append(query)
        start = ids.index(query["starting_after"]) + 1 if "starting_after" in query else 0
        page = ids[start : start + int(query["limit"])]
        return _json([{"id": i, "status": "ACTIVE"} for i in page])

    c = make_client(handler)
    got = await c.list_databases(include="all", provider="GCP")
    assert [d.id for d in got] == ids
    assert [q.get("starting_after") for q in queries] == [None, "db-099", "db-199"]
    assert all(q["limit"] == "100" and q["include"] == "all" for q in queries)
    assert queries[0]["provider"] == "GCP"


async def test_list_databases_stops_when_the_server_ignores_the_cursor(
    make_client: ClientFactory,
) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return _json([{"id": f"db-{i}"} for i in range(100)])

    got = await make_client(handler).list_databases()
    assert len(got) == 100
    assert calls == 2


async def test_list_databases_exact_multiple_of_the_page(make_client: ClientFactory) -> None:
    pages = [[{"id": f"a{i}"} for i in range(100)], []]

    got = await make_client(lambda r: _json(pages.pop(0))).list_databases()
    assert len(got) == 100
    assert not pages


async def test_create_returns_bare_location_and_sends_the_body(make_client: ClientFactory) -> None:
    new_id = str(uuid.uuid4())
    bodies: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(201, headers={"Location": new_id})

    spec = models.DatabaseCreate(name="db", cloud_provider="GCP", region="us-east1")
    assert await make_client(handler).create_database(spec) == new_id
    assert bodies == [
        {"name": "db", "cloudProvider": "GCP", "region": "us-east1", "tier": "serverless",
         "capacityUnits": 1}
    ]  # fmt: skip


@pytest.mark.parametrize(
    "location",
    [
        "https://api.astra.datastax.com/v2/databases/abc-123",
        "/v2/databases/abc-123/",
        "abc-123",
        "  abc-123  ",
    ],
)
async def test_create_location_as_url(make_client: ClientFactory, location: str) -> None:
    c = make_client(lambda r: httpx.Response(201, headers={"Location": location}))
    spec = models.DatabaseCreate(name="db", cloud_provider="AWS", region="us-east-2")
    assert await c.create_database(spec) == "abc-123"


@pytest.mark.parametrize(
    ("status", "headers"), [(201, {}), (200, {"Location": "x"}), (202, {"Location": "x"})]
)
async def test_create_without_201_and_location_is_unexpected(
    make_client: ClientFactory, status: int, headers: dict[str, str]
) -> None:
    c = make_client(lambda r: httpx.Response(status, headers=headers))
    spec = models.DatabaseCreate(name="db", cloud_provider="AWS", region="us-east-2")
    with pytest.raises(errors.UnexpectedResponse) as info:
        await c.create_database(spec)
    assert info.value.maybe_applied


@pytest.mark.parametrize(
    "body",
    [
        [{"datacenterID": "d-1", "downloadURL": "u1"}, {"datcenterID": "d-2", "downloadURL": "u2"}],
        {"datcenterID": "d-1", "downloadURL": "u1"},
    ],
)
async def test_secure_bundle_urls_list_or_single(make_client: ClientFactory, body: object) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _json(body)

    bundles = await make_client(handler).secure_bundle_urls("db-1")
    assert bundles[0].datacenter_id == "d-1"
    assert bundles[0].download_url == "u1"
    assert seen[0].method == "POST"
    assert seen[0].url.params["all"] == "true"


async def test_drop_keyspace_reports_whether_it_existed(make_client: ClientFactory) -> None:
    statuses = [202, 204]
    c = make_client(lambda r: httpx.Response(statuses.pop(0)))
    assert await c.drop_keyspace("db", "ks") is True
    assert await c.drop_keyspace("db", "ks") is False


async def test_add_datacenter_sends_one_item_array(make_client: ClientFactory) -> None:
    bodies: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(201)

    dc = models.DatacenterCreate(cloud_provider="GCP", region="europe-west1")
    await make_client(handler).add_datacenter("db", dc)
    assert bodies == [[{"cloudProvider": "GCP", "region": "europe-west1", "tier": "serverless"}]]


async def test_resize_and_datacenter_listing(make_client: ClientFactory) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET":
            return _json([{"id": "db-2", "name": "dc-2", "status": ""}, {"id": "db-1"}])
        return httpx.Response(202)

    c = make_client(handler)
    await c.resize_database("db", 4)
    dcs = await c.list_datacenters("db", include_terminated=True)
    assert json.loads(seen[0].content) == {"capacityUnits": 4}
    assert seen[1].url.params["all"] == "true"
    assert [d.id for d in dcs] == ["db-2", "db-1"]


@pytest.mark.parametrize(
    ("body", "client_ids"),
    [
        ({"clients": [{"clientId": "c1", "roles": ["r"], "generatedOn": "t"}]}, ["c1"]),
        ([{"clientId": "c1", "roles": ["r"]}, {"clientId": "c2", "roles": []}], ["c1", "c2"]),
        ({"clients": None}, []),
    ],
)
async def test_list_tokens_shapes(
    make_client: ClientFactory, body: object, client_ids: list[str]
) -> None:
    tokens = await make_client(lambda r: _json(body)).list_tokens()
    assert [t.client_id for t in tokens] == client_ids


async def test_create_token_hides_the_secret(make_client: ClientFactory) -> None:
    minted = "AstraCS:newclient:deadbeef"
    bodies: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return _json({"clientId": "newclient", "orgId": "o", "roles": ["r1"], "secret": "sh",
                      "token": minted})  # fmt: skip

    created = await make_client(handler).create_token(["r1"], org_id="o")
    assert bodies == [{"roles": ["r1"], "orgId": "o"}]
    assert created.token is not None
    assert created.token.get_secret_value() == minted
    assert minted not in repr(created)
    assert "sh" not in str(created.secret)


async def test_delete_several_addresses_loops_one_per_call(make_client: ClientFactory) -> None:
    seen: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params.get_list("addresses"))
        return httpx.Response(204)

    c = make_client(handler)
    await c.delete_access_list_addresses("db", ["1.1.1.1/32", "2.2.2.0/24"])
    assert seen == [["1.1.1.1/32"], ["2.2.2.0/24"]]
    with pytest.raises(ValueError, match="whole list"):
        await c.delete_access_list_address("db", " ")


async def test_access_list_replace_body(make_client: ClientFactory) -> None:
    bodies: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append((request.method, json.loads(request.content)))
        return httpx.Response(204)

    c = make_client(handler)
    await c.replace_access_list(
        "db", [models.AddressRequest(address="10.0.0.0/8", description="vpn")], enabled=False
    )
    await c.add_access_list_addresses("db", [models.AddressRequest(address="1.2.3.4")])
    assert bodies == [
        ("PUT", {"addresses": [{"address": "10.0.0.0/8", "enabled": True, "description": "vpn"}],
                 "configurations": {"accessListEnabled": False}}),
        ("POST", [{"address": "1.2.3.4", "enabled": True, "description": ""}]),
    ]  # fmt: skip


async def test_unreadable_success_body_is_unexpected(make_client: ClientFactory) -> None:
    c = make_client(lambda r: httpx.Response(200, text="<html>oops</html>"))
    with pytest.raises(errors.UnexpectedResponse, match="not JSON"):
        await c.get_database("db")
    c = make_client(lambda r: _json({"status": "ACTIVE"}))
    with pytest.raises(errors.UnexpectedResponse, match="cannot read Database: id"):
        await c.get_database("db")
    c = make_client(lambda r: _json({"not": "a list"}))
    with pytest.raises(errors.UnexpectedResponse, match="JSON array"):
        await c.list_roles()


async def test_validation_error_does_not_leak_a_secret(make_client: ClientFactory) -> None:
    secret = "plain-secret-value"  # no AstraCS prefix: only the summary can keep it out
    c = make_client(lambda r: _json({"secret": secret, "roles": []}))
    with pytest.raises(errors.UnexpectedResponse) as info:
        await c.create_token(["r"])
    assert secret not in str(info.value)
    assert info.value.__cause__ is None
