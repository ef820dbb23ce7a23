"""Leader election on a ``coordination.k8s.io/v1`` Lease: of several replicas, one is active.

kopf's peering only pauses operators that see each other; it is not leader election. This is
client-go's algorithm (its default timing: lease 15 s, renew deadline 10 s, retry 2 s):

- ``Elector.acquire`` returns once this process holds the Lease. It creates the Lease when
  absent and takes it when free (released) or expired; otherwise it checks again every retry
  period. Expired means both that ``renewTime + leaseDurationSeconds`` has passed and that the
  Lease has not changed for that long by this process's own clock since it saw it, so a clock
  running ahead of the holder's cannot take a live Lease.
- Every write carries the resourceVersion it was decided on: of two candidates the API server
  lets one write, the other gets 409 and goes on waiting. Two never both hold it.
- While held, the Lease is renewed every retry period. When a renewal finds another holder, or
  none has succeeded for the renew deadline (shorter than the lease: the holder gives up before
  anyone may take over), ``on_lost`` is called, once; a watchdog thread checks the deadline, so
  a blocked event loop cannot delay it. ``astra-operator run`` exits there.
- ``release`` hands the Lease over at once: the holder is cleared, a waiting candidate takes it
  on its next check.

Calls run on worker threads of their own, each with a connect and a read timeout of at most a
third of the renew deadline: one dead connection costs one attempt, not the Lease.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import urllib3
from kubernetes import client as k8s

from astra_operator import config
from astra_operator.kube import api as kube_api

logger = logging.getLogger(__name__)
T = TypeVar("T")
Body = dict[str, Any]


class LeaseUnavailable(Exception):  # noqa: N818 (reads as a condition)
    """No answer from the Kubernetes API about the Lease, or a transient error: retried."""


class LeaseRefused(Exception):  # noqa: N818
    """The API refused the Lease call for good (401/403: RBAC; 404: no such namespace)."""


@dataclasses.dataclass(frozen=True)
class Timing:
    """How long a Lease lasts, how long its holder keeps trying to renew it, how often."""

    lease_seconds: int = 15
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.retry_period < self.renew_deadline < self.lease_seconds:
            raise ValueError(f"need 0 < retry period < renew deadline < lease duration: {self}")

    @classmethod
    def for_lease(cls, lease_seconds: int) -> Timing:
        """client-go's defaults (15 s, 10 s, 2 s), scaled to ``lease_seconds``."""
        return cls(lease_seconds, lease_seconds * 2 / 3, lease_seconds * 2 / 15)


def new_identity(pod_name: str) -> str:
    """The pod's name and a random suffix: two processes with one name never share it."""
    return f"{pod_name or 'astra-operator'}_{secrets.token_hex(4)}"


@dataclasses.dataclass(frozen=True)
class Record:
    """What a Lease says."""

    holder: str
    """``""`` when free."""
    renewed: datetime | None
    duration: int
    transitions: int
    version: str

    @classmethod
    def of(cls, lease: k8s.V1Lease) -> Record:
        spec = lease.spec or k8s.V1LeaseSpec()
        return cls(
            holder=spec.holder_identity or "",
            renewed=spec.renew_time,
            duration=spec.lease_duration_seconds or 0,
            transitions=spec.lease_transitions or 0,
            version=_meta(lease).resource_version or "",
        )


