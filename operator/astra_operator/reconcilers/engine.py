"""The engine every kind runs on: one reconcile pass, and one deletion pass, per object.

A pass: paused? -> credentials (scoped, validated) -> the kind's references -> adopt, observe,
or create (the crash-safe create protocol lives here, once) -> the kind decides and acts ->
status written by the engine alone, and only when it changed -> events -> next delay.
Observation at scale: a steady object (its spec acted on, nothing in flight) is observed from
its credential's lists (``Pass.listed``: one list per credential per poll interval, shared by
every object using it) instead of a request of its own; a kind acts only on what it read
directly, so anything to do turns the pass into a direct one.
Deletion: the deletion policy, pause, the kind's protection, and ownership (only the owner of
an Astra resource may delete it) are decided here; the kind only makes the call.

A kind plugs in with a :class:`Kind` (a small manager: see ``reconcilers/database.py``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Final, Generic, Literal, Protocol, TypeVar

from astra_operator import config, metrics
from astra_operator.astra import errors, redaction
from astra_operator.kube import api as kube_api
from astra_operator.logic import conditions, credentials, failures, pending
from astra_operator.reconcilers import ownership, ports
from astra_operator.resources import common

_log = logging.getLogger(__name__)

READY: Final = common.ConditionType.READY
SYNCED: Final = common.ConditionType.SYNCED
S = common.SyncedReason
PAUSE_ANNOTATION: Final = "astra.operator.dev/paused"
CONFIRM_REMOVALS_ANNOTATION: Final = "astra.operator.dev/confirm-removals"
"""Set to "true" on an adopting object to let the operator remove what the spec lacks."""
RECONCILE_ANNOTATION: Final = "astra.operator.dev/reconcile-requested-at"
"""Set (or change) to any value, e.g. a timestamp, to reconcile an object right away."""
SYNCED_OK: Final = conditions.Update(SYNCED, "True", S.RECONCILE_SUCCESS, "")
TOKEN_CACHE_SECONDS: Final = 30.0
"""How long a token read from a Secret is reused (dropped at once on a 401/403)."""
CREDENTIALS_RECHECK: Final = 2.0
"""Seconds between re-reads of a missing or unusable token Secret, shared by every object
that uses it: a created or fixed Secret is noticed within about this long. (The operator may
not list or watch Secrets: that would let it read every Secret of a namespace.)"""
SHARED_TTL: Final = 2.0
"""Seconds a shared list result (Pass.shared) is reused by other passes."""
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


@dataclasses.dataclass
class Dependents:
    """Which objects wait for which other objects (a role for its database, ...)."""

    waiting: dict[tuple[str, str, str], set[str]] = dataclasses.field(default_factory=dict)

    def depend(self, waiter: str, targets: Iterable[tuple[str, str, str]]) -> None:
        """``waiter`` (a uid) depends on exactly ``targets`` (plural, namespace, name) now."""
        for key, uids in list(self.waiting.items()):
            uids.discard(waiter)
            if not uids:
                del self.waiting[key]
        for target in targets:
            self.waiting.setdefault(target, set()).add(waiter)

    def of(self, target: tuple[str, str, str]) -> set[str]:
        """The uids waiting for ``target``."""
        return set(self.waiting.get(target, ()))


@dataclasses.dataclass
class Deps:
    """Everything a pass needs, built once at start-up."""

    astra: ports.AstraPort
    kube: ports.KubePort
    config: config.OperatorConfig
    clock: Callable[[], datetime]
    owners: ownership.Owners = dataclasses.field(default_factory=ownership.Owners)
    dependents: Dependents = dataclasses.field(default_factory=Dependents)
    tokens: dict[SecretKey, tuple[str, datetime]] = dataclasses.field(default_factory=dict)
    """Tokens read recently, by (namespace, Secret, key), with when they were read."""
    token_problems: dict[SecretKey, tuple[CredentialsProblem, datetime]] = dataclasses.field(
        default_factory=dict
    )
    """Secrets found missing or unusable recently, with when: re-read every CREDENTIALS_RECHECK."""
    org_ids: dict[str, str] = dataclasses.field(default_factory=dict)
    """The organization of each token (by its Secret), from the current-organization call."""
    shared: dict[tuple[str, SecretKey], tuple[datetime, asyncio.Future[Any]]] = dataclasses.field(
        default_factory=dict
    )
    """Results of list calls shared by passes with one credential (Pass.shared, Pass.listed),
    with when each was asked for: the last list of each kind per credential, no more."""
    list_failures: dict[tuple[str, SecretKey], datetime] = dataclasses.field(default_factory=dict)
    """When a shared list last failed: objects read directly until a poll interval has passed."""
    scratch: dict[str, dict[str, object]] = dataclasses.field(default_factory=dict)
    """Per-object memory a kind keeps between passes (by uid), e.g. when a 404 was first seen."""

    def forget(self, uid: str, plural: str) -> None:
        """Drop everything kept about a deleted object."""
        self.scratch.pop(uid, None)
        self.owners.release(plural, uid)
        self.dependents.depend(uid, ())
        metrics.forget(uid)


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


class _ReadOnlyAstra:
    """The Astra port with every write refused: what an Observe pass gets."""

    _READS = ("get_", "list_", "iter_", "current_")

    def __init__(self, inner: ports.AstraPort) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name.startswith(self._READS):
            return getattr(self._inner, name)

        async def refused(*args: object, **kwargs: object) -> None:
            raise ObserveOnly(name)

        return refused


class CredentialsProblem(Exception):  # noqa: N818 (reads as a condition)
    """The token cannot be had or used; ``reason`` is the Synced reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class Pass(Generic[SpecT, StatusT]):
    """State of one pass over one object: the status being built, events, the action."""

    def __init__(
        self,
        obj: Managed[SpecT, StatusT],
        deps: Deps,
        kind: Kind[SpecT, StatusT],
        failures: int,
    ) -> None:
        self.obj = obj
        self.deps = deps
        self.kind = kind
        self.failures = failures
        self.status: StatusT = obj.status
        self.stored: StatusT = obj.status
        self.events: list[Event] = []
        self.now = deps.clock()
        self.action = "read"
        self.area = kind.info.noun
        self.what = ""
        """The action in words, naming its item (e.g. "add region europe-west9")."""
        self.observed: list[conditions.Update] = []
        """Conditions from what this pass observed; kept when a later step fails."""
        self.quiet = False
        """The object is steady: it may be observed from its credential's lists."""
        self.from_lists = False
        """The pass ended on what the lists showed, with nothing to do (no direct call)."""
        self.observing = getattr(obj.spec, "management_policy", "Full") == common.OBSERVE
        """managementPolicy Observe: read and report, never write to Astra."""
        self.astra: ports.AstraPort = _ReadOnlyAstra(deps.astra) if self.observing else deps.astra
        """The Astra port for this pass (writes refused under Observe)."""

    @property
    def config(self) -> config.OperatorConfig:
        return self.deps.config

    @property
    def scratch(self) -> dict[str, object]:
        return self.deps.scratch.setdefault(self.obj.uid, {})

    def update(self, **fields: object) -> None:
        """Change status fields (snake_case names) in the status being built."""
        self.status = self.status.model_copy(update=fields)

    def event(self, reason: str, message: str) -> None:
        _log.info("[%s] %s: %s", self.obj, reason, message)
        self.events.append(Event("Normal", reason, message))

    def warn(self, reason: str, message: str) -> None:
        _log.warning("[%s] %s: %s", self.obj, reason, message)
        self.events.append(Event("Warning", reason, message))

    def warn_once(self, reason: str, message: str) -> None:
        """A Warning event, unless Synced already says exactly this (no event storms)."""
        old = self.obj.status.condition(SYNCED)
        if old is None or (old.reason, old.message) != (reason, message):
            self.warn(reason, message)

    async def save(self) -> None:
        """Write the status built so far now, if it differs from what is stored (ids and
        markers cannot wait for the end of the pass)."""
        if _differs(self.stored, self.status):
            await self.deps.kube.patch_status(self.obj.ref, wire_status(self.status))
            self.stored = self.status

    def outcome(
        self,
        updates: list[conditions.Update],
        requeue: float,
        *,
        failed: bool = False,
        done: bool = False,
        acted: bool = True,
    ) -> Outcome[StatusT]:
        """The pass's result. ``observed`` conditions (what this pass saw) come first, then
        ``updates``; ``acted=False`` (paused, waiting, no credentials) leaves
        observedGeneration alone: that generation was not acted on."""
        merged = conditions.merge(
            self.status.conditions,
            [*self.observed, *updates],
            now=self.now,
            generation=self.obj.generation,
        )
        if not any(c.type == READY for c in merged):
            merged = conditions.merge(
                merged,
                [self.kind.unknown_ready(self)],
                now=self.now,
                generation=self.obj.generation,
            )
        generation = self.obj.generation if acted else self.status.observed_generation
        self.update(conditions=merged, observed_generation=generation)
        return Outcome(self.status, tuple(self.events), requeue, failed, done)

    def synced_false(
        self,
        reason: str,
        message: str,
        requeue: float,
        *,
        warn: bool = True,
        failed: bool = False,
        acted: bool = True,
    ) -> Outcome[StatusT]:
        if warn:
            self.warn_once(reason, message)
        else:
            _log.info("[%s] %s: %s", self.obj, reason, message)
        return self.outcome(
            [conditions.Update(SYNCED, "False", reason, message)],
            requeue,
            failed=failed,
            acted=acted,
        )

    def api_failed(self, exc: errors.AstraError) -> Outcome[StatusT]:
        """One place where an Astra error becomes a condition, an event and a delay."""
        if isinstance(exc, errors.Unauthorized | errors.Forbidden):
            self.deps.tokens.pop(self.secret_key(), None)  # it may have been rotated
        result = failures.failure(
            exc, self.area, self.action, failures=self.failures, what=self.what
        )
        _log.warning(
            "[%s] %s %s failed (%s, retrying in %.0f s): %s",
            self.obj,
            self.area,
            self.what or self.action,
            self.external_id or "no ID yet",
            result.retry_after,
            exc,
        )
        self.warn_once(result.synced.reason, result.synced.message)
        return self.outcome([result.synced], result.retry_after, failed=True)

    async def shared(
        self, name: str, fetch: Callable[[], Awaitable[T]], ttl: float = SHARED_TTL
    ) -> T:
        """``fetch()``'s result, shared with every pass that asks for ``name`` with the same
        credential while one is in flight or younger than ``ttl`` seconds: with hundreds of
        objects being created at once, one list of the organization serves them all."""
        key = (name, self.secret_key())
        known = self.deps.shared.get(key)
        fresh = known is not None and (self.now - known[0]).total_seconds() < ttl
        if known is not None and fresh and not (known[1].done() and known[1].exception()):
            result: T = await asyncio.shield(known[1])
            return result
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.deps.shared[key] = (self.now, future)
        try:
            value = await fetch()
        except BaseException as exc:
            self.deps.shared.pop(key, None)
            # Waiters get an error of ours, never a cancellation that is not theirs.
            shared_exc = (
                exc
                if isinstance(exc, Exception)
                else errors.TransportError(f"the shared {name} list was abandoned")
            )
            future.set_exception(shared_exc)
            future.exception()  # retrieved: no "never retrieved" warning
            raise
        future.set_result(value)
        self.deps.list_failures.pop(key, None)
        return value

    async def listed(self, name: str, fetch: Callable[[], Awaitable[T]]) -> T | None:
        """The credential's list ``name`` as last taken (at most one poll interval ago; the
        first pass after that takes it again, for every object using the credential), or
        None when this object must read directly: it is not steady, the list predates its
        last direct read or write, or the list failed lately."""
        if not self.quiet:
            return None
        key = (name, self.secret_key())
        failed = self.deps.list_failures.get(key)
        interval = self.config.poll_interval
        if failed is not None and (self.now - failed).total_seconds() < interval:
            return None
        known = self.deps.shared.get(key)
        direct_at = self.scratch.get(DIRECT_AT)
        if (
            known is not None
            and isinstance(direct_at, datetime)
            and known[0] <= direct_at
            and (self.now - known[0]).total_seconds() < interval
        ):
            return None  # taken before (or as) this object last read or wrote for itself
        try:
            return await self.shared(name, fetch, ttl=interval)
        except errors.AstraError as exc:
            self.deps.list_failures[key] = self.now
            _log.info("[%s] the shared %s list failed (%s); reading directly", self.obj, name, exc)
            return None

    def quiet_outcome(
        self, updates: list[conditions.Update], requeue: float | None = None
    ) -> Outcome[StatusT]:
        """The outcome of a pass that found nothing to do in the lists."""
        self.from_lists = True
        return self.outcome(updates, self.config.poll_interval if requeue is None else requeue)

    async def organization(self, token: str) -> str:
        """The token's organization, asked once per credential."""
        key = "/".join(self.secret_key())
        if key not in self.deps.org_ids:  # concurrent first passes share one call
            area, self.area, self.action = self.area, "organization", "read"
            org = await self.shared(
                "organization",
                lambda: self.deps.astra.current_organization(token=token),
                ttl=float("inf"),
            )
            self.deps.org_ids[key] = org.id
            self.area = area
        return self.deps.org_ids[key]

    async def referenced(
        self, plural: str, id_label: str, names: Iterable[str]
    ) -> tuple[dict[str, str], list[str], list[str]]:
        """The Astra IDs other objects of this namespace record (``status.<id_label>``), by
        name, and the names that are missing or have no ID yet. This object is woken when any
        of them changes (``Deps.dependents``): waiting never depends on a poll."""
        found: dict[str, str] = {}
        missing: list[str] = []
        without: list[str] = []
        namespace, names = self.obj.ref.namespace, list(names)
        self.deps.dependents.depend(self.obj.uid, [(plural, namespace, n) for n in names])
        for name in names:
            try:
                raw = await self.deps.kube.get(kube_api.ObjectRef(plural, namespace, name))
            except kube_api.ObjectGone:
                missing.append(name)
                continue
            recorded = as_mapping(raw.get("status")).get(id_label)
            if isinstance(recorded, str) and recorded:
                found[name] = recorded
            else:
                without.append(name)
        return found, missing, without

    def drift_observed(self, differences: Iterable[str]) -> conditions.Update:
        """Synced under managementPolicy Observe: True, or False listing what Full would do."""
        found = list(differences)
        if not found:
            return conditions.Update(
                SYNCED, "True", S.OBSERVING, "managementPolicy Observe: Astra matches the spec."
            )
        message = (
            f"managementPolicy Observe: the {self.kind.info.noun} differs from the spec. With "
            f"managementPolicy Full the operator would: {'; '.join(found)}. Nothing is written "
            "to Astra."
        )
        old = self.obj.status.condition(SYNCED)
        if old is None or (old.reason, old.message) != (S.DRIFT_OBSERVED, message):
            self.event(S.DRIFT_OBSERVED, message)
        return conditions.Update(SYNCED, "False", S.DRIFT_OBSERVED, message)

    def removals_held(self) -> bool:
        """Removals wait: this object adopted its resource and the user has not confirmed."""
        return bool(self.status.adopted) and not self.obj.removals_confirmed and not self.observing

    def adoption_pending(self, items: list[str]) -> conditions.Update:
        """Synced=False listing what the operator would remove once confirmed."""
        message = (
            f"Adopted: the operator would remove {'; '.join(items)}. Nothing is removed from "
            f"an adopted {self.kind.info.noun} until you confirm: add the annotation "
            f'{CONFIRM_REMOVALS_ANNOTATION}: "true" (or add these to the spec to keep them).'
        )
        self.warn_once(S.ADOPTION_PENDING, message)
        return conditions.Update(SYNCED, "False", S.ADOPTION_PENDING, message)

    @property
    def external_id(self) -> str | None:
        """The Astra ID this pass works on, if known."""
        value = getattr(self.status, self.kind.info.id_field, None)
        return value if isinstance(value, str) and value else None

    def secret_key(self) -> SecretKey:
        """Where the Astra token lives: the object's Secret reference, or the default."""
        cfg = self.config
        creds = getattr(self.obj.spec, "credentials", None)
        if not isinstance(creds, common.Credentials):
            return cfg.operator_namespace, cfg.credentials_secret, cfg.credentials_key
        ref = creds.secret_ref
        return self.obj.ref.namespace, ref.name, ref.key or cfg.credentials_key

    async def token(self) -> str:
        """The Astra token: scoped, read at most every TOKEN_CACHE_SECONDS, validated."""
        namespace, name, key = self.secret_key()
        if getattr(self.obj.spec, "credentials", None) is None and not (
            self.config.default_credentials_serve(self.obj.ref.namespace)
        ):
            raise CredentialsProblem(
                S.CREDENTIALS_NOT_ALLOWED,
                f"No spec.credentials, and the operator's default token serves only the "
                f"namespaces its administrator lists (ASTRA_DEFAULT_CREDENTIALS_NAMESPACES), "
                f"not {self.obj.ref.namespace!r}: put an Astra token in a Secret of this "
                "namespace and set spec.credentials.secretRef.name to it.",
            )
        where = (namespace, name, key)
        cached = self.deps.tokens.get(where)
        if cached and (self.now - cached[1]).total_seconds() < TOKEN_CACHE_SECONDS:
            return cached[0]
        known = self.deps.token_problems.get(where)
        if known and (self.now - known[1]).total_seconds() < CREDENTIALS_RECHECK:
            raise known[0]
        try:
            value = await self._read_token(namespace, name, key)
        except CredentialsProblem as exc:
            self.deps.token_problems[where] = (exc, self.now)
            raise
        self.deps.token_problems.pop(where, None)
        self.deps.tokens[where] = (value, self.now)
        return value

    async def _read_token(self, namespace: str, name: str, key: str) -> str:
        problem: str | None = credentials.NOT_UTF8
        value = ""
        try:
            value = await self.deps.kube.read_secret_value(namespace, name, key)
            redaction.register_secret(value)
            problem = credentials.problem(value)
        except kube_api.SecretUnavailable as exc:
            raise CredentialsProblem(S.CREDENTIALS_UNAVAILABLE, str(exc)) from None
        except UnicodeDecodeError:
            pass
        if problem is not None:
            raise CredentialsProblem(
                S.CREDENTIALS_INVALID,
                f"The Astra token in Secret {namespace}/{name}, key {key!r}, {problem}: put "
                "the application token there exactly as Astra issued it.",
            )
        return value

    def credentials_failed(self, exc: CredentialsProblem) -> Outcome[StatusT]:
        """Nothing can be observed: Ready says why (False before the first ID, else Unknown)."""
        status: conditions.Status = "False" if self.external_id is None else "Unknown"
        self.observed = [conditions.Update(READY, status, exc.reason, exc.message)]
        fixable_now = exc.reason != S.CREDENTIALS_NOT_ALLOWED  # a Secret to create or fix
        return self.synced_false(
            exc.reason,
            exc.message,
            CREDENTIALS_RECHECK if fixable_now else self.config.poll_interval,
            failed=True,
            acted=False,
        )


