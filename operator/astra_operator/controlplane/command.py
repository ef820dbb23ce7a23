"""``astra-operator controlplane up|down|env|build``: a local control plane for humans."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from astra_operator import config
from astra_operator.controlplane import binaries, plane


def _default_dir(paths: config.ToolPaths) -> Path:
    return paths.runtime_dir / "controlplane"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="astra-operator controlplane",
        description="Run a real kube-apiserver + etcd on loopback (built from Go modules once).",
    )
    sub = parser.add_subparsers(dest="action", required=True)
    for name, text in (
        ("up", "start a control plane in the background and print its kubeconfig path"),
        ("down", "stop the control plane and remove its files"),
        ("env", "print `export KUBECONFIG=...` for the running control plane"),
    ):
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument(
            "--dir",
            type=Path,
            default=None,
            help="state directory (default: $XDG_RUNTIME_DIR/astra-operator/controlplane)",
        )
    build = sub.add_parser("build", help="build (or find) kube-apiserver, etcd and helm")
    build.add_argument("tools", nargs="*", metavar="TOOL", help=", ".join(binaries.TOOLS))
    return parser


def _up(directory: Path, owns: bool) -> int:
    if (directory / plane.STATE_FILE).exists():
        running = plane.ControlPlane.load(directory)
        if running.alive():
            print(f"a control plane is already running at {running.server}", file=sys.stderr)
            print(running.kubeconfig)
            return 0
        print(f"cleaning up a stale control plane in {directory}", file=sys.stderr)
        running.stop()
    cp = plane.start(directory, detach=True)
    cp.owns_dir = owns
    cp.save()
    print(
        f"kube-apiserver {cp.server} is ready (pids {cp.pids}); logs in {cp.dir}", file=sys.stderr
    )
    print(f"try: kubectl --kubeconfig {cp.kubeconfig} get namespaces", file=sys.stderr)
    print(cp.kubeconfig)
    return 0


def _down(directory: Path) -> int:
    if not (directory / plane.STATE_FILE).exists():
        print(f"no control plane is running in {directory}", file=sys.stderr)
        return 0
    cp = plane.ControlPlane.load(directory)
    cp.stop()
    print(f"stopped the control plane in {directory}", file=sys.stderr)
    return 0


def _env(directory: Path) -> int:
    if not (directory / plane.STATE_FILE).exists():
        print(
            f"no control plane is running in {directory}; start one with "
            "`astra-operator controlplane up`",
            file=sys.stderr,
        )
        return 1
    print(f"export KUBECONFIG={plane.ControlPlane.load(directory).kubeconfig}")
    return 0


def main(argv: list[str]) -> int:
    """Entry point for ``astra-operator controlplane ...``."""
    args = _parser().parse_args(argv)
    if args.action == "build":
        return binaries.main(list(args.tools))
    paths = config.ToolPaths.from_env()
    directory: Path = args.dir.resolve() if args.dir else _default_dir(paths)
    if args.action == "up":
        return _up(directory, owns=args.dir is None)
    if args.action == "down":
        return _down(directory)
    return _env(directory)