class Elector:
    """One candidate for one Lease."""

    def __init__(
        self,
        api: k8s.ApiClient,
        *,
        namespace: str,
        name: str,
        identity: str,
        on_lost: Callable[[str], None],
        timing: Timing = Timing(),
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
    ) -> None:
        self.namespace, self.name, self.identity, self.timing = namespace, name, identity, timing
        self._api = api
        self._leases = k8s.CoordinationV1Api(api)
        cap = timing.renew_deadline / 3
        self._timeout = (min(connect_timeout, cap), min(read_timeout, cap))
        self._executor = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="lease")
        self._on_lost = on_lost
        self.holder = ""
        """The holder last seen (``""``: none)."""
        self.checked_at = time.monotonic()
        """When the last check of the Lease ended (whatever its outcome)."""
        self._seen, self._seen_at = "", 0.0  # resourceVersion last seen, and since when
        self._lease: k8s.V1Lease | None = None  # as we last wrote it, while holding it
        self._acquired = ""
        self._renewed_at = 0.0  # monotonic time a successful write was sent
        self._done = threading.Event()  # renewing stopped: released, abandoned or lost
        self._lock = threading.Lock()
        self._renewing: asyncio.Task[None] | None = None

    @classmethod
    def from_config(cls, cfg: config.OperatorConfig, on_lost: Callable[[str], None]) -> Elector:
        """The candidate ``astra-operator run`` is, with a client of its own."""
        return cls(
            kube_api.load_api_client(pool_size=4),
            namespace=cfg.lease_namespace,
            name=cfg.leader_lease_name,
            identity=new_identity(cfg.pod_name),
            on_lost=on_lost,
            timing=Timing.for_lease(cfg.leader_lease_seconds),
            connect_timeout=cfg.kube_connect_timeout,
            read_timeout=cfg.kube_timeout,
        )

    @property
    def where(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def holding(self) -> bool:
        return self._lease is not None and not self._done.is_set()

    def check_overdue(self) -> bool:
        """Whether the waiting loop has not finished a check for far longer than one takes
        (its calls' timeouts and a retry period, twice over): it is stuck."""
        connect, read = self._timeout
        patience = 2 * (self.timing.retry_period + 3 * connect + 2 * read)
        return time.monotonic() - self.checked_at > patience

    async def acquire(self) -> None:
        """Return once this process holds the Lease; it is renewed in the background from
        then on. ``LeaseRefused`` when the API refuses for good (RBAC)."""
        announced, failing = "", False
        while True:
            try:
                holder = await self._run("acquire", self._try_acquire)
            except LeaseUnavailable as exc:
                if not failing:
                    logger.warning("cannot check the lease %s, retrying: %s", self.where, exc)
                failing = True
            else:
                failing = False
                self.holder = holder or self.identity
                if holder is None:
                    break
                if holder != announced:
                    logger.info("waiting for the lease %s held by %s", self.where, holder)
                    announced = holder
            self.checked_at = time.monotonic()
            await asyncio.sleep(self.timing.retry_period)
        self.checked_at = time.monotonic()
        logger.info("acquired the lease %s as %s", self.where, self.identity)
        self._renewing = asyncio.get_running_loop().create_task(
            self._renew_forever(), name="lease renewal"
        )
        threading.Thread(target=self._watch, name="lease-watchdog", daemon=True).start()

    async def release(self) -> None:
        """Stop renewing and give the Lease up, so that a waiting candidate takes it at once."""
        holding = self.holding
        self.abandon()
        if self._renewing is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
        if not holding:
            return
        try:
            await asyncio.wait_for(self._run("release", self._release), self.timing.renew_deadline)
        except Exception as exc:  # the Lease then expires: slower, as safe
            logger.warning(
                "could not release the lease %s (%s): the next leader waits for it to expire",
                self.where,
                _describe(exc),
            )
            return
        logger.info("released the lease %s", self.where)

    def abandon(self) -> None:
        """Stop renewing (and watching the deadline) without releasing: what a killed process
        leaves behind; the Lease expires."""
        self._done.set()
        if self._renewing is not None:
            self._renewing.cancel()

    def close(self) -> None:
        """Stop the worker threads without waiting for a call in flight."""
        self.abandon()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._api.rest_client.pool_manager.clear()

    # --- the loops ------------------------------------------------------------------------

    async def _renew_forever(self) -> None:
        while not self._done.is_set():
            await asyncio.sleep(self.timing.retry_period)
            left = self._renewed_at + self.timing.renew_deadline - time.monotonic()
            if self._done.is_set():
                return
            if left <= 0:
                self._lose(f"not renewed for {self.timing.renew_deadline:g} s")
                return
            try:
                holder = await asyncio.wait_for(self._run("renew", self._renew), left)
            except Exception as exc:  # any failure: the deadline decides
                logger.warning(
                    "could not renew the lease %s (%s); %.1f s left to renew it",
                    self.where,
                    _describe(exc),
                    max(self._renewed_at + self.timing.renew_deadline - time.monotonic(), 0.0),
                )
                continue
            if holder is not None:
                self._lose(f"it is now held by {holder}")
                return

    def _watch(self) -> None:
        """The renew deadline, watched from a thread of its own."""
        tick = min(0.25, self.timing.retry_period / 4)
        while not self._done.wait(tick):
            idle = time.monotonic() - self._renewed_at
            if idle > self.timing.renew_deadline:
                self._lose(f"not renewed for {idle:.1f} s (the renew deadline)")
                return

    def _lose(self, reason: str) -> None:
        with self._lock:
            if self._done.is_set():
                return
            self._done.set()
        self._on_lost(f"lost the lease {self.where}: {reason}")

    # --- one call each, on a worker thread ------------------------------------------------

    def _try_acquire(self, *, _request_timeout: tuple[float, float]) -> str | None:
        """One check: None when this process holds the Lease now, else who does."""
        timeout = _request_timeout
        try:
            lease = self._leases.read_namespaced_lease(
                self.name, self.namespace, _request_timeout=timeout
            )
        except k8s.ApiException as exc:
            if exc.status != 404:
                raise
            return self._write(None, timeout, transitions=0)
        record = Record.of(lease)
        if record.version != self._seen:
            self._seen, self._seen_at = record.version, time.monotonic()
        # Held by another and live: wait. Held by us: a write of ours that timed out here
        # but landed; it is taken again like a free one.
        if record.holder and record.holder != self.identity and not self._expired(record):
            return record.holder
        transitions = record.transitions + (record.holder != self.identity)
        return self._write(lease, timeout, transitions=transitions)

    def _expired(self, record: Record) -> bool:
        unchanged = time.monotonic() - self._seen_at
        past = record.renewed is None or (
            record.renewed + timedelta(seconds=record.duration) < datetime.now(UTC)
        )
        return past and unchanged >= record.duration

    def _write(
        self, current: k8s.V1Lease | None, timeout: tuple[float, float], *, transitions: int
    ) -> str | None:
        """Create (``current`` None) or take the Lease; None when it is ours now, else the
        holder a concurrent writer left (409)."""
        sent, now = time.monotonic(), _micro_time()
        self._acquired = now
        body = self._body(current, now, transitions=transitions)
        try:
            if current is None:
                written = self._leases.create_namespaced_lease(
                    self.namespace, body, _request_timeout=timeout
                )
            else:
                written = self._leases.replace_namespaced_lease(
                    self.name, self.namespace, body, _request_timeout=timeout
                )
        except k8s.ApiException as exc:
            if exc.status != 409 and (exc.status != 404 or current is None):
                raise  # a 404 on create: no such namespace
            found = self._current(timeout)  # another candidate wrote first
            return (Record.of(found).holder if found else "") or "another candidate"
        self._hold(written, sent)
        return None

    def _renew(self, *, _request_timeout: tuple[float, float]) -> str | None:
        """Renew; None when renewed, else the holder found instead (the Lease is lost)."""
        timeout, sent = _request_timeout, time.monotonic()
        assert self._lease is not None
        try:
            written = self._replace(self._lease, timeout)
        except k8s.ApiException as exc:
            if exc.status not in (404, 409):
                raise
            current = self._current(timeout)
            if current is None:
                return "nobody (it was deleted)"
            holder = Record.of(current).holder
            if holder != self.identity:
                return holder or "nobody (it was released)"
            written = self._replace(current, timeout)  # our own earlier write landed late
        self._hold(written, sent)
        return None

    def _release(self, *, _request_timeout: tuple[float, float]) -> None:
        timeout, current = _request_timeout, self._lease
        for _ in (1, 2):
            if current is None or Record.of(current).holder != self.identity:
                return
            transitions = Record.of(current).transitions
            body = self._body(current, _micro_time(), transitions=transitions, held=False)
            try:
                self._leases.replace_namespaced_lease(
                    self.name, self.namespace, body, _request_timeout=timeout
                )
            except k8s.ApiException as exc:
                if exc.status != 409:
                    raise
                current = self._current(timeout)
                continue
            return

    def _replace(self, base: k8s.V1Lease, timeout: tuple[float, float]) -> k8s.V1Lease:
        body = self._body(base, _micro_time(), transitions=Record.of(base).transitions)
        return self._leases.replace_namespaced_lease(
            self.name, self.namespace, body, _request_timeout=timeout
        )

    def _current(self, timeout: tuple[float, float]) -> k8s.V1Lease | None:
        try:
            return self._leases.read_namespaced_lease(
                self.name, self.namespace, _request_timeout=timeout
            )
        except k8s.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _hold(self, written: k8s.V1Lease, sent: float) -> None:
        with self._lock:
            self._lease = written
            self._renewed_at = max(self._renewed_at, sent)

    def _body(
        self, base: k8s.V1Lease | None, now: str, *, transitions: int, held: bool = True
    ) -> k8s.V1Lease:
        """The Lease held by this process (``held``; else by nobody), renewed ``now``, with
        ``base``'s metadata: its resourceVersion makes the write fail (409) if anyone wrote
        since."""
        meta: Body = {"name": self.name, "namespace": self.namespace}
        if base is not None:
            kept = _meta(base)
            meta["resourceVersion"] = kept.resource_version
            for key, value in (("labels", kept.labels), ("annotations", kept.annotations)):
                if value:
                    meta[key] = value
        spec: Body = {
            "leaseDurationSeconds": self.timing.lease_seconds,
            "renewTime": now,
            "leaseTransitions": transitions,
        }
        if held:
            spec |= {"holderIdentity": self.identity, "acquireTime": self._acquired or now}
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta}
        # A dict goes out as it is; a V1Lease would write its times with isoformat(), which
        # drops the six fractional digits a MicroTime must have when they are all zero.
        return cast(k8s.V1Lease, body | {"spec": spec})

    async def _run(self, what: str, call: Callable[..., T]) -> T:
        work = functools.partial(self._call, what, call)
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    def _call(self, what: str, call: Callable[..., T]) -> T:
        try:
            return call(_request_timeout=self._timeout)
        except urllib3.exceptions.HTTPError as exc:
            self._api.rest_client.pool_manager.clear()  # the next call opens a new connection
            raise LeaseUnavailable(f"{what}: {type(exc).__name__}: {exc}"[:300]) from exc
        except k8s.ApiException as exc:
            if exc.status in (401, 403) or (exc.status == 404 and what == "acquire"):
                raise LeaseRefused(
                    f"{what} the Lease {self.where}: {exc.status} {exc.reason}. The operator "
                    f"needs get, create and update on leases in {self.namespace} (the Helm "
                    "chart grants them), and the namespace must exist"
                ) from None
            if exc.status in (0, 429) or exc.status >= 500:
                raise LeaseUnavailable(f"{what}: {exc.status} {exc.reason}"[:300]) from exc
            raise


def _describe(exc: BaseException) -> str:
    return str(exc) or ("no answer in time" if isinstance(exc, TimeoutError) else repr(exc))


def _meta(lease: k8s.V1Lease) -> k8s.V1ObjectMeta:
    return lease.metadata or k8s.V1ObjectMeta()


def _micro_time() -> str:
    """Now, as a Kubernetes MicroTime (always six fractional digits)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