def _differs(before: common.ResourceStatus, after: common.ResourceStatus) -> bool:
    """Something a user can see changed: lastObservedTime alone never makes a write (it is
    written with the observation that changed something), so a steady object writes nothing."""
    ignore = {"last_observed_time"}
    return before.model_dump(exclude=ignore) != after.model_dump(exclude=ignore)


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


async def reconcile(
    kind: Kind[SpecT, StatusT], obj: Managed[SpecT, StatusT], deps: Deps, *, failures: int = 0
) -> Outcome[StatusT]:
    """One pass over one object; the status is written before it returns."""
    p: Pass[SpecT, StatusT] = Pass(obj, deps, kind, failures)
    outcome = await _reconcile(kind, p)
    await p.save()
    if not p.from_lists:
        p.scratch[DIRECT_AT] = p.now
    metrics.observe_pass(kind.info.kind, obj, outcome, p)
    return outcome


def _may_use_lists(kind: Kind[SpecT, StatusT], p: Pass[SpecT, StatusT]) -> bool:
    """Steady: the last pass succeeded, the spec was acted on, no reconcile was asked for
    since the last pass, and the kind sees nothing in flight."""
    asked = p.obj.annotations.get(RECONCILE_ANNOTATION)
    seen = p.scratch.get(RECONCILE_ANNOTATION, asked)
    p.scratch[RECONCILE_ANNOTATION] = asked
    return (
        p.failures == 0
        and seen == asked
        and p.status.observed_generation == p.obj.generation
        and kind.steady(p)
    )


