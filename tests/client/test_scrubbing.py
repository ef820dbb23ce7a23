"""No form of the caller's token survives in an error or a log line.

Upstream error bodies that echo the token upper- or lower-cased, URL-encoded, or only its secret
segment, over HTTP from the real simulator (its ``echo_token`` fault) through ``AstraClient``;
``errors.scrub`` on its own; and the process-wide logging filter of ``astra.redaction``.
"""

from __future__ import annotations

import io
import logging
import secrets
import urllib.parse
from collections.abc import Iterator

import pytest

from astra_operator.astra import client as astra_client
from astra_operator.astra import errors, redaction
from tests.client import simtools

FORMS = ["plain", "upper", "lower", "urlencoded", "urlencoded_lower", "secret_segment", "all"]
LIST = r"^/v2/databases$"


def giveaways(token: str) -> list[str]:
    """Lower-cased strings any of which in a text means the token leaked."""
    secret = token.rsplit(":", 1)[-1]
    return [
        s.lower()
        for s in (
            token,
            secret,
            urllib.parse.quote(token, safe=""),
            urllib.parse.quote_plus(token),
            urllib.parse.quote(secret, safe=""),
        )
    ]


def assert_no_token(text: str, token: str) -> None:
    lowered = text.lower()
    for giveaway in giveaways(token):
        assert giveaway not in lowered, f"the token leaked: {text!r}"


# --- through the client, against the simulator --------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    ("status", "style", "cls"),
    [
        (500, "errors", errors.ServerError),
        (400, "errors", errors.InvalidRequest),
        (422, "text", errors.InvalidRequest),
        (401, "string", errors.Unauthorized),
    ],
)
async def test_echoed_token_never_reaches_the_error(
    sim: simtools.Sim,
    admin: simtools.Admin,
    astra: astra_client.AstraClient,
    form: str,
    status: int,
    style: str,
    cls: type[errors.AstraError],
) -> None:
    await admin.fault(kind="echo_token", form=form, status=status, style=style, path=LIST)
    with pytest.raises(cls) as info:
        await astra.list_databases()
    error = info.value
    assert error.status == status
    assert error.message.startswith("credentials rejected: ")  # the echo did arrive...
    assert errors.REDACTED in error.message  # ...and was scrubbed
    for text in (str(error), error.message, repr(error), *map(str, error.args)):
        assert_no_token(text, sim.admin_token)


async def test_a_per_call_token_is_scrubbed_in_every_form(
    admin: simtools.Admin, astra: astra_client.AstraClient
) -> None:
    other = await admin.mint_token(["Organization Administrator"])
    await admin.fault(kind="echo_token", form="all", status=400, path=LIST)
    with pytest.raises(errors.InvalidRequest) as info:
        await astra.list_databases(token=other)
    assert info.value.message.count(errors.REDACTED) == len(FORMS) - 1
    assert_no_token(str(info.value) + repr(info.value), other)


# --- errors.scrub -----------------------------------------------------------------------------


def test_scrub_removes_every_form_of_a_given_secret() -> None:
    odd = "Legacy/Token+Value=="
    token = "AstraCS:ClientIdentifier:00ff" + secrets.token_hex(30)
    quoted = urllib.parse.quote(odd, safe="")
    for form in (
        odd,
        odd.swapcase(),
        quoted,
        quoted.lower(),
        urllib.parse.quote_plus(odd),
        urllib.parse.quote(odd),
        urllib.parse.quote(quoted, safe=""),
    ):
        assert errors.scrub(f"got {form}!", [odd]) == f"got {errors.REDACTED}!", form
    segment = token.rsplit(":", 1)[-1]
    for form in (segment, segment.upper(), "ClientIdentifier", token.swapcase()):
        assert errors.scrub(f"got {form}!", [token]) == f"got {errors.REDACTED}!", form


def test_short_segments_are_left_alone() -> None:
    token = "AstraCS:abc:" + secrets.token_hex(32)
    assert errors.scrub("abc and ABC", [token]) == "abc and ABC"


@pytest.mark.parametrize(
    "text",
    [
        "AstraCS:someone:abcdef0123",
        "ASTRACS:SOMEONE:ABCDEF0123",
        "astracs:someone:abcdef0123",
        "AstraCS%3Asomeone%3Aabcdef0123",
        "astracs%3asomeone%3aabcdef0123",
        "AstraCS%253Asomeone%253Aabcdef0123",
        "%22AstraCS%3Asomeone%3Aabcdef0123%22",
    ],
)
def test_anything_token_shaped_goes_in_any_case_and_encoding(text: str) -> None:
    scrubbed = errors.scrub(f"echo {text} end")
    assert "someone" not in scrubbed.lower()
    assert "abcdef0123" not in scrubbed.lower()
    assert scrubbed.startswith("echo ")
    assert "AstraCS:" + errors.REDACTED in scrubbed
    assert scrubbed.endswith(" end")


@pytest.mark.parametrize("text", ["Bearer x.y.z", "bearer%20x.y.z", "BEARER+x.y.z"])
def test_bearer_values_go_in_any_encoding(text: str) -> None:
    assert "x.y.z" not in errors.scrub(f"header {text}")


def test_scrubbing_is_idempotent() -> None:
    token = "AstraCS:someone:abcdef0123"
    once = errors.clean_message(f"bad {token} and Bearer {token}", [token])
    assert errors.clean_message(once, [token]) == once
    assert errors.clean_message(errors.clean_message("AstraCS:x:y")) == "AstraCS:" + errors.REDACTED


