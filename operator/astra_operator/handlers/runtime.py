"""The operator's long-lived state, built at start-up and kept in kopf's memo."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Protocol

from kubernetes import client as k8s

from astra_operator import config, metrics
from astra_operator.astra import client as astra_client
from astra_operator.handlers import queue as work_queue
from astra_operator.kube import api as kube_api
from astra_operator.reconcilers import engine, ownership

PASS_SLOTS = 32
"""Passes that run at once, operator-wide (the work queue's slots); the others wait their
turn. With a thousand objects starting together, unbounded passes held their requests and
replies all at once: the memory peak (which the heap keeps) grew with the number of objects,
not with the work in flight."""


class Job(Protocol):
    """One object's passes, as the work queue runs them (``handlers/kinds.py``)."""

    async def run(self, runtime: Runtime) -> float | None:
        """One pass; seconds until the next, or None: not until the next wake-up."""


@dataclasses.dataclass
class Runtime:
    """One AstraClient, one Kubernetes client, the work queue and what it knows per object."""

    deps: engine.Deps
    kube: kube_api.Kube
    astra: astra_client.AstraClient
    api_client: k8s.ApiClient
    jobs: dict[str, Job] = dataclasses.field(default_factory=dict)
    """By uid: every object the operator has seen and not seen deleted."""
    dep_seen: dict[tuple[str, str, str], object] = dataclasses.field(default_factory=dict)
    """The recorded ID of each object others may wait for, as last seen."""
    indexes: dict[str, Mapping[str, Iterable[ownership.Claimant]]] = dataclasses.field(
        default_factory=dict
    )
    """kopf's ownership index of each kind (by plural): recorded Astra ID -> objects."""
    progress: Progress = dataclasses.field(default_factory=lambda: Progress())
    queue: work_queue.WorkQueue = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.queue = work_queue.WorkQueue(self._pass, slots=PASS_SLOTS)
        metrics.passes_waiting_from(self.queue.waiting)

    async def _pass(self, uid: str) -> float | None:
        job = self.jobs.get(uid)
        if job is None:  # woken as someone's dependent before it was seen, or gone
            return None
        self.progress.started(uid)
        try:
            return await job.run(self)
        finally:
            self.progress.finished(uid)

    @classmethod
    def build(cls, cfg: config.OperatorConfig) -> Runtime:
        astra = astra_client.AstraClient(
            cfg.api_url,
            timeout=cfg.api_timeout,
            max_concurrency=cfg.api_concurrency,
            rate=cfg.api_rate,
        )
        api_client = kube_api.load_api_client()
        kube = kube_api.Kube(
            api_client, connect_timeout=cfg.kube_connect_timeout, read_timeout=cfg.kube_timeout
        )
        deps = engine.Deps(astra=astra, kube=kube, config=cfg, clock=lambda: datetime.now(UTC))
        runtime = cls(deps=deps, kube=kube, astra=astra, api_client=api_client)
        deps.owners.recorded = runtime.recorded
        return runtime

    def recorded(self, plural: str, external_id: str) -> Iterable[ownership.Claimant]:
        """The objects whose status records ``external_id`` (from kopf's index)."""
        return tuple(self.indexes.get(plural, {}).get(external_id, ()))

    def forget(self, uid: str) -> None:
        self.jobs.pop(uid, None)
        self.queue.forget(uid)

    async def close(self) -> None:
        """Stop the passes, close the clients; Kubernetes calls in flight are not waited for."""
        await self.queue.close()
        self.kube.close()
        await self.astra.aclose()
        self.api_client.close()  # type: ignore[no-untyped-call]


class Progress:
    """Which passes are running since when: the liveness probe fails on a stuck loop
    (``astra_operator_passes_running`` counts them)."""

    def __init__(self) -> None:
        self.running: dict[str, float] = {}

    def started(self, uid: str) -> None:
        self.running[uid] = time.monotonic()
        metrics.passes_running(len(self.running))

    def finished(self, uid: str) -> None:
        self.running.pop(uid, None)
        metrics.passes_running(len(self.running))

    def stuck(self, limit: float) -> int:
        """How many passes have run longer than ``limit`` seconds."""
        now = time.monotonic()
        return sum(1 for since in self.running.values() if now - since > limit)