async def _reconcile(kind: Kind[SpecT, StatusT], p: Pass[SpecT, StatusT]) -> Outcome[StatusT]:
    if p.obj.paused:
        message = f"Reconciliation is paused by the annotation {PAUSE_ANNOTATION}=true."
        return p.synced_false(
            S.RECONCILE_PAUSED, message, p.config.poll_interval, warn=False, acted=False
        )
    try:
        token = await p.token()
    except CredentialsProblem as exc:
        return p.credentials_failed(exc)
    p.quiet = status_id(kind, p.status) is not None and _may_use_lists(kind, p)
    try:
        waiting = await kind.prepare(p, token)
        if waiting is not None:
            return waiting
        return await _converge(kind, p, token)
    except errors.AstraError as exc:
        return p.api_failed(exc)
    except ObserveOnly as exc:  # a kind tried to write: report, never write
        _log.error("[%s] managementPolicy Observe refused a write (%s)", p.obj, exc)
        return p.outcome([p.drift_observed([f"call {exc}"])], p.config.poll_interval)


async def _converge(
    kind: Kind[SpecT, StatusT], p: Pass[SpecT, StatusT], token: str
) -> Outcome[StatusT]:
    plural, me = kind.info.plural, p.obj.claimant
    current = status_id(kind, p.status)
    if current is None:
        adopt = kind.adopt_id(p.obj.spec)
        if adopt is not None:
            return await _adopt(kind, p, token, adopt)
        if p.observing:  # nothing to watch, and Observe never creates
            return p.outcome(
                [
                    p.drift_observed(
                        [
                            f"create the {kind.info.noun} (set spec.{kind.info.id_label} "
                            f"to watch an existing one)"
                        ]
                    )
                ],
                p.config.poll_interval,
            )
        if pending_marker(p.status) is not None:
            return await _resolve_pending(kind, p, token)
        return await _create(kind, p, token)
    other = p.deps.owners.claim(plural, current, me)
    if other is not None:
        return _already_managed(kind, p, current, other)
    try:
        return await kind.observe(p, token, current)
    except Missing as gone:
        if p.observing:
            p.observed = [
                conditions.Update(READY, "False", common.ReadyReason.UNAVAILABLE, f"It {gone}.")
            ]
            update = p.drift_observed([f"create the {kind.info.noun} again ({current} {gone})"])
            return p.outcome([update], p.config.poll_interval)
        p.warn("Recreating", f"The Astra {kind.info.noun} {current} {gone}; creating it again.")
        p.deps.owners.claims.pop((plural, current), None)
        p.update(**{kind.info.id_field: None})
        return await _create(kind, p, token)


