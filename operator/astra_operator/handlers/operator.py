"""Operator-wide kopf settings and the start-up/clean-up of shared clients.

Choices, deliberately (see docs/operations.md):
- Finalizer ``astra.operator.dev/finalizer``: ours, not kopf's shared default, so removing
  another kopf operator can never strand or release our objects.
- kopf's own state lives in annotations prefixed ``astra.operator.dev`` (retry counts of the
  delete handler, the last-handled configuration): status belongs to our typed, structural
  schema (which would prune kopf's fields) and is what users read.
- Watches: the server closes each watch after 5 minutes and kopf declares a silent stream dead
  after 2 minutes (bookmarks keep healthy streams talking), so a stalled watch cannot leave the
  operator blind (kopf#955).
- Posting: log lines never become Events (``posting.loggers`` off: a retrying handler would
  post one per retry); our own Events (one per Astra write, one per distinct failure a user
  must act on) are posted explicitly with ``kopf.event``.
- Connections to the Kubernetes API are bounded (kopf's default pool is unlimited: with 500
  objects starting at once it opened ~190 TLS connections, ~40 MiB; see benchmarks/).
- Standalone: one replica (the chart uses ``strategy: Recreate``); no peering objects needed.
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


def configure(settings: kopf.OperatorSettings) -> None:
    """Apply the operator-wide kopf settings described in the module docstring."""
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=ANNOTATION_PREFIX
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    settings.watching.server_timeout = 300
    settings.watching.inactivity_timeout = 120
    settings.posting.loggers = False
    settings.posting.level = logging.WARNING
    settings.posting.reporting_component = "astra-operator"
    settings.networking.enforce_retry_after = True


KUBE_CONNECTIONS = 16
"""Concurrent requests to the Kubernetes API, on top of one long-lived watch per stream."""


@kopf.on.login()
async def login(memo: Any, **kwargs: Any) -> kopf.AiohttpSession | None:
    """kopf's own credentials (kubeconfig or in-cluster), with a bounded connection pool."""
    info = kopf.login_via_client(**kwargs)
    if info is None:
        return None
    cfg: config.OperatorConfig = memo["config"]
    watches = 2 * max(len(cfg.namespaces), 1) + 2  # resources + namespaces + CRD scanning
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=KUBE_CONNECTIONS + watches, ssl=info.as_ssl_context()),
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
    configure(settings)
    cfg: config.OperatorConfig = memo["config"]
    memo["runtime"] = rt.Runtime.build(cfg)


@kopf.on.cleanup()
async def cleanup(memo: Any, **_: Any) -> None:
    """Close the shared clients."""
    runtime: rt.Runtime | None = memo.get("runtime")
    if runtime is not None:
        await runtime.close()
