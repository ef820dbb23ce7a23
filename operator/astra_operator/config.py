"""Operator configuration: the only module that reads ``os.environ``.

Every setting has a default, an environment variable, and (for ``astra-operator run``) a CLI
flag that overrides the environment. The object is frozen and passed down explicitly.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

DEFAULT_API_URL = "https://api.astra.datastax.com"

DeletionPolicy = Literal["Delete", "Retain"]
LogFormat = Literal["json", "text"]


def _cache_root(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".cache")
    return Path(base) / "astra-operator"


@dataclasses.dataclass(frozen=True)
class OperatorConfig:
    """Settings for one operator process."""

    api_url: str = DEFAULT_API_URL
    namespaces: tuple[str, ...] = ()
    credentials_secret: str = "astra-credentials"
    credentials_key: str = "token"
    operator_namespace: str = "astra-operator"
    default_deletion_policy: DeletionPolicy = "Retain"
    poll_interval: float = 60.0
    busy_requeue: float = 10.0
    create_retry_grace: float = 30.0
    api_concurrency: int = 16
    api_rate: float = 10.0
    """DevOps API requests per second per credential (token), retries included; bursts of
    ``max(1, api_rate)``. Astra documents no limit: 10 is our choice. Must be positive."""
    api_timeout: float = 30.0
    kube_timeout: float = 15.0
    """Seconds to wait for each read from the Kubernetes API before the call is abandoned
    (a connection that silently went dead must not hold a worker, or a watch, forever)."""
    kube_connect_timeout: float = 5.0
    """Seconds to wait for a new connection (TCP and TLS) to the Kubernetes API."""
    log_format: LogFormat = "text"
    default_credentials_namespaces: tuple[str, ...] | None = None
    """Namespaces whose objects may use the default token Secret (no spec.credentials).
    ``None``: only ``operator_namespace``; ``("*",)``: every watched namespace; ``()``: none."""
    pass_deadline: float = 120.0
    """Seconds one reconcile pass may take before it is abandoned and retried."""
    metrics_port: int = 0
    """Port of the Prometheus endpoint (``/metrics``); 0: not served."""
    leader_election: bool = False
    """Wait to hold the Lease before reconciling anything (several replicas, one active)."""
    leader_lease_name: str = "astra-operator"
    leader_lease_namespace: str = ""
    """Empty: ``operator_namespace``."""
    leader_lease_seconds: int = 15
    """The Lease's duration; the renew deadline and retry period scale with it (10 s, 2 s)."""
    pod_name: str = ""
    """This process's identity in the Lease, before a random suffix."""

    @property
    def lease_namespace(self) -> str:
        """Where the leader election Lease lives."""
        return self.leader_lease_namespace or self.operator_namespace

    def default_credentials_serve(self, namespace: str) -> bool:
        """Whether an object in ``namespace`` may use the operator-wide default token."""
        allowed = self.default_credentials_namespaces
        if allowed is None:
            return namespace == self.operator_namespace
        return "*" in allowed or namespace in allowed

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorConfig:
        """Build a config from ``ASTRA_*`` environment variables."""
        e = os.environ if env is None else env
        policy = e.get("ASTRA_DEFAULT_DELETION_POLICY", cls.default_deletion_policy)
        if policy not in ("Delete", "Retain"):
            raise ValueError(
                f"ASTRA_DEFAULT_DELETION_POLICY must be Delete or Retain, not {policy!r}"
            )
        log_format = e.get("ASTRA_LOG_FORMAT", cls.log_format)
        if log_format not in ("json", "text"):
            raise ValueError(f"ASTRA_LOG_FORMAT must be json or text, not {log_format!r}")
        namespaces = tuple(n for n in e.get("ASTRA_NAMESPACES", "").split(",") if n.strip())
        return cls(
            api_url=e.get("ASTRA_API_URL", DEFAULT_API_URL).rstrip("/"),
            namespaces=tuple(n.strip() for n in namespaces),
            credentials_secret=e.get("ASTRA_CREDENTIALS_SECRET", cls.credentials_secret),
            credentials_key=e.get("ASTRA_CREDENTIALS_KEY", cls.credentials_key),
            operator_namespace=e.get("ASTRA_OPERATOR_NAMESPACE", cls.operator_namespace),
            default_deletion_policy=policy,  # type: ignore[arg-type]
            poll_interval=float(e.get("ASTRA_POLL_INTERVAL", cls.poll_interval)),
            busy_requeue=float(e.get("ASTRA_BUSY_REQUEUE", cls.busy_requeue)),
            create_retry_grace=float(e.get("ASTRA_CREATE_RETRY_GRACE", cls.create_retry_grace)),
            api_concurrency=int(e.get("ASTRA_API_CONCURRENCY", cls.api_concurrency)),
            api_rate=_rate(e, "ASTRA_API_RATE", cls.api_rate),
            api_timeout=float(e.get("ASTRA_API_TIMEOUT", cls.api_timeout)),
            kube_timeout=_seconds(e, "ASTRA_KUBE_TIMEOUT", cls.kube_timeout),
            kube_connect_timeout=_seconds(
                e, "ASTRA_KUBE_CONNECT_TIMEOUT", cls.kube_connect_timeout
            ),
            log_format=log_format,  # type: ignore[arg-type]
            default_credentials_namespaces=_namespace_list(
                e.get("ASTRA_DEFAULT_CREDENTIALS_NAMESPACES")
            ),
            pass_deadline=_seconds(e, "ASTRA_PASS_DEADLINE", cls.pass_deadline),
            metrics_port=_port(e, "ASTRA_METRICS_PORT", cls.metrics_port),
            leader_election=_switch(e, "ASTRA_LEADER_ELECTION", cls.leader_election),
            leader_lease_name=e.get("ASTRA_LEADER_LEASE_NAME") or cls.leader_lease_name,
            leader_lease_namespace=e.get("ASTRA_LEADER_LEASE_NAMESPACE", ""),
            leader_lease_seconds=lease_seconds(
                e.get("ASTRA_LEADER_LEASE_SECONDS"), "ASTRA_LEADER_LEASE_SECONDS"
            ),
            pod_name=e.get("POD_NAME") or e.get("HOSTNAME") or socket.gethostname(),
        )