def _already_managed(
    kind: Kind[SpecT, StatusT], p: Pass[SpecT, StatusT], external_id: str, other: ownership.Claimant
) -> Outcome[StatusT]:
    info = kind.info
    message = (
        f"The Astra {info.noun} {external_id} is already managed by {info.kind} {other}. "
        f"This object never writes to it, and deleting this object never deletes it. "
        f"Remove spec.{info.id_label} or point it at another {info.noun}."
    )
    return p.synced_false(S.ALREADY_MANAGED, message, p.config.poll_interval)


async def _adopt(
    kind: Kind[SpecT, StatusT], p: Pass[SpecT, StatusT], token: str, external_id: str
) -> Outcome[StatusT]:
    plural, me = kind.info.plural, p.obj.claimant
    other = p.deps.owners.other_owner(plural, external_id, me)
    if other is not None:
        return _already_managed(kind, p, external_id, other)
    refusal = await kind.verify(p, token, external_id)
    if refusal is not None:
        return p.synced_false(*refusal, p.config.poll_interval)
    other = p.deps.owners.claim(plural, external_id, me)
    if other is not None:
        return _already_managed(kind, p, external_id, other)
    p.update(**{kind.info.id_field: external_id, "adopted": True})
    await p.save()
    p.event("Adopted", f"Adopted the existing Astra {kind.info.noun} {external_id}.")
    return await kind.observe(p, token, external_id)


