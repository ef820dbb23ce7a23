"""kopf handlers for AstraDatabase.

A daemon per object runs the reconcile loop (the single writer for that object, so two passes
can never both create), reading the object fresh each pass and sleeping for the delay the
reconciler asks for; ``on.event`` wakes it early when the spec or the pause annotation changes.
Deletion runs in ``on.delete`` behind our finalizer, after kopf has stopped the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any, Final

import kopf
import pydantic

from astra_operator.handlers import runtime as rt
from astra_operator.kube import api as kube_api
from astra_operator.logic import conditions
from astra_operator.reconcilers import base, database, deletion
from astra_operator.resources import common
from astra_operator.resources import database as db


def _runtime(memo: Any) -> rt.Runtime:
    runtime: rt.Runtime = memo["runtime"]
    return runtime


def _post(body: kopf.Body, outcome: base.Outcome) -> None:
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)


STATUS_REFRESH: Final = 300.0
"""Seconds after which lastObservedTime is rewritten even when nothing else changed."""


def _changed(before: db.AstraDatabaseStatus, after: db.AstraDatabaseStatus) -> bool:
    """Write when anything but lastObservedTime changed, or that is 5 minutes old."""
    ignore = {"last_observed_time"}
    if before.model_dump(exclude=ignore) != after.model_dump(exclude=ignore):
        return True
    old, new = before.last_observed_time, after.last_observed_time
    return new is not None and (old is None or (new - old).total_seconds() >= STATUS_REFRESH)


async def _write(runtime: rt.Runtime, obj: base.DatabaseObject, outcome: base.Outcome) -> None:
    if _changed(outcome.stored or obj.status, outcome.status):
        await runtime.kube.patch_status(obj.ref, base.wire_status(outcome.status))


async def _sleep(waker: asyncio.Event, stopped: kopf.DaemonStopped, delay: float) -> None:
    wake = asyncio.ensure_future(waker.wait())
    stop = asyncio.ensure_future(stopped.wait())
    try:
        await asyncio.wait({wake, stop}, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (wake, stop):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    waker.clear()


async def _invalid(runtime: rt.Runtime, raw: Mapping[str, Any], exc: Exception) -> None:
    """A stored object the models refuse (schema drift): say so instead of crashing."""
    meta = raw["metadata"]
    ref = kube_api.ObjectRef(db.PLURAL, meta["namespace"], meta["name"])
    status = db.AstraDatabaseStatus.model_validate(raw.get("status") or {})
    update = conditions.Update(
        common.ConditionType.SYNCED,
        "False",
        "InvalidSpec",
        f"The spec cannot be read: {exc}"[:2000],
    )
    merged = conditions.merge(
        status.conditions,
        [update],
        now=runtime.deps.clock(),
        generation=int(meta.get("generation", 1)),
    )
    await runtime.kube.patch_status(
        ref, base.wire_status(status.model_copy(update={"conditions": merged}))
    )


async def _pass(
    runtime: rt.Runtime, ref: kube_api.ObjectRef, body: kopf.Body, failures: int
) -> tuple[float, int] | None:
    """One reconcile pass; returns (delay, failures), or None when the daemon should end."""
    raw = await runtime.kube.get(ref)
    if base.as_mapping(raw.get("metadata")).get("deletionTimestamp"):
        return None
    try:
        obj = base.DatabaseObject.from_body(raw)
    except pydantic.ValidationError as exc:
        await _invalid(runtime, raw, exc)
        return runtime.deps.config.poll_interval, failures + 1
    outcome = await database.reconcile(obj, runtime.deps, failures=failures)
    await _write(runtime, obj, outcome)
    _post(body, outcome)
    synced = outcome.status.condition(common.ConditionType.SYNCED)
    failing = synced is not None and synced.reason in (
        common.SyncedReason.RECONCILE_ERROR,
        common.SyncedReason.SPEC_REJECTED,
    )
    return outcome.requeue_after, failures + 1 if failing else 0


@kopf.daemon(db.GROUP, db.VERSION, db.PLURAL, cancellation_timeout=30.0)
async def database_daemon(
    stopped: kopf.DaemonStopped,
    body: kopf.Body,
    namespace: str | None,
    name: str,
    uid: str,
    memo: Any,
    logger: kopf.Logger,
    **_: Any,
) -> None:
    """Reconcile one AstraDatabase until it is deleted or the operator stops."""
    runtime = _runtime(memo)
    ref = kube_api.ObjectRef(db.PLURAL, namespace or "", name)
    waker, failures = runtime.waker(uid), 0
    runtime.seen.setdefault(uid, _wake_key(body.meta))  # the event that started us is no news
    waker.clear()  # the first pass reads the object fresh anyway
    while not stopped:
        try:
            result = await _pass(runtime, ref, body, failures)
        except kube_api.ObjectGone:
            return
        except Exception:
            logger.exception("reconcile pass failed; retrying")
            result = (min(5.0 * 2**failures, 300.0), failures + 1)
        if result is None:
            return
        delay, failures = result
        await _sleep(waker, stopped, delay)


def _wake_key(meta: kopf.Meta) -> tuple[object, ...]:
    return (
        meta.get("generation"),
        meta.annotations.get(base.PAUSE_ANNOTATION),
        meta.annotations.get(base.RECONCILE_ANNOTATION),
        meta.get("deletionTimestamp"),
    )


@kopf.on.event(db.GROUP, db.VERSION, db.PLURAL)
async def wake_on_change(
    event: Mapping[str, Any], uid: str, meta: kopf.Meta, memo: Any, **_: Any
) -> None:
    """Wake the daemon when the spec, the pause or reconcile-requested-at annotation, or the
    deletion state changes (not on our own status writes)."""
    runtime = _runtime(memo)
    key = _wake_key(meta)
    if runtime.seen.get(uid) != key:
        runtime.seen[uid] = key
        runtime.waker(uid).set()


@kopf.on.delete(db.GROUP, db.VERSION, db.PLURAL)
async def finalize(
    body: kopf.Body, namespace: str | None, name: str, uid: str, retry: int, memo: Any, **_: Any
) -> None:
    """Release the finalizer once the deletion policy is carried out."""
    runtime = _runtime(memo)
    ref = kube_api.ObjectRef(db.PLURAL, namespace or "", name)
    try:
        obj = base.DatabaseObject.from_body(await runtime.kube.get(ref))
    except kube_api.ObjectGone:
        return
    except pydantic.ValidationError as exc:
        raise kopf.TemporaryError(f"cannot read the spec: {exc}", delay=60) from None
    outcome = await deletion.finalize(obj, runtime.deps, failures=retry)
    _post(body, outcome)
    if outcome.done:
        runtime.forget(uid)
        return
    with contextlib.suppress(kube_api.ObjectGone):
        await _write(runtime, obj, outcome)
    synced = outcome.status.condition(common.ConditionType.SYNCED)
    why = synced.message if synced is not None and synced.status == "False" else ""
    raise kopf.TemporaryError(
        why or "waiting for Astra to terminate the database", delay=max(outcome.requeue_after, 1.0)
    )
