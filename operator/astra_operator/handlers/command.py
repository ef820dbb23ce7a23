"""``astra-operator run``: the operator against the current kubeconfig (or in-cluster)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import sys
import threading
import time
import urllib.parse
from collections.abc import Coroutine
from typing import Any

import aiohttp.web
import kopf

from astra_operator import config, metrics
from astra_operator.astra import redaction

# Importing registers the handlers with kopf's default registry.
from astra_operator.handlers import database as _database  # noqa: F401
from astra_operator.handlers import operator as _operator  # noqa: F401
from astra_operator.handlers import role as _role  # noqa: F401
from astra_operator.handlers import runtime as rt
from astra_operator.handlers import token as _token  # noqa: F401
from astra_operator.kube import leader

logger = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="astra-operator run",
        description="Run the operator. Settings come from ASTRA_* environment variables; "
        "these flags override them. Kubernetes access: $KUBECONFIG, ~/.kube/config or in-cluster.",
    )
    add = parser.add_argument
    add(
        "-n",
        "--namespace",
        action="append",
        dest="namespaces",
        default=None,
        help="watch only this namespace (repeatable; globs allowed; ASTRA_NAMESPACES, "
        "comma-separated); default: all namespaces",
    )
    add("--api-url", help="DevOps API base URL (ASTRA_API_URL)")
    add("--credentials-secret", help="default token Secret name (ASTRA_CREDENTIALS_SECRET)")
    add("--credentials-key", help="key in that Secret (ASTRA_CREDENTIALS_KEY)")
    add("--operator-namespace", help="namespace of that Secret (ASTRA_OPERATOR_NAMESPACE)")
    add(
        "--default-deletion-policy",
        choices=["Delete", "Retain"],
        help="when spec.deletionPolicy is omitted (ASTRA_DEFAULT_DELETION_POLICY)",
    )
    add(
        "--default-credentials-namespace",
        action="append",
        dest="default_credentials_namespaces",
        default=None,
        help="a namespace whose objects may use the default token (repeatable; * for all; "
        "ASTRA_DEFAULT_CREDENTIALS_NAMESPACES, comma-separated); default: the operator's own",
    )
    add(
        "--poll-interval",
        type=float,
        help="seconds between checks of a steady resource (ASTRA_POLL_INTERVAL)",
    )
    add(
        "--busy-requeue",
        type=float,
        help="seconds between checks while Astra is busy (ASTRA_BUSY_REQUEUE)",
    )
    add(
        "--create-retry-grace",
        type=float,
        help="seconds a create with no clear answer waits for its result to show up before it "
        "is sent again (ASTRA_CREATE_RETRY_GRACE)",
    )
    add(
        "--pass-deadline",
        type=float,
        help="seconds one reconcile pass may take before it is abandoned; liveness fails at "
        "twice that (ASTRA_PASS_DEADLINE)",
    )
    add("--api-timeout", type=float, help="seconds per DevOps API request (ASTRA_API_TIMEOUT)")
    add(
        "--api-concurrency",
        type=int,
        help="DevOps API requests in flight at once (ASTRA_API_CONCURRENCY)",
    )
    add(
        "--api-rate",
        type=float,
        help="DevOps API requests per second per credential, retries included; a 429 pauses "
        "that credential (ASTRA_API_RATE); default 10",
    )
    add(
        "--kube-timeout",
        type=float,
        help="seconds to wait for each read from the Kubernetes API (ASTRA_KUBE_TIMEOUT)",
    )
    add(
        "--kube-connect-timeout",
        type=float,
        help="seconds to wait for a connection to the Kubernetes API (ASTRA_KUBE_CONNECT_TIMEOUT)",
    )
    add("--log-format", choices=["json", "text"], help="log format (ASTRA_LOG_FORMAT)")
    add(
        "--liveness",
        metavar="URL",
        help="serve a liveness probe, e.g. http://0.0.0.0:8080/healthz (a standby answers it "
        "too, while it waits for the Lease)",
    )
    add(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics on http://0.0.0.0:PORT/metrics; 0: off "
        "(ASTRA_METRICS_PORT); default off",
    )
    _leader_flags(parser)
    add("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def _leader_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "leader election",
        "several replicas, one active: each waits to hold a coordination.k8s.io Lease before "
        "it reconciles anything (identity: $POD_NAME or $HOSTNAME, plus a random suffix)",
    )
    group.add_argument(
        "--leader-election",
        choices=["on", "off"],
        help="wait for the Lease before starting (ASTRA_LEADER_ELECTION); default off",
    )
    group.add_argument(
        "--lease-name", help="name of the Lease (ASTRA_LEADER_LEASE_NAME); default astra-operator"
    )
    group.add_argument(
        "--lease-namespace",
        help="namespace of the Lease (ASTRA_LEADER_LEASE_NAMESPACE); default the operator "
        "namespace",
    )
    group.add_argument(
        "--lease-seconds",
        help="the Lease's duration, at least 3; the renew deadline and retry period are 2/3 and "
        "2/15 of it (ASTRA_LEADER_LEASE_SECONDS); default 15",
    )


_OVERRIDES = {
    "api_url": "api_url",
    "credentials_secret": "credentials_secret",
    "credentials_key": "credentials_key",
    "operator_namespace": "operator_namespace",
    "default_deletion_policy": "default_deletion_policy",
    "poll_interval": "poll_interval",
    "busy_requeue": "busy_requeue",
    "create_retry_grace": "create_retry_grace",
    "pass_deadline": "pass_deadline",
    "api_timeout": "api_timeout",
    "api_concurrency": "api_concurrency",
    "api_rate": "api_rate",
    "kube_timeout": "kube_timeout",
    "kube_connect_timeout": "kube_connect_timeout",
    "log_format": "log_format",
    "metrics_port": "metrics_port",
    "lease_name": "leader_lease_name",
    "lease_namespace": "leader_lease_namespace",
}


def settings_from(args: argparse.Namespace) -> config.OperatorConfig:
    """The environment's config with the given flags applied on top."""
    cfg = config.OperatorConfig.from_env()
    changes = {
        field: getattr(args, arg)
        for arg, field in _OVERRIDES.items()
        if getattr(args, arg) is not None
    }
    if args.namespaces:
        changes["namespaces"] = tuple(args.namespaces)
    if args.default_credentials_namespaces:
        changes["default_credentials_namespaces"] = tuple(args.default_credentials_namespaces)
    if args.leader_election is not None:
        changes["leader_election"] = args.leader_election == "on"
    if args.lease_seconds is not None:
        changes["leader_lease_seconds"] = config.lease_seconds(
            args.lease_seconds, "--lease-seconds"
        )
    for flag in ("kube_timeout", "kube_connect_timeout"):
        value = changes.get(flag)
        if value is not None and not 0 < value < float("inf"):
            raise ValueError(f"--{flag.replace('_', '-')} must be a positive number of seconds")
    rate = changes.get("api_rate")
    if rate is not None and not 0 < rate < float("inf"):
        raise ValueError("--api-rate must be a positive number of requests per second")
    settings = dataclasses.replace(cfg, **changes)
    _check_metrics_port(settings.metrics_port, args.liveness)
    return settings


