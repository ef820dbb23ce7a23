"""The generic pydantic -> structural-schema conversion, on small models made for each rule.

Pure: only pydantic's JSON schema and our converter; nothing Kubernetes-specific runs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from astra_operator.resources import crd, schema


class Inner(BaseModel):
    """Inner model docstring."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    value: int = 0
    """An inner value."""


class Outer(BaseModel):
    """Outer model."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    required_text: str
    """Wrapped over
    two lines.

    Second paragraph."""
    optional_text: Annotated[str, Field(max_length=5)] | None = None
    inner: Inner | None = None
    described_inner: Inner = Field(default_factory=Inner, description="Field description wins.")
    fixed: Literal["only"] = "only"
    choice: Literal["a", "bb"] = "a"
    positive: Annotated[int, Field(gt=0, lt=10)] = 1
    names: tuple[str, ...] = ()
    unique: frozenset[str] = frozenset()
    labels: dict[str, str] = {}
    opaque: dict[str, object] | None = None
    checked: int = Field(default=1, json_schema_extra=crd.validations(crd.rule("self > 0", "m")))


@pytest.fixture(scope="module")
def converted() -> dict[str, Any]:
    out: dict[str, Any] = schema.structural_schema(Outer)
    return out


def test_titles_and_closed_objects_are_dropped(converted: dict[str, Any]) -> None:
    assert "title" not in converted
    assert "additionalProperties" not in converted
    assert converted["type"] == "object"
    assert converted["required"] == ["required_text"]


def test_descriptions_are_reflowed(converted: dict[str, Any]) -> None:
    text = converted["properties"]["required_text"]["description"]
    assert text == "Wrapped over two lines.\n\nSecond paragraph."


def test_optional_collapses_to_its_type_without_null_default(converted: dict[str, Any]) -> None:
    assert converted["properties"]["optional_text"] == {"type": "string", "maxLength": 5}


def test_references_are_inlined_and_siblings_override(converted: dict[str, Any]) -> None:
    inner = converted["properties"]["inner"]
    assert inner["description"] == "Inner model docstring."
    assert inner["properties"]["value"] == {
        "type": "integer",
        "default": 0,
        "description": "An inner value.",
    }
    described = converted["properties"]["described_inner"]
    assert described["description"] == "Field description wins."
    assert described["type"] == "object"


def test_const_becomes_enum_with_bounded_length(converted: dict[str, Any]) -> None:
    fixed = converted["properties"]["fixed"]
    assert fixed["enum"] == ["only"]
    assert fixed["type"] == "string"
    assert fixed["maxLength"] == 4
    assert converted["properties"]["choice"]["maxLength"] == 2


def test_exclusive_bounds_use_openapi_v3_0_form(converted: dict[str, Any]) -> None:
    positive = converted["properties"]["positive"]
    assert positive["minimum"] == 0
    assert positive["exclusiveMinimum"] is True
    assert positive["maximum"] == 10
    assert positive["exclusiveMaximum"] is True


def test_collections(converted: dict[str, Any]) -> None:
    props = converted["properties"]
    assert props["names"] == {"type": "array", "items": {"type": "string"}}  # empty default gone
    assert props["unique"]["x-kubernetes-list-type"] == "set"
    assert "uniqueItems" not in props["unique"]
    assert props["labels"] == {"type": "object", "additionalProperties": {"type": "string"}}
    assert props["opaque"] == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def test_extension_keywords_pass_through(converted: dict[str, Any]) -> None:
    checked = converted["properties"]["checked"]
    assert checked["x-kubernetes-validations"] == [{"rule": "self > 0", "message": "m"}]


class Either(BaseModel):
    value: int | str


class Untyped(BaseModel):
    value: Any


class Node(BaseModel):
    child: Node | None = None


@pytest.mark.parametrize(
    ("model", "problem"),
    [
        pytest.param(Either, "unions other than Optional", id="union"),
        pytest.param(Untyped, "no type", id="any"),
        pytest.param(Node, "refers to itself", id="recursive"),
    ],
)
def test_unsupported_models_are_refused(model: type[BaseModel], problem: str) -> None:
    with pytest.raises(schema.SchemaError, match=problem):
        schema.structural_schema(model)


def test_unknown_keywords_are_refused() -> None:
    with pytest.raises(schema.SchemaError, match=r"\.x: JSON-schema keyword 'not'"):
        schema.convert({"type": "object", "properties": {"x": {"not": {}}}}, {})


def test_mixed_enums_are_refused() -> None:
    with pytest.raises(schema.SchemaError, match="one scalar type"):
        schema.convert({"enum": ["a", 1]}, {})