async def _create(
    kind: Kind[SpecT, StatusT], p: Pass[SpecT, StatusT], token: str
) -> Outcome[StatusT]:
    plural, me = kind.info.plural, p.obj.claimant
    p.action = "list"
    existing = await kind.same_name(p, token)
    marker = kind.marker(p, existing)
    p.update(create_pending=marker)
    await p.save()
    p.action = "create"
    try:
        new_id = await kind.create(p, token)
    except errors.AstraError as exc:
        if not exc.maybe_applied:  # Astra answered, or nothing was sent: nothing was created
            p.update(create_pending=None)
        raise
    p.deps.owners.claim(plural, new_id, me)
    p.update(**{kind.info.id_field: new_id, "create_pending": None})
    outcome = kind.created(p, new_id)
    await p.save()  # the ID and the conditions in one write
    return outcome


async def _look_up(
    kind: Kind[SpecT, StatusT], p: Pass[SpecT, StatusT], token: str
) -> tuple[common.CreatePending, list[str]]:
    """The marker, and what its request may have made: matching, new, owned by nobody else."""
    marker = pending_marker(p.status)
    assert marker is not None
    p.action = "list"
    matching = await kind.matching(p, token, marker)
    owned = p.deps.owners.owned_elsewhere(kind.info.plural, matching, p.obj.claimant)
    return marker, pending.candidates(marker, matching, owned)


