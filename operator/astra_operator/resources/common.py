"""Pieces every astra-operator custom resource shares: model bases, conditions, references.

A kind module (``database``, later ``role``) builds its spec from :class:`SpecModel`, its status
from :class:`ResourceStatus`, and reports two Crossplane-style conditions:

* ``Ready``: is the external thing usable? (reasons in :class:`ReadyReason`)
* ``Synced``: did the last reconcile succeed? (reasons in :class:`SyncedReason`)

They are independent: a database can be Ready=True while Synced=False (e.g. a resize failed).
Kinds subclass the reason classes to add their own reasons.

Wire names are camelCase (an alias generator); Python names are snake_case. Models are frozen.
Field docstrings are the CRD descriptions shown by ``kubectl explain``, so write them for users.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Final, Literal, TypeAlias, TypeVar, Union

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    WrapSerializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

GROUP: Final = "astra.operator.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
CATEGORY: Final = "astra"
"""``kubectl get astra`` lists every kind of this operator."""

PATTERN_MESSAGES: dict[str, str] = {}
"""What ``kubectl apply`` says when a value does not match a pattern: crdgen turns each
registered ``pattern`` into a CEL rule with this message instead of a regex dump."""


def readable(pattern: str, message: str) -> str:
    """Register the words for ``pattern``; returns the pattern (for ``Field(pattern=...)``)."""
    PATTERN_MESSAGES[pattern] = message
    return pattern


DNS_SUBDOMAIN_PATTERN: Final = readable(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    "must be a Kubernetes object name: lower-case letters, digits, '-' and '.', starting and "
    "ending with a letter or digit",
)
UUID_PATTERN: Final = readable(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    "must be an Astra ID: a lower-case UUID such as 1b2c3d4e-0000-4000-8000-00000000abcd",
)
SECRET_KEY_PATTERN: Final = readable(
    r"^[-._a-zA-Z0-9]+$", "must be a Secret key: letters, digits, '-', '_' and '.' only"
)
REASON_PATTERN: Final = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Timestamp = Annotated[AwareDatetime, PlainSerializer(_rfc3339, return_type=str)]
"""A timezone-aware time, written as RFC 3339 UTC with second precision (like metav1.Time)."""

JsonValue: TypeAlias = Union[int, float, str, bool, list["JsonValue"], "JsonDict", None]
"""A JSON value; the same shape as pydantic's (private) alias, for schema extras."""
JsonDict: TypeAlias = dict[str, JsonValue]

_T = TypeVar("_T")


def _as_list(value: tuple[object, ...], handler: SerializerFunctionWrapHandler) -> object:
    return list(handler(value))


Items = Annotated[tuple[_T, ...], Field(strict=False), WrapSerializer(_as_list)]
"""An immutable sequence field: parsed from a JSON list (items stay strict), dumped as a list."""

ConditionStatus = Literal["True", "False", "Unknown"]