def _namespace_list(value: str | None) -> tuple[str, ...] | None:
    """``None`` when unset; otherwise the comma-separated names (``*`` for all)."""
    if value is None:
        return None
    return tuple(n.strip() for n in value.split(",") if n.strip())


def _positive(env: Mapping[str, str], name: str, default: float, what: str) -> float:
    """A positive, finite number from ``env[name]`` (``default`` when unset); ``what`` says
    what it counts, for the error."""
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise ValueError(f"{name} must be a positive number of {what}, not {raw!r}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A positive number of seconds from ``env[name]`` (``default`` when unset)."""
    return _positive(env, name, default, "seconds")


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    """A TCP port (1-65535) from ``env[name]``, or 0 for none (``default`` when unset)."""
    raw = env.get(name)
    if raw is None:
        return default
    value = int(raw.strip()) if raw.strip().isdigit() else -1
    if not 0 <= value <= 65535:
        raise ValueError(f"{name} must be a port number (1-65535), or 0 for none, not {raw!r}")
    return value


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    """``on``/``off`` (also true/false, 1/0) from ``env[name]`` (``default`` when unset)."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value not in ("on", "off", "true", "false", "1", "0"):
        raise ValueError(f"{name} must be on or off, not {raw!r}")
    return value in ("on", "true", "1")


def lease_seconds(raw: str | int | None, name: str) -> int:
    """A Lease duration: a whole number of seconds, at least 3 (default 15)."""
    if raw is None:
        return OperatorConfig.leader_lease_seconds
    text = str(raw).strip()
    if not text.isdigit() or int(text) < 3:
        raise ValueError(f"{name} must be a whole number of seconds, at least 3, not {raw!r}")
    return int(text)


def _rate(env: Mapping[str, str], name: str, default: float) -> float:
    """A positive number of requests per second from ``env[name]`` (``default`` when unset).

    There is no "unlimited": 0, negative, infinite and non-numbers are refused.
    """
    return _positive(env, name, default, "requests per second (e.g. 10)")


@dataclasses.dataclass(frozen=True)
class ToolPaths:
    """Where the control plane finds or builds its binaries (tests and ``dev``)."""

    cache_dir: Path
    kubebuilder_assets: Path | None
    test_kubeconfig: Path | None
    runtime_dir: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ToolPaths:
        """Read XDG_CACHE_HOME, KUBEBUILDER_ASSETS, ASTRA_TEST_KUBECONFIG, XDG_RUNTIME_DIR."""
        e = os.environ if env is None else env
        assets = e.get("KUBEBUILDER_ASSETS")
        kubeconfig = e.get("ASTRA_TEST_KUBECONFIG")
        return cls(
            cache_dir=_cache_root(e),
            kubebuilder_assets=Path(assets) if assets else None,
            test_kubeconfig=Path(kubeconfig) if kubeconfig else None,
            runtime_dir=Path(e.get("XDG_RUNTIME_DIR") or f"/tmp/astra-operator-{os.getuid()}"),
        )
