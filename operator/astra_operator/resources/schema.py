"""Turn a pydantic model's JSON schema into a Kubernetes *structural* OpenAPI v3 schema.

pydantic emits JSON Schema 2020-12; a CRD needs a structural schema (every node typed, no
references, no unions). The conversion is a generic walk, not per-model code:

* ``$ref`` into ``$defs`` (and a single-element ``allOf``) is inlined; keywords next to the
  reference (a field's description, its CEL rules) override the referenced model's;
* ``anyOf: [T, {type: null}]`` (an ``Optional``) collapses to ``T``: absence means None, and
  the apiserver prunes explicit nulls of non-nullable fields;
* descriptions (docstrings wrapped for the source) are reflowed: lines within a paragraph
  are joined, blank lines between paragraphs kept;
* ``title`` is dropped, as is ``additionalProperties: false`` (pruning already drops unknown
  fields) and any ``default`` that is null or an empty list/object (it would only add noise to
  every stored object and means the same as absence);
* ``const`` becomes a one-value ``enum``; numeric ``exclusiveMinimum``/``exclusiveMaximum``
  become OpenAPI v3.0 ``minimum`` + ``exclusiveMinimum: true``; ``uniqueItems`` becomes
  ``x-kubernetes-list-type: set``; ``additionalProperties: true`` becomes
  ``x-kubernetes-preserve-unknown-fields``;
* string enums get ``maxLength`` (the longest value) so CEL cost estimation stays bounded.

Anything else that a structural schema cannot express (unions, recursion, untyped nodes,
unknown keywords) raises :class:`SchemaError` naming the offending path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Final

from pydantic import BaseModel

from astra_operator.resources import common

_NULL: Final[common.JsonDict] = {"type": "null"}
_PASSTHROUGH: Final = frozenset(
    {
        "enum",
        "format",
        "maxItems",
        "maxLength",
        "maxProperties",
        "maximum",
        "minItems",
        "minLength",
        "minProperties",
        "minimum",
        "multipleOf",
        "pattern",
        "type",
    }
)
_DROPPED: Final = frozenset({"title", "examples", "readOnly", "writeOnly", "deprecated"})
_UNTYPED_OK: Final = ("x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields")


class SchemaError(ValueError):
    """The model cannot be expressed as a structural schema."""


@dataclasses.dataclass(frozen=True)
class _Context:
    defs: Mapping[str, common.JsonValue]
    path: str
    seen: frozenset[str] = frozenset()

    def at(self, step: str) -> _Context:
        return dataclasses.replace(self, path=f"{self.path}{step}")

    def fail(self, problem: str) -> SchemaError:
        return SchemaError(f"{self.path or '<root>'}: {problem}")


def structural_schema(model: type[BaseModel]) -> common.JsonDict:
    """The structural schema of ``model`` (validation mode: what users may write)."""
    raw = model.model_json_schema(mode="validation")
    defs = raw.pop("$defs", {})
    if not isinstance(defs, dict):
        raise SchemaError(f"{model.__name__}: $defs is not an object")
    return convert(raw, defs)


def convert(
    node: common.JsonDict, defs: Mapping[str, common.JsonValue], path: str = ""
) -> common.JsonDict:
    """Convert one JSON-schema node whose ``$ref`` targets live in ``defs``."""
    return _convert(node, _Context(defs=defs, path=path))


def _as_dict(value: common.JsonValue, ctx: _Context) -> common.JsonDict:
    if not isinstance(value, dict):
        raise ctx.fail(f"expected a schema object, got {value!r}")
    return value


def _flatten(node: common.JsonDict, ctx: _Context) -> tuple[common.JsonDict, _Context]:
    """Inline references and collapse Optional unions; siblings override the target."""
    own = dict(node)
    if "$ref" in own:
        ref = own.pop("$ref")
        name = str(ref).rpartition("/")[2]
        if name in ctx.seen:
            raise ctx.fail(f"model {name} refers to itself; structural schemas cannot recurse")
        if name not in ctx.defs:
            raise ctx.fail(f"unresolvable reference {ref!r}")
        ctx = dataclasses.replace(ctx, seen=ctx.seen | {name})
        target = _as_dict(ctx.defs[name], ctx)
    elif "anyOf" in own or "allOf" in own:
        variants = own.pop("anyOf", None) or own.pop("allOf", None)
        if not isinstance(variants, list):
            raise ctx.fail("anyOf/allOf must be a list")
        rest = [v for v in variants if v != _NULL]
        if len(rest) != 1:
            raise ctx.fail("unions other than Optional[T] cannot be expressed in a CRD")
        target = _as_dict(rest[0], ctx)
    else:
        return own, ctx
    base, ctx = _flatten(target, ctx)
    return {**base, **own}, ctx


def _description(out: common.JsonDict, value: common.JsonValue, ctx: _Context) -> None:
    paragraphs = str(value).split("\n\n")
    out["description"] = "\n\n".join(" ".join(p.split()) for p in paragraphs)


def _properties(out: common.JsonDict, value: common.JsonValue, ctx: _Context) -> None:
    props = _as_dict(value, ctx)
    out["properties"] = {
        name: _convert(_as_dict(sub, ctx), ctx.at(f".{name}")) for name, sub in props.items()
    }


def _items(out: common.JsonDict, value: common.JsonValue, ctx: _Context) -> None:
    out["items"] = _convert(_as_dict(value, ctx), ctx.at("[]"))


def _additional_properties(out: common.JsonDict, value: common.JsonValue, ctx: _Context) -> None:
    if value is True:
        out["x-kubernetes-preserve-unknown-fields"] = True
    elif value is not False:
        out["additionalProperties"] = _convert(_as_dict(value, ctx), ctx.at("{}"))


def _default(out: common.JsonDict, value: common.JsonValue, ctx: _Context) -> None:
    if value not in (None, [], {}):
        out["default"] = value


def _const(out: common.JsonDict, value: common.JsonValue, ctx: _Context) -> None:
    out["enum"] = [value]


def _exclusive(
    keyword: str, bound: str
) -> Callable[[common.JsonDict, common.JsonValue, _Context], None]:
    def handle(out: common.JsonDict, value: common.JsonValue, ctx: _Context) -> None:
        if isinstance(value, bool):  # already OpenAPI v3.0 style
            out[keyword] = value
            return
        out[bound] = value
        out[keyword] = True

    return handle


def _unique_items(out: common.JsonDict, value: common.JsonValue, ctx: _Context) -> None:
    if value is True:
        out.setdefault("x-kubernetes-list-type", "set")


def _required(out: common.JsonDict, value: common.JsonValue, ctx: _Context) -> None:
    if value:
        out["required"] = value


def _pattern(out: common.JsonDict, value: common.JsonValue, ctx: _Context) -> None:
    """A registered pattern becomes a CEL rule that says in words what is wrong."""
    message = common.PATTERN_MESSAGES.get(str(value))
    if message is None:
        out["pattern"] = value
        return
    literal = str(value).replace("\\", "\\\\").replace("'", "\\'")
    rules = out.setdefault("x-kubernetes-validations", [])
    assert isinstance(rules, list)
    rules.insert(0, {"rule": f"self.matches('{literal}')", "message": message})


_HANDLERS: Final[dict[str, Callable[[common.JsonDict, common.JsonValue, _Context], None]]] = {
    "pattern": _pattern,
    "description": _description,
    "properties": _properties,
    "items": _items,
    "additionalProperties": _additional_properties,
    "default": _default,
    "const": _const,
    "exclusiveMinimum": _exclusive("exclusiveMinimum", "minimum"),
    "exclusiveMaximum": _exclusive("exclusiveMaximum", "maximum"),
    "uniqueItems": _unique_items,
    "required": _required,
}


def _convert(node: common.JsonDict, ctx: _Context) -> common.JsonDict:
    flat, ctx = _flatten(node, ctx)
    out: common.JsonDict = {}
    for key, value in flat.items():
        handler = _HANDLERS.get(key)
        if handler is not None:
            handler(out, value, ctx)
        elif key == "x-kubernetes-validations" and isinstance(value, list):
            rules = out.setdefault(key, [])
            assert isinstance(rules, list)
            rules.extend(value)
        elif key in _PASSTHROUGH or key.startswith("x-kubernetes-"):
            out[key] = value
        elif key not in _DROPPED:
            raise ctx.fail(f"JSON-schema keyword {key!r} has no structural equivalent")
    _complete_type(out, ctx)
    return out


def _enum_type(values: list[common.JsonValue], ctx: _Context) -> str:
    kinds = {type(v) for v in values}
    for python_type, name in ((str, "string"), (bool, "boolean"), (int, "integer")):
        if kinds == {python_type}:
            return name
    raise ctx.fail(f"enum values must share one scalar type: {values!r}")


def _complete_type(out: common.JsonDict, ctx: _Context) -> None:
    """Give every node a single type, as a structural schema requires."""
    enum = out.get("enum")
    if isinstance(enum, list) and "type" not in out:
        out["type"] = _enum_type(enum, ctx)
    if "type" not in out and (
        "properties" in out or "additionalProperties" in out or _UNTYPED_OK[1] in out
    ):
        out["type"] = "object"
    if isinstance(enum, list) and out.get("type") == "string" and "maxLength" not in out:
        out["maxLength"] = max(len(str(v)) for v in enum)
    kind = out.get("type")
    if kind is None and not any(k in out for k in _UNTYPED_OK):
        raise ctx.fail("node has no type (Any or an unsupported union?)")
    if kind is not None and not isinstance(kind, str):
        raise ctx.fail(f"type must be a single name, got {kind!r}")
