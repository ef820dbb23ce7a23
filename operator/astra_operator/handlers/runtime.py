"""The operator's long-lived state, built at start-up and kept in kopf's memo."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

from kubernetes import client as k8s

from astra_operator import config
from astra_operator.astra import client as astra_client
from astra_operator.kube import api as kube_api
from astra_operator.reconcilers import base


@dataclasses.dataclass
class Runtime:
    """One AstraClient, one Kubernetes client and the per-object wake-up events."""

    deps: base.Deps
    kube: kube_api.Kube
    astra: astra_client.AstraClient
    api_client: k8s.ApiClient
    wakers: dict[str, asyncio.Event] = dataclasses.field(default_factory=dict)
    seen: dict[str, tuple[object, ...]] = dataclasses.field(default_factory=dict)

    @classmethod
    def build(cls, cfg: config.OperatorConfig) -> Runtime:
        astra = astra_client.AstraClient(
            cfg.api_url, timeout=cfg.api_timeout, max_concurrency=cfg.api_concurrency
        )
        api_client = kube_api.load_api_client()
        kube = kube_api.Kube(api_client)
        deps = base.Deps(astra=astra, kube=kube, config=cfg, clock=lambda: datetime.now(UTC))
        return cls(deps=deps, kube=kube, astra=astra, api_client=api_client)

    def waker(self, uid: str) -> asyncio.Event:
        return self.wakers.setdefault(uid, asyncio.Event())

    def forget(self, uid: str) -> None:
        self.wakers.pop(uid, None)
        self.seen.pop(uid, None)
        self.deps.recheck_before_create.discard(uid)
        self.deps.uncertain_creates.pop(uid, None)

    async def close(self) -> None:
        await self.astra.aclose()
        self.api_client.close()  # type: ignore[no-untyped-call]
