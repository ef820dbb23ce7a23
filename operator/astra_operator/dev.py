"""``astra-operator dev``: the whole thing on one machine, in one command.

With no cluster and no token given it starts a local kube-apiserver + etcd and the DevOps API
simulator; with ``--kubeconfig`` and/or ``--token`` it uses those instead. Then it installs the
CRDs, runs the operator as a process (as users run it), applies ``examples/``, shows the
objects converging and prints the ``kubectl`` line to poke at them. Ctrl-C stops everything.

What outlives ``dev`` (Astra, with a real token; the cluster, with ``--kubeconfig``) is
cleaned up on exit: ``dev`` deletes the objects it created and waits until the operator has
acted on them (with a real token the examples are applied with ``deletionPolicy: Delete`` and
``deletionProtection: false`` so that this terminates what they made). ``--keep`` leaves it
all, and lists it.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from astra_operator import devkube
from astra_operator.controlplane import plane

REPO = Path(__file__).resolve().parents[2]
DEFAULT_API_URL = "https://api.astra.datastax.com"
DELETION_POLICY = "Delete"
"""The operator's default deletionPolicy in ``dev`` (the operator's own default is Retain)."""
FAST_TIMEOUT = 180.0
"""Default ``--timeout`` with ``--timing fast`` (the examples settle in about 10 s)."""
SLOW_TIMEOUT = 1800.0
"""Default ``--timeout`` with realistic timing (the examples settled in 20.5 min when measured:
the classic one initializes for 15 min, then parks for 5) and with a real token."""
_PR_SET_PDEATHSIG = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="astra-operator dev",
        description="Run control plane (or your cluster), simulator (or Astra), the operator "
        "and the examples, and show the databases, roles and tokens becoming Ready. What "
        "outlives dev (with --token: databases, roles and tokens in Astra; with --kubeconfig: "
        "objects in your cluster) is deleted on exit unless --keep.",
    )
    add = parser.add_argument
    add(
        "--kubeconfig",
        type=Path,
        help="use this cluster instead of a local control plane (on exit dev deletes the "
        "objects it created there, unless --keep)",
    )
    add(
        "--token",
        help="an Astra token (default: $ASTRA_TOKEN; neither: the simulator). With one, dev "
        "uses the DevOps API at --api-url, says what it will create there, and on exit deletes "
        "what it created (terminates the databases, deletes the roles) and waits for that, "
        "unless --keep",
    )
    add("--api-url", help=f"DevOps API base URL, with --token (default: {DEFAULT_API_URL})")
    add(
        "--namespace",
        default="astra-dev",
        help="namespace for the operator, the token Secret and the examples (default: %(default)s)",
    )
    add("--examples", type=Path, default=REPO / "examples", help="manifests to apply")
    add(
        "--timing",
        default="fast",
        help="simulator timing: fast, realistic or a number scaling realistic (e.g. 0.1)",
    )
    add(
        "--exit-when-ready",
        action="store_true",
        help="exit 0 once every example is Ready (for scripts and tests); 1 if --timeout runs "
        "out first",
    )
    add(
        "--timeout",
        type=float,
        help=f"seconds to wait for the examples to settle (default: {FAST_TIMEOUT:.0f} with "
        f"--timing fast; {SLOW_TIMEOUT:.0f} with realistic timing or a real token; realistic's "
        "scaled by a number). When it runs out dev says what is not settled and keeps running "
        "(with --exit-when-ready: exits 1)",
    )
    add(
        "--keep",
        action="store_true",
        help="on exit, leave what dev created (databases, roles and tokens in Astra, objects in "
        "--kubeconfig's cluster) and list it; with --token the examples are then applied as "
        "written (their own deletionPolicy and deletionProtection)",
    )
    return parser


def _say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def _process(cmd: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    # Its own session: a Ctrl-C in the terminal reaches dev only, which then cleans up with
    # the operator still running, and stops it last. It dies with dev all the same.
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
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


@dataclasses.dataclass(frozen=True)
class Plan:
    """What this run of ``dev`` uses, and what it does on exit."""

    token: str | None
    """A real token (``--token`` or ``$ASTRA_TOKEN``); None: the simulator."""
    token_source: str
    """Where the token came from, to say so: ``--token`` or ``$ASTRA_TOKEN``."""
    api_url: str
    timeout: float
    keep: bool
    own_cluster: bool

    @property
    def real(self) -> bool:
        return self.token is not None

    @property
    def outlives(self) -> bool:
        """Whether anything dev makes outlives it (Astra, or a cluster it did not start)."""
        return self.real or not self.own_cluster

    @property
    def cleanup(self) -> bool:
        return self.outlives and not self.keep

    @property
    def where(self) -> str:
        return f"the DevOps API at {self.api_url}" if self.real else "the simulator"


def default_timeout(timing: str, real: bool) -> float:
    """How long the examples may take to settle by default."""
    if real or timing == "realistic":
        return SLOW_TIMEOUT
    if timing == "fast":
        return FAST_TIMEOUT
    try:
        scale = float(timing)
    except ValueError:
        return FAST_TIMEOUT  # the simulator refuses it, and says why
    return max(FAST_TIMEOUT, SLOW_TIMEOUT * scale) if math.isfinite(scale) else FAST_TIMEOUT


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
def _astra(plan: Plan, timing: str, workdir: Path) -> Iterator[tuple[str, str]]:
    if plan.token is not None:
        _say(f"using {plan.where} with the token from {plan.token_source} (not the simulator)")
        yield plan.api_url, plan.token
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
        timing,
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
        url, token = info["url"], info["adminToken"]
        _say(f"DevOps API simulator at {url} (timing: {timing})")
        _say(f"  admin API, no token needed (docs/simulator-admin-api.md): {url}/_sim/state")
        _say(f"  admin token (Organization Administrator; the operator's token): {token}")
        _say(f"  ready file (url, adminToken, pid; removed on exit): {ready}")
        _say(
            "  an out-of-band change, as in the Astra UI: "
            f'curl -X POST {url}/_sim/databases/<databaseID>/external -d \'{{"action": "park"}}\''
        )
        yield url, token


def _operator_env(kubeconfig: Path, plan: Plan, api_url: str, namespace: str) -> dict[str, str]:
    return {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "ASTRA_API_URL": api_url,
        "ASTRA_OPERATOR_NAMESPACE": namespace,
        "ASTRA_POLL_INTERVAL": "15",
        "ASTRA_BUSY_REQUEUE": "5" if plan.real else "1",
        "ASTRA_DEFAULT_DELETION_POLICY": DELETION_POLICY,
    }


class OperatorExitedError(RuntimeError):
    """The operator process ended while dev still needed it."""


def _check(operator: subprocess.Popen[bytes]) -> None:
    if operator.poll() is not None:
        raise OperatorExitedError(f"the operator exited with code {operator.returncode}")


class _Table:
    """Prints the objects' table whenever it changes."""

    def __init__(
        self,
        kube: devkube.DevKube,
        names: list[str],
        start: float,
        operator: subprocess.Popen[bytes],
    ) -> None:
        self.kube, self.names, self.start, self.last = kube, names, start, ""
        self.operator = operator

    def show(self) -> None:
        text = "\n".join(f"  {r}" for r in self.kube.table(self.names))
        if text != self.last:
            _say(f"after {time.monotonic() - self.start:.0f} s:\n" + text)
            self.last = text

    def wait(self, timeout: float) -> bool:
        """Until every object is settled (True) or ``timeout`` runs out (False)."""
        deadline = time.monotonic() + timeout
        while True:
            self.show()
            _check(self.operator)
            if self.kube.all_settled(self.names):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(1)

    def follow(self, settled: bool) -> None:
        """Forever (until Ctrl-C): the table, and each change between settled and not."""
        while True:
            time.sleep(2)
            self.show()
            _check(self.operator)
            now = self.kube.all_settled(self.names)
            if now and not settled:
                _say(f"every example is reconciled ({time.monotonic() - self.start:.0f} s)")
            elif settled and not now:
                _say("not every example is settled any more (an out-of-band change?)")
            settled = now


