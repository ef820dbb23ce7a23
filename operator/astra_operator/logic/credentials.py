"""Pure checks of an Astra token read from a Secret: say what is wrong, never the value."""

from __future__ import annotations


def problem(value: str) -> str | None:
    """Why ``value`` cannot be sent as a bearer token, or ``None`` when it can."""
    if not value.strip():
        return "is empty (or only whitespace)"
    if any(c.isspace() for c in value.strip()):
        return "contains whitespace (a space, tab or line break) inside the token"
    if not value.isascii():
        return "contains non-ASCII characters"
    if not value.strip().isprintable():
        return "contains control characters"
    return None


NOT_UTF8 = "is not UTF-8 text"