async def _resolve_pending(
    kind: Kind[SpecT, StatusT], p: Pass[SpecT, StatusT], token: str
) -> Outcome[StatusT]:
    plural, me, noun = kind.info.plural, p.obj.claimant, kind.info.noun
    marker, found = await _look_up(kind, p, token)
    verdict = pending.verdict(marker, found, now=p.now, grace=p.config.create_retry_grace)
    if verdict is pending.Verdict.ADOPT:
        [found_id] = found
        p.deps.owners.claim(plural, found_id, me)
        p.update(**{kind.info.id_field: found_id, "create_pending": None})
        await p.save()
        p.event(
            "CreateResolved",
            f"Found the {noun} {found_id} made by an earlier create request whose result was "
            "lost; managing it.",
        )
        return await kind.observe(p, token, found_id)
    if verdict is pending.Verdict.STOP:
        message = pending.unresolved_message(noun, marker, found)
        return p.synced_false(S.CREATE_PENDING_UNRESOLVED, message, p.config.poll_interval)
    if verdict is pending.Verdict.CREATE:
        _log.info("[%s] the earlier create request made no %s; creating", p.obj, noun)
        p.update(create_pending=None)
        return await _create(kind, p, token)
    waited = (p.now - marker.requested_at).total_seconds()
    ready = conditions.Update(
        READY,
        "False",
        common.ReadyReason.CREATING,
        f"The create request got no clear answer; checking that Astra did not create the "
        f"{noun} before sending another.",
    )
    delay = max(min(p.config.create_retry_grace - waited, p.config.busy_requeue), 0.2)
    return p.outcome([ready], delay)