def test_many_secrets_scrub_in_one_pass() -> None:
    tokens = [f"AstraCS:client{i:04d}:{secrets.token_hex(32)}" for i in range(300)]
    scrub = errors.scrubber(tokens)
    text = " ".join(t.upper() for t in tokens[::37]) + " " + tokens[-1].rsplit(":", 1)[-1]
    for token in tokens:
        assert_no_token(scrub(text), token)


# --- the logging safety net -----------------------------------------------------------------


class _Rerendering(logging.Formatter):
    """Renders ``exc_info`` itself and ignores ``exc_text``, as python-json-logger does."""

    def format(self, record: logging.LogRecord) -> str:
        trace = self.formatException(record.exc_info) if record.exc_info else record.exc_text
        return f"{record.levelname} {record.getMessage()} | {trace or ''}"


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger(f"tests.redaction.{secrets.token_hex(4)}")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    yield log
    log.handlers.clear()


def _only(logger: logging.Logger, *handlers: logging.Handler) -> None:
    """Make these the logger's handlers (pytest adds its own to loggers that do not propagate)."""
    logger.handlers[:] = handlers


def _handler(formatter: logging.Formatter) -> tuple[logging.Handler, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    return handler, out


def test_log_filter_scrubs_args_and_tracebacks(logger: logging.Logger) -> None:
    token = f"AstraCS:RegisteredClientId:{secrets.token_hex(32)}"
    assert redaction.register_secret(token)
    stdlib, stdlib_out = _handler(logging.Formatter("%(levelname)s %(message)s"))
    rerender, rerender_out = _handler(_Rerendering())
    _only(logger, stdlib, rerender)
    assert redaction.install(logger) is redaction.install(logger)  # idempotent
    assert [len(h.filters) for h in logger.handlers] == [1, 1]

    logger.warning("upstream said %s (%r)", token.upper(), urllib.parse.quote(token, safe=""))
    try:
        raise RuntimeError(f"echo {token.rsplit(':', 1)[-1]} / {token.lower()}")
    except RuntimeError:
        logger.exception("call failed for %s", "db1")

    for out in (stdlib_out.getvalue(), rerender_out.getvalue()):
        assert_no_token(out, token)
        assert f"WARNING upstream said {errors.REDACTED} ('{errors.REDACTED}')" in out
        assert "ERROR call failed for db1" in out
        assert "Traceback (most recent call last)" in out
        assert f"RuntimeError: echo {errors.REDACTED} / {errors.REDACTED}" in out


def test_log_filter_leaves_clean_records_untouched(logger: logging.Logger) -> None:
    seen: list[tuple[object, ...]] = []

    class Snapshot(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append((record.msg, record.args, record.exc_info is None, record.exc_text))

    handler = Snapshot()
    _only(logger, handler)
    redaction.install(logger)
    try:
        raise ValueError("nothing secret")
    except ValueError:
        logger.exception("value %d of %s", 42, "x")
    assert seen == [("value %d of %s", (42, "x"), False, None)]


def test_log_filter_scrubs_a_cached_traceback_and_token_shapes(logger: logging.Logger) -> None:
    registry = redaction.SecretRegistry()
    handler, out = _handler(logging.Formatter("%(message)s"))
    handler.addFilter(redaction.RedactingFilter(registry))
    _only(logger, handler)
    token = f"AstraCS:UnregisteredYet:{secrets.token_hex(32)}"
    record = logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "failed", (), None)
    record.exc_text = f"Traceback...\nValueError: {token.rsplit(':', 1)[-1]}"
    assert registry.add(token)
    assert token in registry
    assert not registry.add("short")
    logger.handle(record)
    logger.info("%s", "ASTRACS%3Asomeone%3Aabcdef0123")
    assert_no_token(out.getvalue(), token)
    assert "abcdef0123" not in out.getvalue()
    assert f"ValueError: {errors.REDACTED}" in out.getvalue()


def test_install_without_a_logger_covers_root_and_the_event_poster() -> None:
    root, events = logging.getLogger(), logging.getLogger(redaction.EVENT_LOGGER)
    mine = [logging.NullHandler(), logging.NullHandler()]
    root.addHandler(mine[0])
    events.addHandler(mine[1])
    before = {h: list(h.filters) for h in [*root.handlers, *events.handlers]}
    try:
        installed = redaction.install()
        assert all(installed in h.filters for h in [*root.handlers, *events.handlers])
    finally:
        for handler, filters in before.items():
            handler.filters[:] = filters
        root.removeHandler(mine[0])
        events.removeHandler(mine[1])


def test_the_registry_keeps_the_most_recent_secrets() -> None:
    registry = redaction.SecretRegistry(limit=32)
    tokens = [f"AstraCS:client{i:04d}:{secrets.token_hex(32)}" for i in range(50)]
    for token in tokens:
        assert registry.add(f"  {token}\n")
    assert 32 - registry.GROUP <= len(registry) <= 32
    assert tokens[0] not in registry
    kept = tokens[-(32 - registry.GROUP) :]
    assert all(t in registry for t in kept)
    text = registry.scrub(" ".join(t.swapcase() for t in kept))
    for token in kept:
        assert_no_token(text, token)
