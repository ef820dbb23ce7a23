"""Error replies of every shape the DevOps API is known to send, mapped onto errors.AstraError."""

from __future__ import annotations

import httpx
import pytest

from astra_operator.astra import errors
from tests.client.conftest import TOKEN, ClientFactory

DB = "8d770448-20c1-47f0-bb76-96d0d1a66b7f"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.InvalidRequest),
        (401, errors.Unauthorized),
        (403, errors.Forbidden),
        (404, errors.NotFound),
        (409, errors.Conflict),
        (422, errors.InvalidRequest),
        (429, errors.RateLimited),
        (500, errors.ServerError),
        (501, errors.ServerError),
        (418, errors.AstraError),
        (302, errors.AstraError),
    ],
)
async def test_status_maps_to_class(
    make_client: ClientFactory, status: int, cls: type[errors.AstraError]
) -> None:
    c = make_client(lambda r: httpx.Response(status), retry=None)
    with pytest.raises(cls) as info:
        await c.get_database(DB)
    assert type(info.value) is cls
    assert info.value.status == status
    assert info.value.method == "GET"
    assert info.value.path == f"/v2/databases/{DB}"
    assert isinstance(info.value.__cause__, httpx.HTTPStatusError)


@pytest.mark.parametrize(
    ("body", "content_type", "message", "ids"),
    [
        (b'{"errors":[{"ID":340012,"message":"invalid token format"}]}', "application/json",
         "invalid token format", (340012,)),
        (b'{"errors":[{"id":2000011,"message":"unsupported tier"},'
         b'{"ID":"2000013","message":"unsupported region"}]}', "application/json",
         "unsupported tier; unsupported region", (2000011, 2000013)),
        (b'"role not found"', "application/json", "role not found", ()),
        (b"invalid", "text/plain", "invalid", ()),
        (b"null", "application/json", "Not Found", ()),
        (b"", "", "Not Found", ()),
        (b"   \n", "text/plain", "Not Found", ()),
        (b"<html><head><title>404 Not Found</title></head><body><h1>nginx</h1></body></html>",
         "text/html", "404 Not Found", ()),
        (b"<html><body><p>gateway\n  exploded</p></body></html>", "text/html",
         "gateway exploded", ()),
        (b'{"message":"plain object"}', "application/json", "plain object", ()),
        (b'[{"ID":1,"message":"bare list"}]', "application/json", "bare list", (1,)),
        (b'{"errors":"a string"}', "application/json", "a string", ()),
        (b"42", "application/json", "42", ()),
        (b'{"errors":[{"ID":true,"message":"odd id"},7]}', "application/json", "odd id", ()),
    ],
)  # fmt: skip
async def test_error_body_shapes(
    make_client: ClientFactory, body: bytes, content_type: str, message: str, ids: tuple[int, ...]
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    c = make_client(lambda r: httpx.Response(404, content=body, headers=headers))
    with pytest.raises(errors.NotFound) as info:
        await c.get_role("r1")
    assert info.value.message == message
    assert info.value.error_ids == ids
    assert message in str(info.value)


async def test_401_with_null_body_is_unauthorized(make_client: ClientFactory) -> None:
    c = make_client(lambda r: httpx.Response(401, content=b"null"))
    with pytest.raises(errors.Unauthorized, match="HTTP 401: Unauthorized"):
        await c.list_serverless_regions()


async def test_secrets_are_scrubbed_from_messages(make_client: ClientFactory) -> None:
    other = "AstraCS:someoneelse:abcdef0123"
    body = (
        f'{{"errors":[{{"ID":1,"message":"bad token {TOKEN} and {other}; '
        f'header Bearer {TOKEN}"}}]}}'
    )
    c = make_client(lambda r: httpx.Response(401, content=body.encode()))
    with pytest.raises(errors.Unauthorized) as info:
        await c.current_organization()
    text = str(info.value) + repr(info.value) + info.value.message
    assert "AstraCS:" + errors.REDACTED in text
    assert TOKEN not in text
    assert other not in text
    assert "abcdef" not in text


async def test_the_callers_token_is_scrubbed_even_without_the_prefix(
    make_client: ClientFactory,
) -> None:
    odd = "legacy-token-value-1234"
    c = make_client(lambda r: httpx.Response(400, text=f"token {odd} rejected"), token=odd)
    with pytest.raises(errors.InvalidRequest) as info:
        await c.list_roles()
    assert odd not in str(info.value)


async def test_long_messages_are_truncated(make_client: ClientFactory) -> None:
    c = make_client(lambda r: httpx.Response(500, text="x" * 5000), retry=None)
    with pytest.raises(errors.ServerError) as info:
        await c.get_database(DB)
    assert len(info.value.message) == errors.MAX_MESSAGE
    assert info.value.message.endswith("...")


async def test_path_never_carries_the_query(make_client: ClientFactory) -> None:
    c = make_client(lambda r: httpx.Response(400, text="bad"))
    with pytest.raises(errors.InvalidRequest) as info:
        await c.list_databases(include="bogus")
    assert info.value.path == "/v2/databases"
    assert "include" not in str(info.value)


async def test_transport_error_is_chained_and_describes_no_response(
    make_client: ClientFactory,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    c = make_client(handler, retry=None)
    with pytest.raises(errors.TransportError) as info:
        await c.get_database(DB)
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert info.value.status is None
    assert not info.value.maybe_applied  # a GET has no side effects
    assert "no response" in str(info.value)
    assert "ReadTimeout" in str(info.value)


def test_error_classes_share_the_base() -> None:
    for cls in (errors.NotFound, errors.Conflict, errors.RateLimited, errors.Unauthorized,
                errors.Forbidden, errors.InvalidRequest, errors.ServerError,
                errors.TransportError, errors.UnexpectedResponse):  # fmt: skip
        assert issubclass(cls, errors.AstraError)
    err = errors.Conflict("busy", status=409, method="POST", path="/v2/x?secret=1")
    assert err.path == "/v2/x"
    assert str(err) == "POST /v2/x: HTTP 409: busy"