class CRModel(BaseModel):
    """Base of every custom-resource model: camelCase on the wire, frozen, no unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _plain_dict(cls, data: object) -> object:
        """Accept any mapping (kopf hands out read-only ``Mapping`` views of the body)."""
        if isinstance(data, Mapping) and not isinstance(data, dict):
            return dict(data)
        return data


class SpecModel(CRModel):
    """Base of spec models: strict, so ``"5"`` is never silently taken for ``5``.

    Sequence fields are :data:`Items` (tuples that accept JSON lists).
    """

    model_config = ConfigDict(strict=True)


class ConditionType:
    """Condition types shared by every kind."""

    READY: Final = "Ready"
    """Whether the external resource is usable."""
    SYNCED: Final = "Synced"
    """Whether the last reconcile of this object succeeded."""


class ReadyReason:
    """Reasons of the ``Ready`` condition shared by every kind."""

    AVAILABLE: Final = "Available"
    """Ready=True: the external resource exists and is usable."""
    CREATING: Final = "Creating"
    """Ready=False: the external resource is being created."""
    DELETING: Final = "Deleting"
    """Ready=False: this object is being deleted."""
    UNAVAILABLE: Final = "Unavailable"
    """Ready=False: Astra reports the resource as unhealthy or it cannot be observed."""


ManagementPolicy = Literal["Full", "Observe"]
"""Full: the operator makes Astra match the spec. Observe: it only reads and reports."""
OBSERVE: Final = "Observe"


class SyncedReason:
    """Reasons of the ``Synced`` condition shared by every kind."""

    RECONCILE_SUCCESS: Final = "ReconcileSuccess"
    """Synced=True: Astra matches the spec (or is converging towards it)."""
    RECONCILE_ERROR: Final = "ReconcileError"
    """Synced=False: the last reconcile failed; the message says why. Retried."""
    RECONCILE_PAUSED: Final = "ReconcilePaused"
    """Synced=False: reconciliation of this object is paused on purpose."""
    CREDENTIALS_UNAVAILABLE: Final = "CredentialsUnavailable"
    """Synced=False: the Astra token Secret or its key is missing. Retried."""
    SPEC_REJECTED: Final = "SpecRejected"
    """Synced=False: Astra refused the request as invalid; change the spec to go on."""
    CREDENTIALS_INVALID: Final = "CredentialsInvalid"
    """Synced=False: the token in the Secret cannot be used (empty, whitespace, characters an
    HTTP header cannot carry, not UTF-8); the message says what is wrong, never the value."""
    CREDENTIALS_NOT_ALLOWED: Final = "CredentialsNotAllowed"
    """Synced=False: no spec.credentials, and the operator's default token does not serve this
    namespace; reference a Secret of this namespace in spec.credentials."""
    ALREADY_MANAGED: Final = "AlreadyManaged"
    """Synced=False: another object already manages this Astra resource; this one never writes
    to it and its deletion never calls Astra."""
    ADOPTION_REFUSED: Final = "AdoptionRefused"
    """Synced=False: the Astra resource named for adoption does not match the spec (each
    mismatch is named) or cannot be adopted; nothing is written."""
    DELETION_PROTECTED: Final = "DeletionProtected"
    """Synced=False: deletion waits because the spec protects the Astra resource."""
    ADOPTION_PENDING: Final = "AdoptionPending"
    """Synced=False: the adopted resource has things the spec lacks; they are removed only
    once the annotation astra.operator.dev/confirm-removals is "true" (the message lists them)."""
    CREATE_PENDING_UNRESOLVED: Final = "CreatePendingUnresolved"
    """Synced=False: a create was sent but its result is unknown (see status.createPending)."""
    OBSERVING: Final = "Observing"
    """Synced=True: managementPolicy Observe, and Astra matches the spec."""
    DRIFT_OBSERVED: Final = "DriftObserved"
    """Synced=False: managementPolicy Observe, and Astra differs from the spec: the message
    lists what managementPolicy Full would change. Nothing is written to Astra."""


class Condition(CRModel):
    """One observation of an aspect of the resource (same shape as metav1.Condition)."""

    type: Annotated[str, Field(min_length=1, max_length=316)]
    """Aspect observed: Ready or Synced."""
    status: ConditionStatus
    """True, False or Unknown."""
    reason: Annotated[str, Field(min_length=1, max_length=1024, pattern=REASON_PATTERN)]
    """Machine-readable CamelCase reason for the last transition."""
    message: Annotated[str, Field(max_length=32768)] = ""
    """Human-readable details."""
    last_transition_time: Timestamp
    """When status last changed."""
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """The metadata.generation this condition was computed from."""


class ResourceStatus(CRModel):
    """Status fields every kind has; kinds subclass it."""

    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """The metadata.generation the operator last reconciled. Older than metadata.generation
    means the latest spec change has not been acted on yet."""
    adopted: bool | None = None
    """True when this object adopted an Astra resource that existed before it (spec ID field).
    Until the annotation astra.operator.dev/confirm-removals: "true" is set, the operator adds
    and changes but never removes anything from it (regions, role permissions or resources);
    Synced=False, reason AdoptionPending, lists what it would remove."""
    conditions: Items[Condition] = Field(
        default=(),
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    """Ready (is it usable?) and Synced (did the last reconcile succeed?), each with a reason."""

    def condition(self, type_: str) -> Condition | None:
        """The condition of this type, if present."""
        return next((c for c in self.conditions if c.type == type_), None)


class CreatePending(CRModel):
    """A create request whose result is not yet recorded (every kind's crash-safe create)."""

    requested_at: Timestamp
    """When the create was about to be sent."""
    name: str
    """Astra name in the create request."""
    existing_ids: Items[str] = Field(default=(), alias="existingIDs")
    """IDs that already had this name in Astra before the request was sent: a look-up for
    what the request created never picks one of these."""


class SecretKeyRef(SpecModel):
    """A key in a Secret in the same namespace as this object."""

    name: Annotated[str, Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)]
    """Name of the Secret."""
    key: Annotated[str, Field(min_length=1, max_length=253, pattern=SECRET_KEY_PATTERN)] | None = (
        None
    )
    """Key in the Secret that holds the Astra application token (AstraCS:...). Defaults to the
    operator's configured key (ASTRA_CREDENTIALS_KEY, "token" unless changed)."""


class Credentials(SpecModel):
    """Where the Astra application token for this object comes from."""

    secret_ref: SecretKeyRef
    """Secret (in this object's namespace) holding the token."""


class LocalSecretReference(SpecModel):
    """A Secret in the same namespace as this object."""

    name: Annotated[str, Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)]
    """Name of the Secret."""
