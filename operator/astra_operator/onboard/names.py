"""Kubernetes object names for exported Astra objects: valid DNS-1123 labels, unique per kind.

An Astra name becomes lower case, every run of characters other than a-z, 0-9 and '-' becomes
one '-', and '-' is trimmed from both ends; at most 63 characters. Names that collide get
``-<the first 8 characters of the Astra ID>``; the object that comes first in the order the
caller gives (the oldest database) keeps the plain name, so exporting again after more
databases were made renames nothing that was exported before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

MAX: Final = 63
"""A DNS-1123 label's length limit (kubectl, Services and labels use labels)."""
_INVALID: Final = re.compile(r"[^a-z0-9-]+")
_DASHES: Final = re.compile(r"-{2,}")


def sanitize(text: str, fallback: str) -> str:
    """``text`` as a DNS-1123 label, or ``fallback`` (already valid) when nothing is left."""
    name = _DASHES.sub("-", _INVALID.sub("-", text.lower())).strip("-")
    return name[:MAX].rstrip("-") or fallback


def _suffixed(base: str, suffix: str) -> str:
    return f"{base[: MAX - len(suffix) - 1].rstrip('-')}-{suffix}"


def _candidates(base: str, astra_id: str) -> Iterable[str]:
    ident = sanitize(astra_id, "x")
    yield base
    yield _suffixed(base, ident[:8])
    whole = ident.replace("-", "")
    yield _suffixed(base, whole[:32])
    n = 2
    while True:
        yield _suffixed(base, f"{whole[:24]}-{n}")
        n += 1


def assign(items: Iterable[tuple[str, str]], prefix: str) -> dict[str, str]:
    """Unique names for ``(astra_name, astra_id)`` pairs, in the order given; by Astra ID.

    ``prefix`` (e.g. ``db``) names an object whose Astra name leaves nothing:
    ``<prefix>-<first 8 of the ID>``.
    """
    taken: set[str] = set()
    names: dict[str, str] = {}
    for astra_name, astra_id in items:
        if astra_id in names:
            continue
        base = sanitize(astra_name, sanitize(f"{prefix}-{astra_id[:8]}", prefix))
        name = next(c for c in _candidates(base, astra_id) if c not in taken)
        taken.add(name)
        names[astra_id] = name
    return names
