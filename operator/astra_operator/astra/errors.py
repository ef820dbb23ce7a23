"""The Astra client's error tree, and the mapping of an HTTP error reply onto it.

Every failure of a call to the DevOps API surfaces as an ``AstraError`` subclass, so nothing above
this package ever sees an httpx exception. Messages are scrubbed of anything that looks like a
token and of the caller's token in any form an upstream may echo it (any letter case,
URL-encoded, its secret segment alone), then truncated; paths never carry a query string. This
is the only module that knows how to scrub (``redaction`` applies it to log records). It imports
no HTTP library, so pure layers may catch these errors without pulling httpx in.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable

MAX_MESSAGE = 300
REDACTED = "<redacted>"
# A segment of an ``AstraCS:`` token this long or longer is redacted on its own wherever it
# appears; shorter ones are too likely to be ordinary words.
MIN_SEGMENT = 8

_TOKEN_PREFIX = "astracs:"
# ``AstraCS:`` in any case, with its colon plain, URL-encoded or URL-encoded twice.
_TOKEN_RE = re.compile(r"(?i)astracs(?::|%3a|%253a)[a-z0-9_:+/=.%\-]+")
_BEARER_RE = re.compile(r"(?i)\bbearer(?:\s+|%20|\+)[^\s\"',;]+")
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


def _encodings(value: str) -> set[str]:
    """``value`` as it may be echoed: verbatim, URL-encoded (quote, quote_plus) and twice so."""
    once = urllib.parse.quote(value, safe="")
    return {
        value,
        once,
        urllib.parse.quote(value),
        urllib.parse.quote_plus(value),
        urllib.parse.quote(once, safe=""),
    }


def secret_forms(secret: str) -> list[str]:
    """Every string that gives ``secret`` away, longest first (matched in any letter case).

    The secret itself and its URL-encoded forms; for an ``AstraCS:<clientId>:<secret>`` token
    also each segment after the prefix of at least ``MIN_SEGMENT`` characters, alone.
    """
    pieces = [secret]
    if secret.lower().startswith(_TOKEN_PREFIX):
        pieces += [s for s in secret[len(_TOKEN_PREFIX) :].split(":") if len(s) >= MIN_SEGMENT]
    forms: dict[str, str] = {}
    for piece in pieces:
        for form in _encodings(piece):
            forms.setdefault(form.lower(), form)
    return sorted(forms.values(), key=len, reverse=True)


_Trie = dict[str, "_Trie"]
_END = ""  # the key marking the end of a word in a trie node


def _trie_pattern(node: _Trie) -> str:
    """A regex for the words of the trie below ``node``, longest match first.

    One branch per next character, so scanning text costs about as much for hundreds of secrets
    as for one (an alternation of the words themselves grows linearly).
    """
    branches = [re.escape(ch) + _trie_pattern(child) for ch, child in node.items() if ch != _END]
    if not branches:
        return ""
    if len(branches) == 1 and _END not in node:
        return branches[0]
    return "(?:" + "|".join(branches) + (")?" if _END in node else ")")


def _words_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    """A case-insensitive regex matching any of ``words`` (the longest one at each place)."""
    root: _Trie = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch.lower() if ch.isascii() else ch, {})
        node[_END] = {}
    return re.compile(_trie_pattern(root), re.IGNORECASE) if root else None


def scrubber(secrets: Iterable[str], *, generic: bool = True) -> Callable[[str], str]:
    """``scrub`` compiled for a fixed set of secrets: build it once, apply it to many texts.

    Building costs about a millisecond per secret. ``generic=False`` leaves out the patterns
    for anything token-shaped (for callers that chain several scrubbers and apply them last).
    """
    known = _words_pattern(f for s in secrets if s for f in secret_forms(s))

    def scrub_known(text: str) -> str:
        if known is not None:
            text = known.sub(REDACTED, text)
        if generic:
            text = _TOKEN_RE.sub("AstraCS:" + REDACTED, text)
            text = _BEARER_RE.sub("Bearer " + REDACTED, text)
        return text

    return scrub_known


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove tokens (``AstraCS:...``, ``Bearer ...``) and the given secret strings from text.

    Each secret goes in any letter case, URL-encoded (upper- or lower-case percent hex) and, for
    an ``AstraCS:`` token, its secret segment alone (see ``secret_forms``). Anything shaped like a
    token, ``AstraCS:`` in any case with a plain or ``%3A`` colon, goes too.
    """
    return _cached_scrubber(tuple(secrets))(text)


_cached_scrubber = functools.lru_cache(maxsize=256)(scrubber)


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
