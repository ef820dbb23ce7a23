"""Request checks shared by endpoints: operation-vs-status rules and typed body fields."""

from __future__ import annotations

import re
from typing import Any

from astra_operator.simulator import model, wire

KEYSPACE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_]{0,48}$")
CLASSIC_ONLY = frozenset({"park", "unpark", "resize", "resetPassword"})


def require_action(db: model.Database, action: str) -> None:
    """409 unless ``action`` is in the database's ``availableActions`` right now."""
    if action in model.available_actions(db.status, db.classic):
        return
    if action in CLASSIC_ONLY and not db.classic:
        raise wire.ApiError(409, f"{action} is not supported for serverless databases")
    if db.status == "MAINTENANCE":
        raise wire.ApiError(
            409,
            "the database is in MAINTENANCE: concurrent modifications are not allowed, "
            "retry once it is ACTIVE",
        )
    raise wire.ApiError(409, f"{action} is not allowed while the database is {db.status}")


def json_object(body: object, what: str = "request body") -> dict[str, Any]:
    """``body`` as a JSON object, else 400."""
    if not isinstance(body, dict):
        raise wire.ApiError(400, f"{what} must be a JSON object")
    return body


def text(body: dict[str, Any], key: str) -> str:
    """A required, non-empty string field, else 400."""
    value = body.get(key)
    if value is None or value == "":
        raise wire.ApiError(400, f"{key} is required")
    if not isinstance(value, str):
        raise wire.ApiError(400, f"{key} must be a string")
    return value


def integer(body: dict[str, Any], key: str) -> int:
    """A required integer field, else 400."""
    value = body.get(key)
    if value is None:
        raise wire.ApiError(400, f"{key} is required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise wire.ApiError(400, f"{key} must be an integer")
    return value
