"""``astra-operator``: the command line; each subcommand lives in its own module, this routes."""

from __future__ import annotations

import argparse
import importlib
import sys

from astra_operator import __version__

# subcommand -> (module with ``main(argv) -> int``, one-line help)
_COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("astra_operator.handlers.command", "run the operator against the current kubeconfig"),
    "dev": ("astra_operator.dev", "local demo: control plane + simulator + operator + examples"),
    "simulate": ("astra_operator.simulator.command", "serve a DevOps API v2 simulator"),
    "crds": (
        "astra_operator.resources.crdgen",
        "generate the CRDs, the deletion guard and docs/resources.md (or --check)",
    ),
    "controlplane": (
        "astra_operator.controlplane.command",
        "run a local kube-apiserver + etcd (up | down | env | build)",
    ),
    "export": (
        "astra_operator.onboard.command",
        "print manifests that adopt the databases and roles an organization already has",
    ),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="astra-operator",
        description="Manage DataStax Astra DB databases declaratively from Kubernetes.",
    )
    parser.add_argument("--version", action="version", version=f"astra-operator {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, text) in _COMMANDS.items():
        sub.add_parser(name, help=text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the subcommand and hand the rest of the arguments to its module."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in _COMMANDS:
        _parser().parse_args(args)  # prints help or a clear error, exits 2
        return 2
    module_name, _ = _COMMANDS[args[0]]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        print(f"astra-operator {args[0]}: not yet available in this version", file=sys.stderr)
        return 2
    result: int = module.main(args[1:])
    return result


if __name__ == "__main__":
    sys.exit(main())