def _announce(plan: Plan, args: argparse.Namespace, docs: list[dict[str, Any]]) -> None:
    """What dev is about to do, said before it does it."""
    _say(
        f"namespace {args.namespace}: the operator watches it, and the token Secret "
        f"{devkube.CREDENTIALS} and the examples go there"
    )
    _say(
        f"deletion policy: objects without spec.deletionPolicy default to {DELETION_POLICY} "
        f"here (ASTRA_DEFAULT_DELETION_POLICY={DELETION_POLICY}; the operator's own default "
        "is Retain)"
    )
    if plan.real:
        _say(f"with the token from {plan.token_source}, dev creates, in {plan.where}:")
        for doc in docs:
            _say(f"  {devkube.describe(doc)} [{devkube.policy(doc, DELETION_POLICY)}]")
    if plan.real and not plan.keep:
        _say(
            "the examples are applied with deletionPolicy: Delete and deletionProtection: false "
            "(some say otherwise), so that deleting them deletes what they made"
        )
    if plan.cleanup:
        target = (
            "has terminated their databases and deleted their roles in Astra"
            if plan.real
            else "has released them"
        )
        _say(
            "on exit (Ctrl-C too) dev deletes the objects it creates and waits until the "
            f"operator {target}; --keep leaves them. Objects that already exist are left alone."
        )
    elif plan.keep and plan.outlives:
        _say("--keep: on exit dev leaves what it created, and lists it")
    else:
        why = " (--keep changes nothing here)" if plan.keep else ""
        _say(
            "on exit the local control plane and the simulator stop: nothing dev makes "
            f"outlives it{why}"
        )