async def finalize(
    kind: Kind[SpecT, StatusT], obj: Managed[SpecT, StatusT], deps: Deps, *, failures: int = 0
) -> Outcome[StatusT]:
    """One deletion pass; ``Outcome.done`` says the finalizer may be removed."""
    p: Pass[SpecT, StatusT] = Pass(obj, deps, kind, failures)
    outcome = await _finalize(kind, p)
    if outcome.done:
        deps.forget(obj.uid, kind.info.plural)
    else:
        await p.save()
    metrics.observe_pass(kind.info.kind, obj, outcome, p, deleting=True)
    return outcome


async def _finalize(kind: Kind[SpecT, StatusT], p: Pass[SpecT, StatusT]) -> Outcome[StatusT]:
    info, obj = kind.info, p.obj
    policy = getattr(obj.spec, "deletion_policy", None) or p.config.default_deletion_policy
    target = status_id(kind, obj.status)
    other = target and p.deps.owners.other_owner(info.plural, target, obj.claimant)
    if other:
        p.event(
            "Released",
            f"The Astra {info.noun} {target} is managed by {info.kind} {other}: left as it is.",
        )
        return p.outcome([], 0, done=True)
    if policy == "Retain" or p.observing:  # Observe never writes to Astra: it releases
        return await _retain(kind, p, target)
    if target is None and pending_marker(p.status) is None:
        return p.outcome([], 0, done=True)  # nothing was ever created or adopted
    blocked = _deletion_blocked(kind, p)
    if blocked is not None:
        return blocked
    try:
        token = await p.token()
    except CredentialsProblem as exc:
        return _blocked(p, exc.reason, f"Cannot delete: {exc.message}")
    try:
        if target is None:
            found = await _pending_target(kind, p, token)
            if found is None or isinstance(found, Outcome):
                return found or p.outcome([], 0, done=True)
            target = found
        p.action = "delete"
        return await kind.delete(p, token, target)
    except errors.AstraError as exc:
        return p.api_failed(exc)


