"""Registering a kind with kopf: one call, :func:`register`, wires everything below for it.

- an index of every watched object's recorded Astra ID (kopf fills indexes before any handler
  runs, so ownership is known across namespaces from the first pass, also after a restart);
- the engine's passes, run by the operator's one work queue (``handlers/queue.py``; the single
  writer for each object, so two passes can never both create): each pass reads the object
  no older than its newest version seen (the watch's events and our own writes: ``kube.api``),
  is bounded by a deadline, and is queued again after the delay the engine asks for;
- an event handler that queues a pass for each object it sees first (every object listed at
  start-up) and whenever the spec, the pause or reconcile-requested-at annotation (or one of
  the kind's own ``KindInfo.wake_annotations``) or the deletion state changes, and wakes the
  objects that wait for this one (a role for its database) when its recorded ID changes;
- a delete handler behind our finalizer that runs the engine's deletion pass, never while a
  pass of the same object runs, bounded by the same deadline.

No kopf daemon per object: a task, a daemon and kopf's kept copy of the body per object were
the largest part of the memory that grew with the number of objects (benchmarks/README.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, cast

import kopf
import pydantic

from astra_operator.handlers import operator as op
from astra_operator.handlers import runtime as rt
from astra_operator.kube import api as kube_api
from astra_operator.logic import conditions, failures
from astra_operator.reconcilers import engine, ownership
from astra_operator.resources import common

_log = logging.getLogger(__name__)

Parse = Callable[[object], engine.Managed[Any, Any]]
T = TypeVar("T")
FINALIZER_WAIT = 0.2
"""Seconds between looks for our finalizer on a new object (kopf adds it at once)."""


def _runtime(memo: Any) -> rt.Runtime:
    runtime: rt.Runtime = memo["runtime"]
    return runtime


def _post(body: Mapping[str, Any], outcome: engine.Outcome[Any]) -> None:
    for event in outcome.events:
        kopf.event(
            cast(kopf.Body, body), type=event.type, reason=event.reason, message=event.message
        )


def _wake_key(meta: Mapping[str, Any], extra: tuple[str, ...] = ()) -> tuple[object, ...]:
    annotations = meta.get("annotations") or {}
    return (
        meta.get("generation"),
        annotations.get(engine.PAUSE_ANNOTATION),
        annotations.get(engine.RECONCILE_ANNOTATION),
        meta.get("deletionTimestamp"),
        *(annotations.get(name) for name in extra),
    )


async def _bounded(
    runtime: rt.Runtime, ref: kube_api.ObjectRef, what: str, work: Awaitable[T]
) -> T:
    """``work`` within ASTRA_PASS_DEADLINE; past it, abandoned with a warning (TimeoutError)."""
    deadline = runtime.deps.config.pass_deadline
    try:
        return await asyncio.wait_for(work, timeout=deadline)
    except TimeoutError:
        _log.warning(
            "[%s/%s] %s pass exceeded %.0f s; abandoned, retrying",
            ref.namespace,
            ref.name,
            what,
            deadline,
        )
        raise


class _Job:
    """What the work queue runs for one object: its passes, each bounded by the deadline; the
    count of failed passes in a row (for the back-off); the wake key last seen (``_wake_key``)."""

    __slots__ = ("failed", "ref", "reg", "seen")

    def __init__(self, reg: _Registration, ref: kube_api.ObjectRef) -> None:
        self.reg, self.ref, self.failed = reg, ref, 0
        self.seen: tuple[object, ...] | None = None

    async def run(self, runtime: rt.Runtime) -> float | None:
        ref, failed = self.ref, self.failed
        retry = (failures.backoff(failed), failed + 1)
        try:
            result = await _bounded(
                runtime, ref, "reconcile", self.reg.one_pass(runtime, ref, failed)
            )
        except kube_api.ObjectGone:
            return None
        except TimeoutError:
            result = retry
        except kube_api.KubeUnavailable as exc:  # an expected wait: no traceback
            _log.warning(
                "[%s/%s] the Kubernetes API did not answer, retrying: %s",
                ref.namespace,
                ref.name,
                exc,
            )
            result = retry
        except Exception:  # the queue must survive anything
            _log.exception("[%s/%s] reconcile pass failed; retrying", ref.namespace, ref.name)
            result = retry
        if result is None:
            return None
        delay, self.failed = result
        return delay


class _Registration:
    """The kopf handlers of one kind."""

    def __init__(
        self, kind: engine.Kind[Any, Any], parse: Parse, status_model: type[common.ResourceStatus]
    ) -> None:
        self.kind, self.parse, self.status_model = kind, parse, status_model
        self.plural = kind.info.plural
        self.index_id = f"owners_{self.plural}"

    def index(self, body: kopf.Body, meta: kopf.Meta, status: kopf.Status, **_: Any) -> Any:
        """The Astra ID this object records, and who it is (for ownership)."""
        recorded = status.get(self.kind.info.id_label)
        if not isinstance(recorded, str) or not recorded:
            return None
        claimant = ownership.Claimant(
            str(meta.get("creationTimestamp") or ""),
            str(meta.get("namespace") or ""),
            str(meta.get("name") or ""),
            str(meta.get("uid") or ""),
        )
        return {recorded: claimant}

    async def invalid(self, runtime: rt.Runtime, raw: Mapping[str, Any], exc: Exception) -> None:
        """A stored object the models refuse (schema drift): say so instead of crashing."""
        meta = raw["metadata"]
        ref = kube_api.ObjectRef(self.plural, meta["namespace"], meta["name"])
        status = self.status_model.model_validate(raw.get("status") or {})
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
        if merged != status.conditions:
            await runtime.kube.patch_status(
                ref, engine.wire_status(status.model_copy(update={"conditions": merged}))
            )

    async def one_pass(
        self, runtime: rt.Runtime, ref: kube_api.ObjectRef, failed: int
    ) -> tuple[float, int] | None:
        """One reconcile pass; returns (delay, failures), or None: no pass until the next
        wake-up (the object is being deleted)."""
        raw = await runtime.kube.get(ref)
        meta = engine.as_mapping(raw.get("metadata"))
        if meta.get("deletionTimestamp"):
            return None
        finalizers = meta.get("finalizers")
        if not isinstance(finalizers, list) or op.FINALIZER not in finalizers:
            # kopf adds it in parallel; nothing may be created before deletion is guarded
            _log.info("[%s/%s] waiting for the finalizer before acting", ref.namespace, ref.name)
            return FINALIZER_WAIT, failed
        try:
            obj = self.parse(raw)
        except pydantic.ValidationError as exc:
            await self.invalid(runtime, raw, exc)
            return runtime.deps.config.poll_interval, failed + 1
        outcome = await engine.reconcile(self.kind, obj, runtime.deps, failures=failed)
        _post(raw, outcome)
        return outcome.requeue_after, failed + 1 if outcome.failed else 0

    async def deletion_pass(
        self, runtime: rt.Runtime, ref: kube_api.ObjectRef, retry: int
    ) -> engine.Outcome[Any]:
        """The object read fresh, then the engine's deletion pass (its deletion policy)."""
        try:
            obj = self.parse(await runtime.kube.get(ref, fresh=True))
        except pydantic.ValidationError as exc:
            raise kopf.TemporaryError(f"cannot read the spec: {exc}", delay=60) from None
        return await engine.finalize(self.kind, obj, runtime.deps, failures=retry)

    async def on_event(
        self,
        event: Mapping[str, Any],
        uid: str,
        meta: kopf.Meta,
        status: kopf.Status,
        namespace: str | None,
        name: str,
        memo: Any,
        **kwargs: Any,
    ) -> None:
        """Queue a pass for an object seen for the first time (also each object listed at
        start-up) and on a change that matters (not on our own status writes); wake the objects
        waiting for this one when its recorded ID changes; forget a deleted one."""
        runtime = _runtime(memo)
        runtime.indexes[self.plural] = kwargs[self.index_id]
        runtime.queue.start()  # from a handler: its tasks inherit kopf's context for Events
        gone = event.get("type") == "DELETED"
        ref = kube_api.ObjectRef(self.plural, namespace or "", name)
        if gone:
            runtime.forget(uid)
            runtime.kube.forget(ref)
        else:
            runtime.kube.saw(ref, kwargs["body"])  # each pass reads it as new as this, or newer
            job = runtime.jobs.get(uid)
            if not isinstance(job, _Job):
                job = runtime.jobs[uid] = _Job(self, ref)
            key = _wake_key(meta, self.kind.info.wake_annotations)
            if job.seen != key:
                job.seen = key
                runtime.queue.wake(uid)
        target = (self.plural, namespace or "", name)
        dep_key = (None if gone else status.get(self.kind.info.id_label), gone)
        if runtime.dep_seen.get(target) != dep_key:
            runtime.dep_seen[target] = dep_key
            for waiter in runtime.deps.dependents.of(target):
                runtime.queue.wake(waiter)
        if gone:
            runtime.dep_seen.pop(target, None)

    async def finalize(
        self,
        body: kopf.Body,
        namespace: str | None,
        name: str,
        uid: str,
        retry: int,
        memo: Any,
        **kwargs: Any,
    ) -> None:
        """Release the finalizer once the deletion policy is carried out."""
        runtime = _runtime(memo)
        runtime.indexes[self.plural] = kwargs[self.index_id]
        ref = kube_api.ObjectRef(self.plural, namespace or "", name)
        async with runtime.queue.held(uid):  # never beside a pass of the same object
            try:
                outcome = await _bounded(
                    runtime, ref, "deletion", self.deletion_pass(runtime, ref, retry)
                )
            except kube_api.ObjectGone:
                return
            except TimeoutError:
                raise kopf.TemporaryError(
                    f"the deletion pass exceeded {runtime.deps.config.pass_deadline:.0f} s"
                    " (ASTRA_PASS_DEADLINE)",
                    delay=failures.backoff(retry),
                ) from None
        _post(body, outcome)
        if outcome.done:
            runtime.forget(uid)
            return
        synced = outcome.status.condition(common.ConditionType.SYNCED)
        why = synced.message if synced is not None and synced.status == "False" else ""
        raise kopf.TemporaryError(
            why or f"waiting for Astra to delete the {self.kind.info.noun}",
            delay=max(outcome.requeue_after, 1.0),
        )


def register(
    kind: engine.Kind[Any, Any], parse: Parse, status_model: type[common.ResourceStatus]
) -> None:
    """Wire one kind into kopf's default registry (index, queueing events, deletion)."""
    reg = _Registration(kind, parse, status_model)
    where = (common.GROUP, common.VERSION, reg.plural)
    kopf.index(*where, id=reg.index_id)(reg.index)
    kopf.on.event(*where, id=f"wake_{reg.plural}")(reg.on_event)
    kopf.on.delete(*where, id=f"finalize_{reg.plural}")(reg.finalize)


@kopf.on.probe(id="reconcile_loops")
async def reconcile_loops(memo: Any, **_: Any) -> int:
    """Liveness: fails (the endpoint answers 500) while a pass has outlived its deadline twice,
    i.e. the reconcile loops stopped making progress."""
    runtime = _runtime(memo)
    stuck = runtime.progress.stuck(2 * runtime.deps.config.pass_deadline)
    if stuck:
        raise RuntimeError(f"{stuck} reconcile passes are stuck")
    return len(runtime.progress.running)
