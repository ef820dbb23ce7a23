"""Where the real API is known to answer the same call in more than one way: which way we answer.

Set through ``/_sim/variants`` so a client can be tested against every behaviour it may meet.
"""

from __future__ import annotations

import dataclasses
from typing import Any

# Adding a keyspace that exists: 201 and nothing changes (Astra's docs, its Python client), or 422.
EXISTING_KEYSPACE = (201, 422)


@dataclasses.dataclass(slots=True)
class Variants:
    """The behaviour chosen for each known variation; the defaults are what Astra documents."""

    existing_keyspace: int = 201

    def as_json(self) -> dict[str, Any]:
        """The admin API's shape."""
        return {"existingKeyspace": self.existing_keyspace}

    def update(self, raw: object) -> None:
        """Apply an admin body (only the keys given change); ValueError says what is wrong."""
        if not isinstance(raw, dict):
            raise ValueError("the body must be a JSON object")
        unknown = sorted(set(raw) - {"existingKeyspace"})
        if unknown:
            raise ValueError(f"unknown variant(s): {', '.join(unknown)}; known: existingKeyspace")
        if "existingKeyspace" in raw:
            value = raw["existingKeyspace"]
            if isinstance(value, bool) or value not in EXISTING_KEYSPACE:
                raise ValueError("existingKeyspace must be 201 or 422")
            self.existing_keyspace = int(value)
