"""``astra-operator run``: the operator against the current kubeconfig (or in-cluster)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys

import kopf

from astra_operator import config

# Importing registers the handlers with kopf's default registry.
from astra_operator.handlers import database as _database  # noqa: F401
from astra_operator.handlers import operator as _operator  # noqa: F401


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
        help="watch only this namespace (repeatable; globs allowed); default: all namespaces",
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
    add("--poll-interval", type=float, help="seconds between checks of a steady database")
    add("--busy-requeue", type=float, help="seconds between checks while Astra is busy")
    add("--log-format", choices=["json", "text"], help="log format (ASTRA_LOG_FORMAT)")
    add(
        "--liveness", metavar="URL", help="serve a liveness probe, e.g. http://0.0.0.0:8080/healthz"
    )
    add("-v", "--verbose", action="store_true", help="debug logging")
    return parser


_OVERRIDES = {
    "api_url": "api_url",
    "credentials_secret": "credentials_secret",
    "credentials_key": "credentials_key",
    "operator_namespace": "operator_namespace",
    "default_deletion_policy": "default_deletion_policy",
    "poll_interval": "poll_interval",
    "busy_requeue": "busy_requeue",
    "log_format": "log_format",
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
    return dataclasses.replace(cfg, **changes)


class _QuietWakeups(logging.Filter):
    """Drop kopf's per-event success line for the wake-up handler (one per watch event)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "'wake_on_change'" not in record.getMessage()


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
    asyncio.run(
        kopf.operator(
            standalone=True,
            clusterwide=not cfg.namespaces,
            namespaces=cfg.namespaces,
            memo=kopf.Memo(config=cfg),
            liveness_endpoint=args.liveness,
        )
    )
    return 0