def _check_metrics_port(port: int, liveness: str | None) -> None:
    if not 0 <= port <= 65535:
        raise ValueError("--metrics-port must be a port number (1-65535), or 0 for none")
    try:
        taken = urllib.parse.urlsplit(liveness).port if liveness else None
    except ValueError:
        taken = None  # kopf says what is wrong with the URL
    if port and port == taken:
        raise ValueError(f"the metrics port {port} is the --liveness port: choose another")


def _serve_metrics(port: int) -> None:
    """/metrics from a daemon thread: the exit path (``_exit_now_if_threads_hang``) neither
    waits for it nor is held by it. A port that cannot be had is logged and the operator goes
    on without metrics: reconciling matters more than being scraped."""
    if not port:
        return
    try:
        metrics.serve(port)
    except OSError as exc:
        logger.error("metrics are not served: cannot listen on port %d: %s", port, exc)
        return
    logger.info("serving metrics on http://0.0.0.0:%d/metrics", port)


class _QuietWakeups(logging.Filter):
    """kopf's lines, made useful: no per-event success line for the wake-up handlers and
    ownership indexers (one per watch event each); a deletion that waits (protection, pause,
    Astra still terminating) is an expected wait, logged at INFO, not ERROR."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.endswith("succeeded.") and (
            "'wake_astra" in message or "'owners_astra" in message
        ):
            return False
        if "'finalize_astra" in message and "failed temporarily" in message:
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def _quiet_logs(verbose: bool) -> None:
    logging.getLogger("kopf.objects").addFilter(_QuietWakeups())
    if not verbose:  # one line per HTTP request is debugging detail
        logging.getLogger("httpx").setLevel(logging.WARNING)


def main(argv: list[str]) -> int:
    """Entry point for ``astra-operator run``."""
    args = _parser().parse_args(argv)
    try:
        cfg = settings_from(args)
    except ValueError as exc:
        print(f"astra-operator run: {exc}", file=sys.stderr)
        return 2
    log_format = kopf.LogFormat.JSON if cfg.log_format == "json" else kopf.LogFormat.FULL
    kopf.configure(verbose=args.verbose, log_format=log_format)
    _quiet_logs(args.verbose)
    redaction.install()  # after kopf.configure, which replaces the root handler
    memo = kopf.Memo(config=cfg)
    _serve_metrics(cfg.metrics_port)
    code = 0
    try:
        # kopf stops on SIGTERM/SIGINT (its own signal handlers), then runs cleanup
        _run(_operate(cfg, args.liveness, memo))
    except Exception:
        logger.exception("the operator stopped on an error")
        code = 1
    runtime: rt.Runtime | None = memo.get("runtime")
    if runtime is not None:
        runtime.kube.close()  # again, in case cleanup did not run; never waits
    _exit_now_if_threads_hang(code)
    return code


def _kopf(
    cfg: config.OperatorConfig, liveness: str | None, memo: kopf.Memo
) -> Coroutine[Any, Any, None]:
    # No stop_flag: kopf leaves its waiter for one pending when a signal stops it, and then
    # waits 5 s for that "hung" task.
    return kopf.operator(
        standalone=True,  # no peering: with leader election, the Lease decides who runs
        clusterwide=not cfg.namespaces,
        namespaces=cfg.namespaces,
        memo=memo,
        liveness_endpoint=liveness,
    )


async def _operate(cfg: config.OperatorConfig, liveness: str | None, memo: kopf.Memo) -> None:
    """kopf; with leader election, only once this process holds the Lease (a standby makes
    no DevOps API call and no Kubernetes write but to the Lease), released after kopf stopped
    so that a standby takes over at once."""
    if not cfg.leader_election:
        await _kopf(cfg, liveness, memo)
        return
    elector = leader.Elector.from_config(cfg, on_lost=_lost_lease)
    try:
        if not await _become_leader(elector, liveness):
            return
        try:
            await _kopf(cfg, liveness, memo)
        finally:
            await _kube_calls_ended()
            await elector.release()
    finally:
        elector.close()


async def _become_leader(elector: leader.Elector, liveness: str | None) -> bool:
    """Wait as a standby until this process holds the Lease; false when SIGTERM or SIGINT
    came first (kopf's own handlers replace these once it starts). The probes are answered
    here meanwhile, on kopf's URL: kopf serves it only once it runs."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    probe = await _standby_probe(liveness, elector) if liveness else None
    acquiring = asyncio.create_task(elector.acquire(), name="lease acquisition")
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({acquiring, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if probe is not None:
            await probe.cleanup()  # frees the port for kopf's endpoint
    if not acquiring.done():
        acquiring.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await acquiring
    else:
        acquiring.result()  # LeaseRefused (RBAC): the operator stops on it
    if stop.is_set():
        await elector.release()  # if it was acquired at the same time
        logger.info("stopped while waiting for the lease %s", elector.where)
        return False
    return True


async def _standby_probe(url: str, elector: leader.Elector) -> aiohttp.web.AppRunner:
    """GET on the --liveness URL: 200 while waiting for the Lease (a standby is alive, and
    Ready, so that a rolling update and a PodDisruptionBudget count it), 500 once the waiting
    loop has stopped checking the Lease."""

    async def health(_: aiohttp.web.Request) -> aiohttp.web.Response:
        body = {"standby": f"waiting for the lease {elector.where}", "holder": elector.holder}
        return aiohttp.web.json_response(body, status=500 if elector.check_overdue() else 200)

    parts = urllib.parse.urlsplit(url)
    app = aiohttp.web.Application()
    app.add_routes([aiohttp.web.get(parts.path or "/", health)])
    runner = aiohttp.web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    await aiohttp.web.TCPSite(runner, parts.hostname or "localhost", parts.port or 80).start()
    return runner


async def _kube_calls_ended() -> None:
    """Wait (a second at most) for the operator's own Kubernetes calls still on worker
    threads after kopf stopped (``kube.api`` names them ``kube_N``): a status write sent
    before the stop must not land after the next leader's first ones."""

    def join(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        for thread in threading.enumerate():
            if thread.name.startswith("kube_"):
                thread.join(max(deadline - time.monotonic(), 0.0))

    await asyncio.get_running_loop().run_in_executor(None, join, 1.0)


def _lost_lease(reason: str) -> None:
    """Stop acting at once (called once, from the Lease's watchdog thread or the loop): another
    replica may already reconcile, and kopf's graceful stop would let passes run on for
    seconds. The pod's container restarts and waits as a standby."""
    logger.error("%s; exiting now so that nothing is reconciled without it", reason)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


def _run(operator: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run`` without its last step, which joins the loop's default executor: a worker
    thread stuck in a socket read (a connection that silently died) would block it for as long
    as its timeout, or forever for a call that has none (a library's own)."""
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(operator)
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        asyncio.set_event_loop(None)
        loop.close()  # shuts the default executor down without waiting for its threads


def _exit_now_if_threads_hang(code: int) -> None:
    """Exit now, without Python's shutdown, when worker threads are still running.

    At exit Python joins every non-daemon thread, and every thread of a ThreadPoolExecutor
    (ours, kopf's, the loop's default one) is non-daemon: one stuck in a read on a dead
    connection keeps the process alive after the operator has stopped, past the pod's grace
    period. Their work is abandoned either way: nothing they could still do is worth waiting
    for, so flush the logs and leave."""
    main = threading.main_thread()
    deadline = time.monotonic() + 1.0  # idle workers of a shut-down pool end at once
    for thread in threading.enumerate():
        if thread is not main and not thread.daemon:
            thread.join(max(deadline - time.monotonic(), 0.0))
    stuck = [t for t in threading.enumerate() if t is not main and not t.daemon and t.is_alive()]
    if not stuck:
        return
    logger.info("exiting without waiting for %d worker thread(s) still in a call", len(stuck))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
