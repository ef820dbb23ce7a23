"""Injected faults: parse the admin API's fault objects, queue them, pick those a request hits."""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from typing import Any

REQUEST_KINDS = frozenset(
    {"status", "latency", "drop_response", "echo_token", "shuffle_datacenters"}
)
CREATE_KINDS = frozenset({"not_found_after_create", "create_error"})
FAULT_STATUSES = frozenset({401, 403, 429, 500, 502, 503, 504})
ECHO_FORMS = (
    "plain",
    "upper",
    "lower",
    "urlencoded",
    "urlencoded_lower",
    "secret_segment",
    "all",
)
ECHO_STYLES = frozenset({"errors", "string", "text"})  # wire.Style values that carry a message


@dataclasses.dataclass(slots=True)
class Fault:
    """One queued fault; ``count`` is how many more requests (or creates) it affects."""

    kind: str
    count: int = 1
    method: str | None = None
    path: re.Pattern[str] | None = None
    status: int = 503
    retry_after: float | None = None
    seconds: float = 0.0
    after: bool = False  # latency only: do the work first, then hold the response back
    form: str = "plain"  # echo_token only: how the bearer token is echoed
    style: str = "errors"  # echo_token only: the error body's shape (a wire.Style value)

    def matches(self, method: str, path: str) -> bool:
        """Does this request-level fault select ``method path``?"""
        if self.method is not None and self.method != method:
            return False
        return self.path is None or self.path.search(path) is not None

    def as_json(self) -> dict[str, Any]:
        """The fault as the admin API shows it back."""
        body: dict[str, Any] = {"kind": self.kind, "count": self.count}
        if self.method is not None:
            body["method"] = self.method
        if self.path is not None:
            body["path"] = self.path.pattern
        if self.kind == "status":
            body["status"] = self.status
            if self.retry_after is not None:
                body["retryAfter"] = self.retry_after
        if self.kind in ("latency", "not_found_after_create"):
            body["seconds"] = self.seconds
        if self.kind == "latency":
            body["after"] = self.after
        if self.kind == "echo_token":
            body.update(status=self.status, form=self.form, style=self.style)
        return body


def echo(token: str, form: str) -> str:
    """``token`` as an upstream that echoes it might write it, in ``form`` (see ECHO_FORMS)."""
    encoded = urllib.parse.quote(token, safe="")
    forms = {
        "plain": token,
        "upper": token.upper(),
        "lower": token.lower(),
        "urlencoded": encoded,
        "urlencoded_lower": encoded.lower(),
        "secret_segment": token.rsplit(":", 1)[-1],
    }
    if form == "all":
        return "; ".join(f"{name} {value}" for name, value in forms.items())
    return forms[form]


def echo_message(authorization: str | None, form: str) -> str:
    """The error message of an ``echo_token`` fault for a request's Authorization header."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else (authorization or "").strip()
    return f"credentials rejected: {echo(token, form)}"


def _number(raw: dict[str, Any], key: str, default: float | None) -> float | None:
    value = raw.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{key} must be a number >= 0")
    return float(value)


def _selectors(raw: dict[str, Any]) -> tuple[str | None, re.Pattern[str] | None, int]:
    method, path, count = raw.get("method"), raw.get("path"), raw.get("count", 1)
    if method is not None and not isinstance(method, str):
        raise ValueError('method must be a string such as "GET"')
    if path is not None and not isinstance(path, str):
        raise ValueError("path must be a regular expression string")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError("count must be an integer >= 1")
    try:
        pattern = re.compile(path) if path is not None else None
    except re.error as exc:
        raise ValueError(f"path is not a valid regular expression: {exc}") from None
    return (method.upper() if method else None), pattern, count


def parse(raw: object) -> Fault:
    """A :class:`Fault` from its JSON object; ValueError says what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("a fault must be a JSON object")
    kind = raw.get("kind")
    if kind not in REQUEST_KINDS | CREATE_KINDS:
        known = ", ".join(sorted(REQUEST_KINDS | CREATE_KINDS))
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {known}")
    method, path, count = _selectors(raw)
    fault = Fault(str(kind), count, method, path)
    if kind == "status":
        status = raw.get("status", 503)
        if status not in FAULT_STATUSES:
            raise ValueError(f"status must be one of {sorted(FAULT_STATUSES)}")
        fault.status = int(status)
        fault.retry_after = _number(raw, "retryAfter", None)
    if kind in ("latency", "not_found_after_create"):
        fault.seconds = _number(raw, "seconds", 1.0) or 0.0
    if kind == "latency":
        after = raw.get("after", False)
        if not isinstance(after, bool):
            raise ValueError("after must be true or false")
        fault.after = after
    if kind == "echo_token":
        _echo_options(fault, raw)
    return fault


def _echo_options(fault: Fault, raw: dict[str, Any]) -> None:
    status, form, style = raw.get("status", 500), raw.get("form", "plain"), raw.get("style")
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise ValueError("status must be an HTTP error status, 400 to 599")
    if form not in ECHO_FORMS:
        raise ValueError(f"form must be one of {', '.join(ECHO_FORMS)}")
    if style is not None and style not in ECHO_STYLES:
        raise ValueError(f"style must be one of {', '.join(sorted(ECHO_STYLES))}")
    fault.status, fault.form, fault.style = status, str(form), str(style or "errors")


class FaultQueue:
    """Faults waiting to hit requests, in the order they were queued."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def add(self, faults: list[Fault]) -> None:
        """Queue more faults."""
        self.faults.extend(faults)

    def clear(self) -> None:
        """Drop every queued fault."""
        self.faults.clear()

    def take_for_request(self, method: str, path: str) -> list[Fault]:
        """The first queued fault of each kind that selects this request, one use consumed.

        So ``[503 x2, 502]`` answers 503, 503, 502; a latency and a status fault can combine.
        """
        if not self.faults:
            return []
        hit: dict[str, Fault] = {}
        for fault in self.faults:
            if (
                fault.kind in REQUEST_KINDS
                and fault.kind not in hit
                and fault.matches(method, path)
            ):
                hit[fault.kind] = fault
        self._consume(list(hit.values()))
        return list(hit.values())

    def take_for_create(self, kind: str) -> Fault | None:
        """The first queued create-time fault of ``kind``, with one use consumed."""
        fault = next((f for f in self.faults if f.kind == kind), None)
        if fault is not None:
            self._consume([fault])
        return fault

    def _consume(self, used: list[Fault]) -> None:
        for fault in used:
            fault.count -= 1
        if used:
            self.faults = [f for f in self.faults if f.count > 0]
