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

import logging
from typing import Final

from astra_operator import metrics
from astra_operator.astra import errors
from astra_operator.logic import conditions, pending
from astra_operator.reconcilers import model, ownership, passes
from astra_operator.reconcilers.model import (
    DIRECT_AT,
    PAUSE_ANNOTATION,
    READY,
    RECONCILE_ANNOTATION,
    CredentialsProblem,
    Kind,
    Missing,
    ObserveOnly,
    Outcome,
    SpecT,
    StatusT,
    pending_marker,
    status_id,
)
from astra_operator.reconcilers.passes import Deps, Pass
from astra_operator.resources import common

_log = logging.getLogger(__name__)

# The engine's public names (kinds and handlers use ``engine.<name>``).
SYNCED: Final = model.SYNCED
SYNCED_OK: Final = model.SYNCED_OK
CONFIRM_REMOVALS_ANNOTATION: Final = model.CONFIRM_REMOVALS_ANNOTATION
S = model.S
Managed = model.Managed
KindInfo = model.KindInfo
Event = model.Event
parse = model.parse
as_mapping = model.as_mapping
wire_status = model.wire_status
SHARED_TTL: Final = passes.SHARED_TTL
CREDENTIALS_RECHECK: Final = passes.CREDENTIALS_RECHECK
TOKEN_CACHE_SECONDS: Final = passes.TOKEN_CACHE_SECONDS
__all__ = [
    "CONFIRM_REMOVALS_ANNOTATION",
    "DIRECT_AT",
    "PAUSE_ANNOTATION",
    "READY",
    "RECONCILE_ANNOTATION",
    "SYNCED",
    "SYNCED_OK",
    "CredentialsProblem",
    "Deps",
    "Event",
    "Kind",
    "KindInfo",
    "Managed",
    "Missing",
    "ObserveOnly",
    "Outcome",
    "Pass",
    "as_mapping",
    "finalize",
    "parse",
    "reconcile",
    "wire_status",
]


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
