"""The Astra client's error tree, and the mapping of an HTTP error reply onto it.

Every failure of a call to the DevOps API surfaces as an ``AstraError`` subclass, so nothing above
this package ever sees an httpx exception. Messages are scrubbed of anything that looks like a
token and truncated; paths never carry a query string. This module imports no HTTP library, so
pure layers may catch these errors without pulling httpx in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

MAX_MESSAGE = 300
REDACTED = "<redacted>"

_TOKEN_RE = re.compile(r"AstraCS:[A-Za-z0-9_:+/=.\-]*")
_BEARER_RE = re.compile(r"(?i)\bbearer\s+[^\s\"',;]+")
_TAG_RE = re.compile(r"<[^>]*>")
_SPACE_RE = re.compile(r"\s+")
_TITLE_RE = re.compile(r"(?is)<title[^>]*>(.*?)</title>")


class AstraError(Exception):
    """A call to the DevOps API failed.

    ``status`` is the HTTP status (``None`` when no reply arrived), ``error_ids`` the numeric ids of
    the API's ``errors[]`` entries, ``retry_after`` the server's requested wait in seconds if any,
    and ``maybe_applied`` is true when a call with side effects may have taken effect although it
    reported failure (a lost reply, a 5xx): the caller must look before repeating it.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_ids: tuple[int, ...] = (),
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
        maybe_applied: bool = False,
    ) -> None:
        self.message = clean_message(message)
        self.status = status
        self.error_ids = error_ids
        self.method = method
        self.path = path.split("?", 1)[0]
        self.retry_after = retry_after
        self.maybe_applied = maybe_applied
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f"{self.method} {self.path}".strip()
        what = f"HTTP {self.status}" if self.status is not None else "no response"
        text = f"{where}: {what}" if where else what
        if self.message:
            text += f": {self.message}"
        if self.error_ids:
            text += f" (error ids {', '.join(str(i) for i in self.error_ids)})"
        if self.maybe_applied:
            text += " [the request may have been applied]"
        return text


class InvalidRequest(AstraError):  # noqa: N818 (the project's names)
    """400 or 422: the request was malformed or not acceptable (bad tier, region, name...)."""


class Unauthorized(AstraError):  # noqa: N818 (the project's names)
    """401: bad or revoked token, or (on most database endpoints) a missing permission."""


class Forbidden(AstraError):  # noqa: N818 (the project's names)
    """403: the token may not do this (roles, tokens, access-list endpoints)."""


class NotFound(AstraError):  # noqa: N818 (the project's names)
    """404: no such database, role, datacenter or access list (or not visible to the token)."""


class Conflict(AstraError):  # noqa: N818 (the project's names)
    """409: the object is in a state that forbids the operation (e.g. MAINTENANCE)."""


class RateLimited(AstraError):  # noqa: N818 (the project's names)
    """429: too many requests; ``retry_after`` holds the server's wait in seconds if it gave one."""


class ServerError(AstraError):
    """5xx: the API failed; for calls with side effects ``maybe_applied`` is set."""


class TransportError(AstraError):
    """No usable reply: connection refused or reset, timeout, protocol error.

    ``maybe_applied`` is true when the request may have reached the server (anything after the
    connection was established) and it has side effects; false when it was never sent.
    """


class UnexpectedResponse(AstraError):  # noqa: N818 (the project's names)
    """A 2xx reply this client cannot use (wrong status, missing Location, unreadable body)."""


_BY_STATUS: dict[int, type[AstraError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: InvalidRequest,
    429: RateLimited,
}


def error_class(status: int) -> type[AstraError]:
    """The error class for an HTTP error status (the base class for unmapped ones)."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, AstraError)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove tokens (``AstraCS:...``, ``Bearer ...``) and the given secret strings from text."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _TOKEN_RE.sub("AstraCS:" + REDACTED, text)
    return _BEARER_RE.sub("Bearer " + REDACTED, text)


def clean_message(text: str, secrets: Iterable[str] = ()) -> str:
    """Scrub, collapse whitespace and truncate a message to ``MAX_MESSAGE`` characters."""
    text = _SPACE_RE.sub(" ", scrub(text, secrets)).strip()
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 3].rstrip() + "..."
    return text


def parse_error_body(content: bytes, content_type: str = "") -> tuple[str, tuple[int, ...]]:
    """Extract ``(message, error ids)`` from an error reply of any shape.

    Handles the DevOps ``{"errors": [{"ID": n, "message": ...}]}`` object (and lower-case ``id``),
    a bare list of such entries, ``{"message": ...}``, a JSON string, ``null``, an empty body,
    plain text and HTML.
    """
    text = content.decode("utf-8", errors="replace").strip()
    if not text:
        return "", ()
    try:
        decoded: object = json.loads(text)
    except ValueError:
        return _plain_text(text, content_type), ()
    return _from_json(decoded)


def _plain_text(text: str, content_type: str) -> str:
    if "html" not in content_type.lower() and not text.startswith("<"):
        return text
    title = _TITLE_RE.search(text)
    if title and title.group(1).strip():
        return title.group(1)
    return _TAG_RE.sub(" ", text)


def _from_json(decoded: object) -> tuple[str, tuple[int, ...]]:
    if decoded is None:
        return "", ()
    if isinstance(decoded, str):
        return decoded, ()
    if isinstance(decoded, dict):
        entries = decoded.get("errors")
        if isinstance(entries, list):
            return _from_entries(entries)
        if isinstance(entries, str):
            return entries, ()
        return _from_entries([decoded])
    if isinstance(decoded, list):
        return _from_entries(decoded)
    return str(decoded), ()


def _from_entries(entries: list[object]) -> tuple[str, tuple[int, ...]]:
    messages: list[str] = []
    ids: list[int] = []
    for entry in entries:
        if isinstance(entry, str):
            messages.append(entry)
            continue
        if not isinstance(entry, dict):
            continue
        message = entry.get("message", entry.get("error", entry.get("description")))
        if message is not None:
            messages.append(str(message))
        ident = _as_int(entry.get("ID", entry.get("id", entry.get("Id"))))
        if ident is not None:
            ids.append(ident)
    return "; ".join(messages), tuple(ids)


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def from_reply(
    status: int,
    content: bytes,
    *,
    content_type: str = "",
    reason: str = "",
    method: str = "",
    path: str = "",
    retry_after: float | None = None,
    maybe_applied: bool = False,
    secrets: Iterable[str] = (),
) -> AstraError:
    """Build the right ``AstraError`` for an HTTP error reply (the caller raises it)."""
    message, ids = parse_error_body(content, content_type)
    return error_class(status)(
        clean_message(message or reason, secrets),
        status=status,
        error_ids=ids,
        method=method,
        path=path,
        retry_after=retry_after,
        maybe_applied=maybe_applied,
    )
