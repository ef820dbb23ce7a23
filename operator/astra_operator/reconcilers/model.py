"""What the engine and the kinds share: the parsed object, a pass's outcome, the facts about
a kind and the protocol a kind's manager implements (``reconcilers/engine.py`` runs them)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Generic, Literal, Protocol, TypeVar

from astra_operator.kube import api as kube_api
from astra_operator.logic import conditions
from astra_operator.reconcilers import ownership
from astra_operator.resources import common

if TYPE_CHECKING:
    from astra_operator.reconcilers.passes import Pass

READY: Final = common.ConditionType.READY
SYNCED: Final = common.ConditionType.SYNCED
S = common.SyncedReason
PAUSE_ANNOTATION: Final = "astra.operator.dev/paused"
CONFIRM_REMOVALS_ANNOTATION: Final = "astra.operator.dev/confirm-removals"
"""Set to "true" on an adopting object to let the operator remove what the spec lacks."""
RECONCILE_ANNOTATION: Final = "astra.operator.dev/reconcile-requested-at"
"""Set (or change) to any value, e.g. a timestamp, to reconcile an object right away."""
SYNCED_OK: Final = conditions.Update(SYNCED, "True", S.RECONCILE_SUCCESS, "")
DIRECT_AT: Final = "direct_at"
"""Scratch key: when this object last read or wrote directly (a list older than that is stale
for it)."""

SecretKey = tuple[str, str, str]


T = TypeVar("T")
SpecT = TypeVar("SpecT", bound=common.SpecModel)
StatusT = TypeVar("StatusT", bound=common.ResourceStatus)


@dataclasses.dataclass(frozen=True)
class Event:
    """A Kubernetes Event to post about the object."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclasses.dataclass(frozen=True)
class Managed(Generic[SpecT, StatusT]):
    """One custom object as read from Kubernetes, parsed."""

    ref: kube_api.ObjectRef
    uid: str
    generation: int
    created: str
    spec: SpecT
    status: StatusT
    paused: bool
    removals_confirmed: bool = False
    annotations: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """The object's annotations (for a kind that reads its own, e.g. AstraToken's rotate)."""

    @property
    def claimant(self) -> ownership.Claimant:
        return ownership.Claimant(self.created, self.ref.namespace, self.ref.name, self.uid)

    def __str__(self) -> str:
        return f"{self.ref.namespace}/{self.ref.name}"


def as_mapping(value: object) -> Mapping[str, object]:
    """``value`` if it is a mapping, else an empty one (for untyped JSON)."""
    return value if isinstance(value, Mapping) else {}


def parse(
    body: Mapping[str, object], plural: str, spec_model: type[SpecT], status_model: type[StatusT]
) -> Managed[SpecT, StatusT]:
    """Parse a raw object; raises pydantic.ValidationError on a spec the models refuse."""
    meta = as_mapping(body.get("metadata"))
    annotations = as_mapping(meta.get("annotations"))
    return Managed(
        ref=kube_api.ObjectRef(plural, str(meta["namespace"]), str(meta["name"])),
        uid=str(meta["uid"]),
        generation=int(str(meta.get("generation", 1))),
        created=str(meta.get("creationTimestamp") or ""),
        spec=spec_model.model_validate(body.get("spec") or {}),
        status=status_model.model_validate(body.get("status") or {}),
        paused=str(annotations.get(PAUSE_ANNOTATION, "")).lower() == "true",
        removals_confirmed=str(annotations.get(CONFIRM_REMOVALS_ANNOTATION, "")).lower() == "true",
        annotations={str(k): str(v) for k, v in annotations.items()},
    )


def wire_status(status: common.ResourceStatus) -> dict[str, object]:
    """Status as a merge patch: every field present, ``None`` deleting what is unset."""
    return status.model_dump(mode="json", by_alias=True, exclude={"kopf"})


@dataclasses.dataclass(frozen=True)
class Outcome(Generic[StatusT]):
    """What a pass observed and decided: status written, events, when to come back."""

    status: StatusT
    events: tuple[Event, ...]
    requeue_after: float
    failed: bool = False
    """The pass failed (it counts towards the backoff)."""
    done: bool = False
    """For deletion: the finalizer may be released."""


