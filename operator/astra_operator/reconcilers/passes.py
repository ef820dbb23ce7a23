"""One pass over one object (``Pass``: the status being built, events, the token, the shared
lists) and what every pass shares (``Deps``: ports, ownership, caches, per-object memory)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, Final, Generic

from astra_operator import config, metrics
from astra_operator.astra import errors, redaction
from astra_operator.kube import api as kube_api
from astra_operator.logic import conditions, credentials, failures
from astra_operator.reconcilers import ownership, ports
from astra_operator.reconcilers.model import (
    CONFIRM_REMOVALS_ANNOTATION,
    DIRECT_AT,
    READY,
    SYNCED,
    CredentialsProblem,
    Event,
    Kind,
    Managed,
    ObserveOnly,
    Outcome,
    S,
    SecretKey,
    SpecT,
    StatusT,
    T,
    as_mapping,
    wire_status,
)
from astra_operator.resources import common

_log = logging.getLogger(__name__)

TOKEN_CACHE_SECONDS: Final = 30.0
"""How long a token read from a Secret is reused (dropped at once on a 401/403)."""
CREDENTIALS_RECHECK: Final = 2.0
"""Seconds between re-reads of a missing or unusable token Secret, shared by every object
that uses it: a created or fixed Secret is noticed within about this long. (The operator may
not list or watch Secrets: that would let it read every Secret of a namespace.)"""
SHARED_TTL: Final = 2.0
"""Seconds a shared list result (Pass.shared) is reused by other passes."""


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