def _show(
    kube: devkube.DevKube,
    names: list[str],
    args: argparse.Namespace,
    plan: Plan,
    kubeconfig: Path,
    operator: subprocess.Popen[bytes],
) -> int:
    table = _Table(kube, names, time.monotonic(), operator)
    settled = table.wait(plan.timeout)
    _say(f"try: kubectl --kubeconfig {kubeconfig} -n {args.namespace} get astra -o wide")
    if settled:
        _say(
            f"every example is reconciled ({time.monotonic() - table.start:.0f} s)."
            + ("" if args.exit_when_ready else " Ctrl-C stops everything.")
        )
        if not args.exit_when_ready:
            table.follow(settled=True)
        return 0
    _say(f"not every example settled within {plan.timeout:.0f} s:")
    for line in kube.unsettled(names):
        _say(f"  {line}")
    longer = f"--timeout {max(2 * plan.timeout, SLOW_TIMEOUT):.0f}"
    if args.exit_when_ready:
        keep = "; --keep leaves what dev created" if plan.cleanup else ""
        _say(
            f"exiting (--exit-when-ready). To wait longer, rerun with {longer}, or without "
            f"--exit-when-ready to keep everything running until Ctrl-C{keep}"
        )
        return 1
    _say(
        "everything keeps running: the operator goes on reconciling and the table updates. "
        f"Ctrl-C stops everything (next time, {longer} waits longer)."
    )
    table.follow(settled=False)
    return 0


def _is_database(name: str) -> bool:
    return name.startswith(f"{devkube.DATABASE_SHORT_NAME}/")