class ObserveOnly(Exception):  # noqa: N818 (reads as a condition)
    """A write was attempted for an object under managementPolicy Observe (a safety net: the
    kinds report differences instead of acting)."""


class CredentialsProblem(Exception):  # noqa: N818 (reads as a condition)
    """The token cannot be had or used; ``reason`` is the Synced reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclasses.dataclass(frozen=True)
class KindInfo:
    """The facts about a kind the engine needs."""

    kind: str
    """The Kubernetes kind, e.g. AstraDatabase."""
    plural: str
    noun: str
    """What it manages in Astra, in messages: database, role."""
    id_field: str
    """The status (and adopting spec) field holding the Astra ID, snake_case: database_id."""
    id_label: str
    """That field on the wire, for messages: databaseID."""
    wake_annotations: tuple[str, ...] = ()
    """Annotations of the kind's own whose change wakes the object at once (besides pause and
    reconcile-requested-at), e.g. AstraToken's rotate."""


class Missing(Exception):  # noqa: N818
    """Raised by a kind's observe: the resource is gone and (for this kind) is re-created."""


class Kind(Protocol[SpecT, StatusT]):
    """A kind's manager: the few things that differ between kinds."""

    info: KindInfo

    def adopt_id(self, spec: SpecT) -> str | None:
        """The ID the spec asks to adopt, if any."""

    def unknown_ready(self, p: Pass[SpecT, StatusT]) -> conditions.Update:
        """The Ready condition to show before the first observation."""

    async def prepare(self, p: Pass[SpecT, StatusT], token: str) -> Outcome[StatusT] | None:
        """Resolve references to other objects; an outcome (a wait) stops the pass."""

    async def same_name(self, p: Pass[SpecT, StatusT], token: str) -> list[str]:
        """IDs of what already carries the Astra name this object would create."""

    def marker(self, p: Pass[SpecT, StatusT], existing: list[str]) -> common.CreatePending:
        """The create-pending marker to write before the create."""

    async def create(self, p: Pass[SpecT, StatusT], token: str) -> str:
        """Send the create; returns the new ID."""

    def created(self, p: Pass[SpecT, StatusT], new_id: str) -> Outcome[StatusT]:
        """The outcome right after a create was accepted."""

    async def matching(
        self, p: Pass[SpecT, StatusT], token: str, marker: common.CreatePending
    ) -> list[str]:
        """IDs that match the marker's request (the engine drops owned and existing ones)."""

    async def verify(
        self, p: Pass[SpecT, StatusT], token: str, external_id: str
    ) -> tuple[str, str] | None:
        """Why ``external_id`` must not be adopted by this spec (Synced reason, message)."""

    async def observe(
        self, p: Pass[SpecT, StatusT], token: str, external_id: str
    ) -> Outcome[StatusT]:
        """Read, decide, act for a resource this object owns (may raise ``Missing``)."""

    def protected(self, obj: Managed[SpecT, StatusT]) -> str | None:
        """Why deletion must wait (e.g. deletionProtection), or None."""

    def steady(self, p: Pass[SpecT, StatusT]) -> bool:
        """Whether, as far as status shows, nothing is in flight (a database in no
        transitional state): the object may then be observed from the lists."""

    async def delete(
        self, p: Pass[SpecT, StatusT], token: str, external_id: str
    ) -> Outcome[StatusT]:
        """Delete ``external_id`` (done when gone; otherwise come back)."""


def pending_marker(status: common.ResourceStatus) -> common.CreatePending | None:
    """The status's create-pending marker, if any (every kind's status has the field)."""
    marker = getattr(status, "create_pending", None)
    return marker if isinstance(marker, common.CreatePending) else None


def status_id(kind: Kind[SpecT, StatusT], status: StatusT) -> str | None:
    value = getattr(status, kind.info.id_field, None)
    return value if isinstance(value, str) and value else None
