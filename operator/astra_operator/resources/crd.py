"""What a custom resource definition is made of, besides its pydantic models.

A kind module declares one :class:`KindDefinition` (names, printer columns, object-level CEL
rules, its spec and status models); ``crdgen`` turns it into a CRD and ``docgen`` into the field
reference. CEL rules attached to fields go through :func:`rule` and :func:`validations`, which
produce the ``x-kubernetes-validations`` JSON-schema extras pydantic copies into the schema.
"""

from __future__ import annotations

import dataclasses
from typing import Final, Literal

from pydantic import BaseModel

from astra_operator.resources import common

RuleReason = Literal[
    "FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate"
]


def rule(
    expression: str,
    message: str,
    *,
    field_path: str | None = None,
    reason: RuleReason | None = None,
) -> common.JsonDict:
    """One CEL validation rule; ``message`` is what ``kubectl apply`` prints when it fails.

    ``field_path`` (relative to where the rule is attached, e.g. ``.capacityUnits``) makes the
    error name the offending field instead of the object holding the rule.
    """
    out: common.JsonDict = {"rule": expression, "message": message}
    if field_path is not None:
        out["fieldPath"] = field_path
    if reason is not None:
        out["reason"] = reason
    return out


def validations(*rules: common.JsonDict, **extra: common.JsonValue) -> common.JsonDict:
    """``json_schema_extra`` for a field or model: CEL rules plus other extension keywords.

    Keyword arguments use Python names for ``x-kubernetes-*`` keys, e.g. ``list_type="set"``
    becomes ``x-kubernetes-list-type: set``.
    """
    out: common.JsonDict = {"x-kubernetes-" + k.replace("_", "-"): v for k, v in extra.items()}
    if rules:
        out["x-kubernetes-validations"] = list(rules)
    return out


@dataclasses.dataclass(frozen=True)
class PrinterColumn:
    """A column of ``kubectl get``."""

    name: str
    type: Literal["string", "integer", "number", "boolean", "date"]
    json_path: str
    description: str
    priority: int = 0
    """0 shows in ``kubectl get``; 1 only in ``kubectl get -o wide``."""

    def to_crd(self) -> common.JsonDict:
        """The ``additionalPrinterColumns`` entry."""
        out: common.JsonDict = {
            "name": self.name,
            "type": self.type,
            "jsonPath": self.json_path,
            "description": self.description,
        }
        if self.priority:
            out["priority"] = self.priority
        return out


def condition_column(condition_type: str) -> PrinterColumn:
    """A column showing the status (True/False/Unknown) of one condition."""
    return PrinterColumn(
        name=condition_type.upper(),
        type="string",
        json_path=f'.status.conditions[?(@.type=="{condition_type}")].status',
        description=f"Status of the {condition_type} condition.",
    )


AGE_COLUMN: Final = PrinterColumn(
    name="AGE",
    type="date",
    json_path=".metadata.creationTimestamp",
    description="Time since the object was created.",
)


@dataclasses.dataclass(frozen=True)
class KindDefinition:
    """Everything needed to generate the CRD of one namespaced kind."""

    kind: str
    plural: str
    description: str
    """The object's ``kubectl explain`` text."""
    spec_model: type[BaseModel]
    status_model: type[BaseModel]
    short_names: tuple[str, ...] = ()
    printer_columns: tuple[PrinterColumn, ...] = ()
    root_validations: tuple[common.JsonDict, ...] = ()
    """CEL rules on the whole object: the only place that sees metadata.name, spec and status."""
    group: str = common.GROUP
    version: str = common.VERSION
    categories: tuple[str, ...] = (common.CATEGORY,)

    @property
    def singular(self) -> str:
        """Lower-case kind."""
        return self.kind.lower()

    @property
    def crd_name(self) -> str:
        """``<plural>.<group>``, the CRD's metadata.name."""
        return f"{self.plural}.{self.group}"

    @property
    def file_name(self) -> str:
        """``<group>_<plural>.yaml``, the controller-gen naming."""
        return f"{self.group}_{self.plural}.yaml"
