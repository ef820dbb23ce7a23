"""What every AstraDatabase reconcile shares: ports, dependencies, the object, the outcome."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Literal, Protocol

from astra_operator import config
from astra_operator.astra import errors, models
from astra_operator.kube import api as kube_api
from astra_operator.logic import conditions
from astra_operator.resources import common
from astra_operator.resources import database as db

PAUSE_ANNOTATION = "astra.operator.dev/paused"
SYNCED_OK = conditions.Update(
    common.ConditionType.SYNCED, "True", common.SyncedReason.RECONCILE_SUCCESS, ""
)
RECONCILE_ANNOTATION = "astra.operator.dev/reconcile-requested-at"
"""Set (or change) to any value, e.g. a timestamp, to reconcile an object right away."""


class AstraPort(Protocol):
    """The DevOps API calls the database reconciler makes."""

    async def get_database(
        self, database_id: str, *, token: str | None = None
    ) -> models.Database: ...

    async def create_database(
        self, spec: models.DatabaseCreate, *, token: str | None = None
    ) -> str: ...

    async def list_databases(
        self,
        *,
        include: str | None = None,
        provider: str | None = None,
        token: str | None = None,
    ) -> list[models.Database]: ...

    async def terminate_database(self, database_id: str, *, token: str | None = None) -> None: ...

    async def park_database(self, database_id: str, *, token: str | None = None) -> None: ...

    async def unpark_database(self, database_id: str, *, token: str | None = None) -> None: ...

    async def resize_database(
        self, database_id: str, capacity_units: int, *, token: str | None = None
    ) -> None: ...

    async def add_keyspace(
        self, database_id: str, keyspace: str, *, token: str | None = None
    ) -> None: ...

    async def add_datacenter(
        self, database_id: str, datacenter: models.DatacenterCreate, *, token: str | None = None
    ) -> None: ...

    async def terminate_datacenter(
        self, database_id: str, datacenter_id: str, *, token: str | None = None
    ) -> None: ...


class KubePort(Protocol):
    """The Kubernetes calls the reconcilers make (beyond kopf's own)."""

    async def patch_status(
        self, ref: kube_api.ObjectRef, status: Mapping[str, object]
    ) -> dict[str, object]: ...

    async def read_secret_value(self, namespace: str, name: str, key: str) -> str: ...

    async def apply_owned_secret(
        self, namespace: str, name: str, owner: kube_api.Owner, data: Mapping[str, str]
    ) -> bool: ...


TOKEN_CACHE_SECONDS = 30.0
"""How long a token read from a Secret is reused (dropped at once on a 401/403)."""

SecretKey = tuple[str, str, str]


@dataclasses.dataclass
class Deps:
    """Everything a reconcile needs, built once at start-up."""

    astra: AstraPort
    kube: KubePort
    config: config.OperatorConfig
    clock: Callable[[], datetime]
    first_missing: dict[str, datetime] = dataclasses.field(default_factory=dict)
    """When a database id first answered 404 (grace period right after create)."""
    recheck_before_create: set[str] = dataclasses.field(default_factory=set)
    """Object uids whose last create was refused: look up before creating again."""
    tokens: dict[SecretKey, tuple[str, datetime]] = dataclasses.field(default_factory=dict)
    """Tokens read recently, by (namespace, Secret, key), with when they were read."""
    uncertain_creates: dict[str, datetime | None] = dataclasses.field(default_factory=dict)
    """Object uids whose create failed in *this* process with an unknown result, mapped to
    when a lookup first found nothing. Only this process may retry such a create (after
    ``create_retry_grace``); after a restart the marker alone means: stop and ask a human."""


@dataclasses.dataclass(frozen=True)
class Event:
    """A Kubernetes Event to post about the object."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclasses.dataclass(frozen=True)
class DatabaseObject:
    """One AstraDatabase as read from Kubernetes, parsed."""

    ref: kube_api.ObjectRef
    uid: str
    generation: int
    spec: db.AstraDatabaseSpec
    status: db.AstraDatabaseStatus
    paused: bool

    @classmethod
    def from_body(cls, body: Mapping[str, object]) -> DatabaseObject:
        """Parse a raw object; raises pydantic.ValidationError on a spec the models refuse."""
        meta = as_mapping(body.get("metadata"))
        annotations = as_mapping(meta.get("annotations"))
        return cls(
            ref=kube_api.ObjectRef(db.PLURAL, str(meta["namespace"]), str(meta["name"])),
            uid=str(meta["uid"]),
            generation=int(str(meta.get("generation", 1))),
            spec=db.AstraDatabaseSpec.model_validate(body.get("spec") or {}),
            status=db.AstraDatabaseStatus.model_validate(body.get("status") or {}),
            paused=str(annotations.get(PAUSE_ANNOTATION, "")).lower() == "true",
        )

    @property
    def astra_name(self) -> str:
        return self.spec.name or self.ref.name


def as_mapping(value: object) -> Mapping[str, object]:
    """``value`` if it is a mapping, else an empty one (for untyped JSON)."""
    return value if isinstance(value, Mapping) else {}


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a reconcile observed and decided: status to write, events, when to come back."""

    status: db.AstraDatabaseStatus
    events: tuple[Event, ...]
    requeue_after: float
    done: bool = False
    """For deletion: the finalizer may be released."""
    stored: db.AstraDatabaseStatus | None = None
    """The status as last written to Kubernetes (during the pass, or before it)."""


def wire_status(status: db.AstraDatabaseStatus) -> dict[str, object]:
    """Status as a merge patch: every field present, ``None`` deleting what is unset."""
    return status.model_dump(mode="json", by_alias=True, exclude={"kopf"})


class Run:
    """State of one reconcile pass: the status being built and the events to post."""

    def __init__(self, obj: DatabaseObject, deps: Deps, failures: int) -> None:
        self.obj = obj
        self.deps = deps
        self.status = obj.status
        self.stored = obj.status
        self.events: list[Event] = []
        self.now = deps.clock()
        self.backoff = float(min(5 * 2**failures, 300))

    def event(self, reason: str, message: str) -> None:
        self.events.append(Event("Normal", reason, message))

    def warn_once(self, reason: str, message: str) -> None:
        """A Warning event, unless Synced already says exactly this (no event storms)."""
        old = self.obj.status.condition(common.ConditionType.SYNCED)
        if old is None or (old.reason, old.message) != (reason, message):
            self.events.append(Event("Warning", reason, message))

    async def persist(self) -> None:
        """Write the status built so far right now (ids and markers cannot wait)."""
        await self.deps.kube.patch_status(self.obj.ref, wire_status(self.status))
        self.stored = self.status

    def outcome(
        self, updates: list[conditions.Update], requeue: float, *, done: bool = False
    ) -> Outcome:
        merged = conditions.merge(
            self.status.conditions, updates, now=self.now, generation=self.obj.generation
        )
        if not any(c.type == common.ConditionType.READY for c in merged):
            merged = conditions.merge(
                merged, [_unknown_ready(self.status)], now=self.now, generation=self.obj.generation
            )
        status = self.status.model_copy(
            update={"conditions": merged, "observed_generation": self.obj.generation}
        )
        return Outcome(status, tuple(self.events), requeue, done, self.stored)

    def secret_key(self) -> SecretKey:
        """Where the Astra token lives: the object's Secret reference, or the default."""
        cfg = self.deps.config
        creds = self.obj.spec.credentials
        if creds is None:
            return cfg.operator_namespace, cfg.credentials_secret, cfg.credentials_key
        ref = creds.secret_ref
        return self.obj.ref.namespace, ref.name, ref.key or cfg.credentials_key

    async def token(self) -> str:
        """The Astra token, read from its Secret at most every TOKEN_CACHE_SECONDS."""
        key = self.secret_key()
        cached = self.deps.tokens.get(key)
        if cached and (self.now - cached[1]).total_seconds() < TOKEN_CACHE_SECONDS:
            return cached[0]
        value = await self.deps.kube.read_secret_value(*key)
        self.deps.tokens[key] = (value, self.now)
        return value

    def refused(self, exc: Exception) -> None:
        """Astra refused the token: read the Secret again next time (it may be rotated)."""
        if isinstance(exc, errors.Unauthorized | errors.Forbidden):
            self.deps.tokens.pop(self.secret_key(), None)


def _unknown_ready(status: db.AstraDatabaseStatus) -> conditions.Update:
    if status.database_id is None:
        return conditions.Update(
            common.ConditionType.READY, "False", db.DatabaseReadyReason.CREATING, "No database yet."
        )
    return conditions.Update(
        common.ConditionType.READY,
        "Unknown",
        db.DatabaseReadyReason.UNAVAILABLE,
        "Not observed yet.",
    )
