"""``astra-operator dev``: the whole thing on one machine, in one command.

With no cluster and no token given it starts a local kube-apiserver + etcd and the DevOps API
simulator; with ``--kubeconfig`` and/or ``--token`` it uses those instead. Then it installs the
CRDs, runs the operator as a process (as users run it), applies ``examples/``, shows the
databases converging and prints the ``kubectl`` line to poke at them. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from astra_operator import devkube
from astra_operator.controlplane import plane

REPO = Path(__file__).resolve().parents[2]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="astra-operator dev",
        description="Run control plane (or your cluster), simulator (or Astra), the operator "
        "and the examples, and show the databases and roles becoming Ready.",
    )
    add = parser.add_argument
    add("--kubeconfig", type=Path, help="use this cluster instead of a local control plane")
    add("--token", help="a real Astra token (default: $ASTRA_TOKEN; none = simulator)")
    add("--api-url", default="https://api.astra.datastax.com", help="with --token")
    add("--namespace", default="astra-dev", help="namespace for the operator and examples")
    add("--examples", type=Path, default=REPO / "examples", help="manifests to apply")
    add("--timing", default="fast", help="simulator timing: fast, realistic or a scale")
    add(
        "--exit-when-ready",
        action="store_true",
        help="exit 0 once every example is Ready (for scripts and tests)",
    )
    add("--timeout", type=float, default=180, help="seconds to wait for the examples")
    return parser


def _say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


@contextlib.contextmanager
def _process(cmd: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def _cluster(kubeconfig: Path | None) -> Iterator[Path]:
    if kubeconfig is not None:
        _say(f"using the cluster in {kubeconfig}")
        yield kubeconfig
        return
    _say("starting a local kube-apiserver + etcd (the first run builds them: minutes)")
    cp = plane.start()
    try:
        _say(f"control plane ready at {cp.server}")
        yield cp.kubeconfig
    finally:
        cp.stop()
        _say("control plane stopped")


@contextlib.contextmanager
def _astra(args: argparse.Namespace, workdir: Path) -> Iterator[tuple[str, str]]:
    token = args.token or os.environ.get("ASTRA_TOKEN")
    if token:
        _say(f"using the real DevOps API at {args.api_url}")
        yield args.api_url, token
        return
    ready = workdir / "simulator.json"
    cmd = [
        sys.executable,
        "-m",
        "astra_operator.cli",
        "simulate",
        "--port",
        "0",
        "--quiet",
        "--timing",
        args.timing,
        "--ready-file",
        str(ready),
    ]
    with _process(cmd, workdir / "simulator.log", dict(os.environ)) as proc:
        deadline = time.monotonic() + 30
        while not (ready.exists() and ready.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the simulator did not start; see {workdir}/simulator.log")
            time.sleep(0.1)
        info = json.loads(ready.read_text())
        _say(f"DevOps API simulator at {info['url']} (timing: {args.timing})")
        yield info["url"], info["adminToken"]


def _operator_env(kubeconfig: Path, api_url: str, namespace: str) -> dict[str, str]:
    return {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "ASTRA_API_URL": api_url,
        "ASTRA_OPERATOR_NAMESPACE": namespace,
        "ASTRA_POLL_INTERVAL": "15",
        "ASTRA_BUSY_REQUEUE": "1",
        "ASTRA_DEFAULT_DELETION_POLICY": "Delete",
    }


def _watch(kube: devkube.DevKube, names: list[str], timeout: float) -> bool:
    deadline, last = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        rows = kube.table(names)
        text = "\n".join(f"  {r}" for r in rows)
        if text != last:
            _say("databases:\n" + text)
            last = text
        if kube.all_settled(names):
            return True
        time.sleep(1)
    return False


def run(args: argparse.Namespace, workdir: Path) -> int:
    """Bring everything up, apply the examples, wait; then Ctrl-C (or exit) tears it down."""
    with _cluster(args.kubeconfig) as kubeconfig, _astra(args, workdir) as (url, token):
        kube = devkube.DevKube(kubeconfig)
        kube.install_crds(REPO / "crds")
        kube.prepare_namespace(args.namespace, token)
        env = _operator_env(kubeconfig, url, args.namespace)
        cmd = [sys.executable, "-m", "astra_operator.cli", "run", "-n", args.namespace]
        with _process(cmd, workdir / "operator.log", env):
            _say(f"operator running (log: {workdir}/operator.log)")
            names = kube.apply_examples(args.examples, args.namespace)
            settled = _watch(kube, names, args.timeout)
            _say(f"try: kubectl --kubeconfig {kubeconfig} -n {args.namespace} get astra -o wide")
            if not settled:
                _say(f"not every example settled within {args.timeout:.0f} s")
                return 1
            _say(
                "every example is reconciled."
                + ("" if args.exit_when_ready else " Ctrl-C stops everything.")
            )
            while not args.exit_when_ready:
                time.sleep(3600)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    """Entry point for ``astra-operator dev``."""
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with tempfile.TemporaryDirectory(prefix="astra-dev-") as tmp:
            return run(args, Path(tmp))
    except KeyboardInterrupt:
        _say("stopped")
        return 0
