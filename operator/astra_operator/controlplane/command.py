"""``astra-operator controlplane up|down|env|build``: a local control plane for humans.

Without ``--dir`` a plane lives in ``$XDG_RUNTIME_DIR/astra-operator/controlplane`` (or
``/tmp/astra-operator-<uid>/controlplane`` when ``XDG_RUNTIME_DIR`` is unset). ``up`` records
the directory of the plane it started (``--dir`` or not) in the file ``current`` next to that
default, so ``env`` and ``down`` without ``--dir`` find the plane ``up`` started last.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from astra_operator.controlplane import binaries, plane


def base_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where ``controlplane`` keeps its state: ``$XDG_RUNTIME_DIR/astra-operator``, or
    ``/tmp/astra-operator-<uid>`` without ``XDG_RUNTIME_DIR``."""
    e = os.environ if env is None else env
    runtime = e.get("XDG_RUNTIME_DIR")
    return (
        Path(runtime) / "astra-operator" if runtime else Path(f"/tmp/astra-operator-{os.getuid()}")
    )


def default_dir(env: Mapping[str, str] | None = None) -> Path:
    """The state directory of a plane started without ``--dir``."""
    return base_dir(env) / "controlplane"


def _pointer() -> Path:
    return base_dir() / "current"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="astra-operator controlplane",
        description="Run a real kube-apiserver + etcd on loopback (built from Go modules once).",
    )
    sub = parser.add_subparsers(dest="action", required=True)
    default = default_dir()
    where = (
        "$XDG_RUNTIME_DIR/astra-operator/controlplane, or /tmp/astra-operator-UID/controlplane "
        "when XDG_RUNTIME_DIR is unset"
    )
    for name, text, dir_help in (
        (
            "up",
            "start a control plane in the background and print its kubeconfig path",
            f"state directory (default: {default}, i.e. {where})",
        ),
        (
            "down",
            "stop the control plane and remove its files",
            f"state directory (default: that of the plane `up` started last, else {default})",
        ),
        (
            "env",
            "print `export KUBECONFIG=...` for the running control plane",
            f"state directory (default: that of the plane `up` started last, else {default})",
        ),
    ):
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument("--dir", type=Path, default=None, help=dir_help.replace("%", "%%"))
    build = sub.add_parser("build", help="build (or find) kube-apiserver, etcd and helm")
    build.add_argument("tools", nargs="*", metavar="TOOL", help=", ".join(binaries.TOOLS))
    return parser


def _remember(directory: Path) -> None:
    pointer = _pointer()
    pointer.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pointer.write_text(f"{directory}\n")


def _forget(directory: Path) -> None:
    if _remembered() == directory:
        with contextlib.suppress(OSError):
            _pointer().unlink()


def _remembered() -> Path | None:
    try:
        text = _pointer().read_text().strip()
    except OSError:
        return None
    return Path(text) if text else None


def _find() -> Path:
    """The plane ``up`` started last, if it still has state; else the default directory."""
    last = _remembered()
    if last is not None and (last / plane.STATE_FILE).exists():
        return last
    return default_dir()


def _up(directory: Path, owns: bool) -> int:
    if (directory / plane.STATE_FILE).exists():
        running = plane.ControlPlane.load(directory)
        if running.alive():
            print(f"a control plane is already running at {running.server}", file=sys.stderr)
            _remember(directory)
            print(running.kubeconfig)
            return 0
        print(f"cleaning up a stale control plane in {directory}", file=sys.stderr)
        running.stop()
    cp = plane.start(directory, detach=True)
    cp.owns_dir = owns
    cp.save()
    _remember(cp.dir)
    print(
        f"kube-apiserver {cp.server} is ready (pids {cp.pids}); logs in {cp.dir}", file=sys.stderr
    )
    print(f"try: kubectl --kubeconfig {cp.kubeconfig} get namespaces", file=sys.stderr)
    print(cp.kubeconfig)
    return 0


def _down(directory: Path) -> int:
    if not (directory / plane.STATE_FILE).exists():
        print(f"no control plane is running in {directory}", file=sys.stderr)
        _forget(directory)
        return 0
    cp = plane.ControlPlane.load(directory)
    cp.stop()
    _forget(directory)
    print(f"stopped the control plane in {directory} and removed its files", file=sys.stderr)
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
    if args.action == "up":
        directory: Path = args.dir.resolve() if args.dir else default_dir()
        return _up(directory, owns=args.dir is None)
    directory = args.dir.resolve() if args.dir else _find()
    if args.action == "down":
        return _down(directory)
    return _env(directory)
