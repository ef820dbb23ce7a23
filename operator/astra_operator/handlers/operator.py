"""Operator-wide kopf settings and the start-up/clean-up of shared clients.

Choices, deliberately (see docs/operations.md):
- Finalizer ``astra.operator.dev/finalizer``: ours, not kopf's shared default, so removing
  another kopf operator can never strand or release our objects.
- kopf's own state lives in annotations prefixed ``astra.operator.dev`` (retry counts of the
  delete handler): status belongs to our typed, structural schema (which would prune kopf's
  fields) and is what users read. No last-handled configuration is stored
  (:class:`NoDiffBase`): there are no create/update handlers to diff for (each pass reads the
  spec), and storing it cost every object one write.
- Timeouts on all of kopf's Kubernetes traffic (see ``configure``): a connection that silently
  died (no reset, packets just stop) costs a request ``kube_timeout`` and a watch at most
  ``WATCH_INACTIVITY`` seconds, then kopf retries or re-opens it on a new connection; a stalled
  watch cannot leave the operator blind (kopf#955). Idle pooled connections are dropped after
  ``KEEPALIVE`` seconds, so a retry does not pick up one that died while idle.
- Posting: log lines never become Events (``posting.loggers`` off: a retrying handler would
  post one per retry); our own Events (one per Astra write, one per distinct failure a user
  must act on) are posted explicitly with ``kopf.event``.
- Connections to the Kubernetes API are bounded (kopf's default pool is unlimited: with 500
  objects starting at once it opened ~190 TLS connections, ~40 MiB; see benchmarks/).
- Standalone: no peering objects (kopf's peering pauses operators that see each other; it
  does not elect one). Of several replicas, the one holding the Lease runs kopf at all
  (``kube/leader.py``, started by ``handlers/command.py``): the others wait as standbys.
- Memory at scale: kopf lists each kind in pages of ``LIST_CHUNK`` objects (not all at once),
  and the worker kopf keeps per object while its events flow ends ``WORKER_IDLE`` seconds after
  the last one (kopf's default, 5 s, kept every object's last body, managedFields and all, for
  5 s after each event: during a create burst, a body per object).
- Exit: if a graceful stop still runs ``EXIT_DEADLINE`` seconds after SIGTERM, kopf kills the
  process (inside a pod's default 30 s grace period, instead of 10 minutes).
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import kopf

from astra_operator import config
from astra_operator.handlers import runtime as rt

FINALIZER = "astra.operator.dev/finalizer"
ANNOTATION_PREFIX = "astra.operator.dev"

WATCH_SERVER_TIMEOUT = 25
"""The API server ends each watch after this long (kopf resumes it from the last
resourceVersion, no re-listing); shorter than ``WATCH_INACTIVITY``, so a healthy, quiet stream
ends before it could look dead. An integer: it is sent as ``timeoutSeconds``."""
WATCH_INACTIVITY = 30.0
"""A watch that delivered nothing (not even a bookmark) for this long is abandoned and
re-opened: the longest a black-holed watch can leave the operator deaf."""
WATCH_CLIENT_TIMEOUT = 40.0
"""No watch request lives longer, whatever the server does."""
KEEPALIVE = 10.0
"""Seconds an idle pooled connection to the Kubernetes API is kept for reuse."""
LIST_CHUNK = 100
"""Objects per page of kopf's initial and re-lists."""
WORKER_IDLE = 0.5
"""Seconds kopf's per-object event worker (and the last body it holds) outlives its last event."""
EXIT_DEADLINE = 25.0
"""Seconds after SIGTERM/SIGINT after which kopf kills the process if it has not exited."""


class NoDiffBase(kopf.DiffBaseStorage):
    """A diff base that stores nothing: every object reads as already handled as it is, so
    kopf sees no create or update cause (deletion still is one) and writes no annotation."""

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return self.build(body=body)

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


def configure(settings: kopf.OperatorSettings, cfg: config.OperatorConfig) -> None:
    """Apply the operator-wide kopf settings described in the module docstring."""
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=ANNOTATION_PREFIX
    )
    settings.persistence.diffbase_storage = NoDiffBase()
    settings.networking.request_timeout = cfg.kube_timeout  # per request, whole response
    settings.networking.connect_timeout = cfg.kube_connect_timeout  # watches' too
    settings.watching.server_timeout = WATCH_SERVER_TIMEOUT
    settings.watching.inactivity_timeout = WATCH_INACTIVITY
    settings.watching.client_timeout = WATCH_CLIENT_TIMEOUT
    settings.watching.chunk_size = LIST_CHUNK
    settings.queueing.idle_timeout = WORKER_IDLE
    settings.process.ultimate_exiting_timeout = EXIT_DEADLINE
    settings.posting.loggers = False
    settings.posting.level = logging.WARNING
    settings.posting.reporting_component = "astra-operator"
    settings.networking.enforce_retry_after = True


KUBE_CONNECTIONS = 16
"""Concurrent requests to the Kubernetes API, on top of one long-lived watch per stream."""


@kopf.on.login()
async def login(memo: Any, **kwargs: Any) -> kopf.AiohttpSession | None:
    """kopf's own credentials (kubeconfig or in-cluster), with a bounded connection pool whose
    idle connections expire (kopf passes its timeouts, set in ``configure``, with each request)."""
    info = kopf.login_via_client(**kwargs)
    if info is None:
        return None
    cfg: config.OperatorConfig = memo["config"]
    watches = 2 * max(len(cfg.namespaces), 1) + 2  # resources + namespaces + CRD scanning
    connector = aiohttp.TCPConnector(
        limit=KUBE_CONNECTIONS + watches, ssl=info.as_ssl_context(), keepalive_timeout=KEEPALIVE
    )
    session = aiohttp.ClientSession(
        connector=connector,
        headers=info.as_http_headers(),
        proxy=info.proxy_url,
        trust_env=info.trust_env,
    )
    return kopf.AiohttpSession(
        server=info.server, default_namespace=info.default_namespace, aiohttp_session=session
    )


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: Any, **_: Any) -> None:
    """Configure kopf and build the one AstraClient and Kubernetes client of this process."""
    cfg: config.OperatorConfig = memo["config"]
    configure(settings, cfg)
    memo["runtime"] = rt.Runtime.build(cfg)


@kopf.on.cleanup()
async def cleanup(memo: Any, **_: Any) -> None:
    """Close the shared clients."""
    runtime: rt.Runtime | None = memo.get("runtime")
    if runtime is not None:
        await runtime.close()
