"""Turn a successful reply into wire models, failing with ``UnexpectedResponse`` if it can't."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from astra_operator.astra import errors, session

M = TypeVar("M", bound=BaseModel)
_BODY: object = object()  # "read the reply's body" (``None`` is a legitimate JSON value)


def unexpected(
    reply: session.Reply, problem: str, *, maybe_applied: bool = False
) -> errors.UnexpectedResponse:
    """An ``UnexpectedResponse`` about ``reply`` (the caller raises it)."""
    return errors.UnexpectedResponse(
        problem,
        status=reply.status,
        method=reply.method,
        path=reply.path,
        maybe_applied=maybe_applied,
    )


def body(reply: session.Reply) -> object:
    """The decoded JSON body of ``reply``."""
    try:
        return reply.json()
    except ValueError as exc:
        raise unexpected(reply, "the reply is not JSON") from exc


def one(reply: session.Reply, model: type[M], data: object = _BODY) -> M:
    """Validate the body (or ``data`` taken from it) as one ``model``."""
    raw = body(reply) if data is _BODY else data
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        # Not chained: a ValidationError's text quotes its input, which may hold a secret.
        raise unexpected(reply, f"cannot read {model.__name__}: {_summary(exc)}") from None


def many(reply: session.Reply, model: type[M], data: object = _BODY) -> list[M]:
    """Validate the body (or ``data`` taken from it) as a JSON array of ``model``."""
    raw = body(reply) if data is _BODY else data
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise unexpected(reply, f"expected a JSON array of {model.__name__}")
    return [one(reply, model, item) for item in raw]


def _summary(exc: ValidationError) -> str:
    """Where validation failed and why, without the input values (they may hold secrets)."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False)[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)