async def _retain(
    kind: Kind[SpecT, StatusT], p: Pass[SpecT, StatusT], target: str | None
) -> Outcome[StatusT]:
    """deletionPolicy Retain: release. A kind may first do its part in an optional
    ``retain(p, external_id)`` (e.g. a token keeps its Secret): an outcome from it (a wait)
    stops the release; None goes on."""
    hook = getattr(kind, "retain", None)
    if hook is not None and target is not None:
        try:
            waiting: Outcome[StatusT] | None = await hook(p, target)
        except errors.AstraError as exc:
            return p.api_failed(exc)
        if waiting is not None:
            return waiting
    if target:
        p.event(
            "Retained",
            f"deletionPolicy is Retain: the Astra {kind.info.noun} {target} stays and is no "
            "longer managed.",
        )
    return p.outcome([], 0, done=True)


def _deletion_blocked(
    kind: Kind[SpecT, StatusT], p: Pass[SpecT, StatusT]
) -> Outcome[StatusT] | None:
    if p.obj.paused:
        message = (
            f"Deletion waits: reconciliation is paused ({PAUSE_ANNOTATION}=true). Remove the "
            f"annotation to let the operator delete the Astra {kind.info.noun}."
        )
        return _blocked(p, S.RECONCILE_PAUSED, message)
    why = kind.protected(p.obj)
    if why is not None:
        return _blocked(p, S.DELETION_PROTECTED, why)
    return None


def _blocked(p: Pass[SpecT, StatusT], reason: str, message: str) -> Outcome[StatusT]:
    return p.synced_false(reason, message, max(p.config.busy_requeue, 5.0))


async def _pending_target(
    kind: Kind[SpecT, StatusT], p: Pass[SpecT, StatusT], token: str
) -> str | Outcome[StatusT] | None:
    """Deleting an object whose create result was never recorded: find what it made."""
    marker, found = await _look_up(kind, p, token)
    if len(found) > 1:
        message = pending.unresolved_message(kind.info.noun, marker, found)
        return _blocked(p, S.CREATE_PENDING_UNRESOLVED, message)
    return found[0] if found else None