def _astra_state(url: str, token: str, name: str, astra_id: str) -> str:
    """What the DevOps API says about what an object made, in a few words."""
    database = _is_database(name)
    path = f"/v2/databases/{astra_id}" if database else f"/v2/organizations/roles/{astra_id}"
    noun = "database" if database else "role"
    try:
        reply = httpx.get(f"{url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    except httpx.HTTPError as exc:
        return f"Astra {noun} {astra_id}: not checked ({type(exc).__name__})"
    if reply.status_code == 404:
        return f"Astra {noun} {astra_id}: gone"
    if reply.is_success and database:
        return f"Astra {noun} {astra_id}: {reply.json().get('status', '?')}"
    if reply.is_success:
        return f"Astra {noun} {astra_id}: exists"
    return f"Astra {noun} {astra_id}: not checked (HTTP {reply.status_code})"


def _left(
    kube: devkube.DevKube,
    names: list[str],
    ids: dict[str, str],
    plan: Plan,
    url: str,
    token: str,
    kubeconfig: Path,
) -> None:
    """List what dev leaves behind, and how to remove it."""
    if not names:
        return
    _say("left behind:")
    for name in names:
        made = _astra_state(url, token, name, ids[name]) if name in ids else "no Astra ID"
        _say(f"  {name} in namespace {kube.namespace}: {made}")
    if plan.real:
        _say(f"they keep running in Astra until you remove them ({plan.where}):")
        for name, astra_id in ids.items():
            if name not in names:
                continue
            if _is_database(name):
                path, method = f"/v2/databases/{astra_id}/terminate", "POST"
            else:
                path, method = f"/v2/organizations/roles/{astra_id}", "DELETE"
            _say(f'  curl -X {method} -H "Authorization: Bearer $ASTRA_TOKEN" {plan.api_url}{path}')
    if plan.own_cluster:
        _say("the local control plane stops with dev: nothing manages them any more")
    elif not plan.real:
        _say(
            f"the objects stay in {kubeconfig}, but the simulator (and what they made in it) "
            "stops with dev: to delete them, remove their finalizer (kubectl patch "
            """--type=merge -p '{"metadata":{"finalizers":null}}') and kubectl delete them"""
        )
    else:
        _say(
            f"the objects stay in {kubeconfig} with the operator's finalizer: to delete them, "
            f"run the operator again (astra-operator run -n {kube.namespace}) and kubectl delete "
            "them"
        )


def _delete_and_wait(
    kube: devkube.DevKube, names: list[str], timeout: float, operator: subprocess.Popen[bytes]
) -> list[str]:
    """Delete the objects and wait until they are gone; returns those still there (at the
    deadline, at a Ctrl-C, or when the operator is no longer there to act on them)."""
    deadline = time.monotonic() + timeout
    try:
        kube.delete(names)
        left, shown = kube.remaining(names), ""
        while left and time.monotonic() < deadline:
            if operator.poll() is not None:
                _say(f"the operator exited (code {operator.returncode}): nothing deletes them")
                break
            text = ", ".join(left)
            if text != shown:
                _say(f"waiting for the operator to delete: {text}")
                shown = text
            time.sleep(1)
            left = kube.remaining(names)
    except KeyboardInterrupt:
        _say("interrupted: no longer waiting for the deletes")
        left = kube.remaining(names)
    return left


def _finish(
    kube: devkube.DevKube,
    created: list[str],
    plan: Plan,
    url: str,
    token: str,
    kubeconfig: Path,
    operator: subprocess.Popen[bytes],
) -> bool:
    """On exit: delete what dev created and wait (or, with --keep, list it)."""
    ids = kube.astra_ids(created)
    if not plan.cleanup:
        if plan.outlives:
            _left(kube, kube.remaining(created), ids, plan, url, token, kubeconfig)
        return True
    if not created:
        return True
    _say(f"deleting what dev created: {', '.join(created)}")
    left = _delete_and_wait(kube, created, max(plan.timeout, 300), operator)
    if left:
        _say(f"not deleted: {', '.join(left)}")
        for line in kube.unsettled(left):
            _say(f"  {line}")
        _left(kube, left, ids, plan, url, token, kubeconfig)
        return False
    _say("deleted every object dev created" + (":" if plan.real else ""))
    if plan.real:
        for name, astra_id in ids.items():
            _say(f"  {name}: {_astra_state(url, token, name, astra_id)}")
    return True


def run(args: argparse.Namespace, plan: Plan, workdir: Path) -> int:
    """Bring everything up, apply the examples, wait; then Ctrl-C (or exit) tears it down."""
    docs = devkube.read_examples(args.examples)
    if plan.real and not plan.keep:
        docs = [devkube.deletable(doc) for doc in docs]
    _announce(plan, args, docs)
    with (
        _cluster(args.kubeconfig) as kubeconfig,
        _astra(plan, args.timing, workdir) as (url, token),
    ):
        kube = devkube.DevKube(kubeconfig, args.namespace)
        kube.install_crds(REPO / "crds")
        kube.prepare_namespace(token)
        env = _operator_env(kubeconfig, plan, url, args.namespace)
        cmd = [sys.executable, "-m", "astra_operator.cli", "run", "-n", args.namespace]
        created: list[str] = []
        code = 0
        with _process(cmd, workdir / "operator.log", env) as operator:
            _say(f"operator running (log, removed on exit: {workdir}/operator.log)")
            try:
                names = kube.apply(docs, created)
                existing = [n for n in names if n not in created]
                if existing:
                    _say(f"already there, left as they are: {', '.join(existing)}")
                code = _show(kube, names, args, plan, kubeconfig, operator)
            except KeyboardInterrupt:
                _say("stopping")
            except OperatorExitedError as exc:
                log = (workdir / "operator.log").read_text(errors="replace").splitlines()
                _say(f"{exc}; the end of its log (removed on exit):")
                for line in log[-20:]:
                    print(f"  {line}", flush=True)
                code = 1
            finally:
                if not _finish(kube, created, plan, url, token, kubeconfig, operator):
                    code = 1
    return code


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    """Entry point for ``astra-operator dev``."""
    parser = _parser()
    args = parser.parse_args(argv)
    token = args.token or os.environ.get("ASTRA_TOKEN") or None
    if args.api_url and not token:
        parser.error(
            "--api-url needs --token (or $ASTRA_TOKEN): without one dev runs the simulator"
        )
    if token and args.timing != "fast":
        parser.error("--timing is the simulator's: with a token dev uses the DevOps API")
    if args.timeout is not None and not 0 < args.timeout < math.inf:
        parser.error("--timeout must be a positive number of seconds")
    plan = Plan(
        token=token,
        token_source="--token" if args.token else "$ASTRA_TOKEN",
        api_url=(args.api_url or DEFAULT_API_URL).rstrip("/"),
        timeout=args.timeout or default_timeout(args.timing, real=token is not None),
        keep=args.keep,
        own_cluster=args.kubeconfig is None,
    )
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with tempfile.TemporaryDirectory(prefix="astra-dev-") as tmp:
            return run(args, plan, Path(tmp))
    except KeyboardInterrupt:
        _say("stopped")
        return 0
