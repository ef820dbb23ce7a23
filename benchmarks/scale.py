"""Scale benchmark: N AstraDatabase objects to Ready through a real ``astra-operator run``.

Starts a local control plane (unless ``--kubeconfig``), installs the CRDs, runs the simulator
(``--timing fast``) and the operator as processes, the way users run them, creates N serverless
AstraDatabase objects at once and prints: seconds until all are Ready, DevOps API requests by
endpoint, Kubernetes API writes (and GETs) per object, the operator's peak RSS and CPU seconds.
Then it deletes everything and stops every process (also on Ctrl-C, SIGTERM or failure).
See benchmarks/README.md for what the figures mean.

    .venv/bin/python benchmarks/scale.py [--count 500] [--kubeconfig PATH] [--timeout 300]
        [--busy-requeue 10] [--profile OUT.prof]

Exit status 1 when not all objects got Ready or the creates were not exactly N. For N=500 the
first bar (all Ready within 90 s, operator RSS under 150 MiB) is printed as PASS/FAIL lines.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn, cast

import httpx
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from astra_operator.controlplane import plane as cp
from astra_operator.resources import database as db

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).with_name("astra-operator")
BAR_COUNT, BAR_SECONDS, BAR_MIB = 500, 90.0, 150.0
WRITES = {"POST", "PUT", "PATCH", "DELETE", "APPLY"}
Key = tuple[str, str, str]  # (resource, subresource, verb)
# What to count in apiserver_request_total: (label, resource, verbs). Our own calls are LISTs.
ROWS = [
    ("writes", "astradatabases", WRITES),
    ("writes", "events", WRITES),
    ("GETs", "astradatabases", {"GET"}),
    ("GETs", "secrets", {"GET"}),
]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _on_sigterm(signum: int, frame: object) -> NoReturn:
    raise SystemExit(128 + signum)  # unwinds the ExitStack like Ctrl-C does


def spawn(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A child in its own session (a Ctrl-C in the terminal reaches only us, and we stop the
    children in order) that dies with us even if we are killed with -9."""
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )


def stop(proc: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            print(f"pid {proc.pid} ignored SIGINT for {grace:.0f} s: killing it")
            proc.kill()
            proc.wait()


def proc_stats(pid: int) -> tuple[float, float, float]:
    """(peak RSS from VmHWM, current RSS, both in MiB; CPU seconds utime+stime) of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    mem = {k: int(v) / 1024 for k, v in re.findall(r"^(VmHWM|VmRSS):\s+(\d+) kB", status, re.M)}
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # fields 14 and 15; fields[0] is field 3
    return mem.get("VmHWM", 0.0), mem.get("VmRSS", 0.0), ticks / os.sysconf("SC_CLK_TCK")


def kubectl(kubeconfig: Path, *args: str) -> str:
    argv = ["kubectl", "--kubeconfig", str(kubeconfig), *args]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def request_counts(kubeconfig: Path) -> Counter[Key]:
    """The ``apiserver_request_total`` series that ROWS name, summed over codes etc., by key."""
    counts: Counter[Key] = Counter()
    for line in kubectl(kubeconfig, "get", "--raw", "/metrics").splitlines():
        if line.startswith("apiserver_request_total{"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
            key = (labels.get("resource", ""), labels.get("subresource", ""), labels["verb"])
            if any(key[0] == resource and key[2] in verbs for _, resource, verbs in ROWS):
                counts[key] += int(float(line.rsplit(" ", 1)[1]))
    return counts


def api_client(kubeconfig: Path) -> k8s.ApiClient:
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(kubeconfig), client_configuration=configuration
    )
    configuration.connection_pool_maxsize = 16
    return k8s.ApiClient(configuration)


def manifest(name: str) -> dict[str, Any]:
    spec = {"cloudProvider": "GCP", "region": "us-east1", "tier": "serverless"}
    return {"apiVersion": db.API_VERSION, "kind": db.KIND, "metadata": {"name": name}, "spec": spec}


def ready(item: dict[str, Any]) -> bool:
    conditions = (item.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def spread(times: dict[str, float], n: int) -> str:
    """'all after X s (p50, p90)' for per-object seconds since the first apply."""
    values = sorted(times.values())
    if not values:
        return "none"
    p50, p90 = (values[min(len(values) - 1, int(p * n))] for p in (0.5, 0.9))
    head = f"all after {values[-1]:.1f} s" if len(values) == n else f"only {len(values)}"
    return f"{head} (p50 {p50:.1f} s, p90 {p90:.1f} s)"


class Bench:
    """One run; everything it starts is registered on ``stack`` and undone in reverse order."""

    api: k8s.ApiClient
    custom: k8s.CustomObjectsApi

    def __init__(self, args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
        self.args, self.stack, self.n = args, stack, args.count
        self.tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="astra-bench-")))
        self.log = Path(tempfile.mkstemp(prefix="astra-bench-operator-", suffix=".log")[1])
        self.namespace = f"bench-{secrets.token_hex(3)}"
        self.where = (db.GROUP, db.VERSION, self.namespace, db.PLURAL)
        self.pids: dict[str, int] = {}
        self.deleted = False

    def cluster(self) -> Path:
        if self.args.kubeconfig:
            return Path(self.args.kubeconfig)
        print("starting a local control plane ...", flush=True)
        plane = cp.start()
        self.stack.callback(plane.stop)
        self.pids.update(plane.pids)
        return plane.kubeconfig

    def setup(self, kubeconfig: Path, token: str) -> None:
        kubectl(kubeconfig, "apply", "--server-side", "-f", str(ROOT / "crds"))
        crd = f"crd/{db.PLURAL}.{db.GROUP}"
        kubectl(kubeconfig, "wait", "--for=condition=Established", "--timeout=60s", crd)
        core = k8s.CoreV1Api(self.api)
        core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=self.namespace)))
        meta = k8s.V1ObjectMeta(name="astra-credentials")
        core.create_namespaced_secret(
            self.namespace, k8s.V1Secret(metadata=meta, string_data={"token": token})
        )

    def simulator(self) -> dict[str, str]:
        ready_file = self.tmp / "sim.json"
        argv = [str(CLI), "simulate", "--port", "0", "--timing", "fast", "--quiet"]
        proc = spawn([*argv, "--ready-file", str(ready_file)], self.tmp / "simulator.log")
        self.stack.callback(stop, proc)
        deadline = time.monotonic() + 30
        while not ready_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the simulator did not start")
            time.sleep(0.05)
        self.pids["simulator"] = proc.pid
        info: dict[str, str] = json.loads(ready_file.read_text())
        return info

    def operator(self, kubeconfig: Path, url: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "KUBECONFIG": str(kubeconfig), "ASTRA_API_URL": url}
        env |= {"ASTRA_OPERATOR_NAMESPACE": self.namespace}
        env |= {"ASTRA_BUSY_REQUEUE": str(self.args.busy_requeue)}
        argv = [str(CLI), "run", "-n", self.namespace]
        if self.args.profile:  # cProfile sees only the event-loop thread
            prof = ["-m", "cProfile", "-o", str(Path(self.args.profile).resolve())]
            argv = [sys.executable, *prof, "-m", "astra_operator.cli", *argv[1:]]
        proc = spawn(argv, self.log, env)
        self.stack.callback(stop, proc)
        self.stack.callback(self.tidy)  # runs first: objects go while the operator still runs
        return proc

    def apply_all(self) -> float:
        started = time.monotonic()
        create = self.custom.create_namespaced_custom_object
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda i: create(*self.where, manifest(f"db-{i:04d}")), range(self.n)))
        return started

    def list_items(self) -> list[dict[str, Any]]:
        found = cast(dict[str, Any], self.custom.list_namespaced_custom_object(*self.where))
        return cast(list[dict[str, Any]], found["items"])

    def wait_ready(
        self, started: float, operator: subprocess.Popen[bytes]
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Seconds from ``started`` until each object was first seen with a database ID, and
        with Ready=True: one list call per second."""
        created: dict[str, float] = {}
        seen: dict[str, float] = {}
        while len(seen) < self.n and time.monotonic() - started < self.args.timeout:
            if operator.poll() is not None:
                raise RuntimeError(f"the operator exited with {operator.returncode}: {self.log}")
            tick = time.monotonic()
            for item in self.list_items():
                name = item["metadata"]["name"]
                if (item.get("status") or {}).get("databaseID"):
                    created.setdefault(name, tick - started)
                if ready(item):
                    seen.setdefault(name, tick - started)
            if len(seen) < self.n:
                time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        return created, seen

    def delete_all(self) -> str:
        started = time.monotonic()
        self.custom.delete_collection_namespaced_custom_object(*self.where)
        while (left := len(self.list_items())) and time.monotonic() - started < self.args.timeout:
            time.sleep(1)
        self.deleted = not left
        took = f"after {time.monotonic() - started:.1f} s"
        return f"all {self.n} objects gone {took}" if not left else f"{left} objects left {took}"

    def tidy(self) -> None:
        """On someone else's cluster: remove our objects (on failure too) and the namespace.
        A local plane is thrown away whole."""
        if not self.args.kubeconfig:
            return
        with contextlib.suppress(k8s.ApiException):
            if not self.deleted:
                self.delete_all()
            k8s.CoreV1Api(self.api).delete_namespace(self.namespace)
        if not self.deleted:
            print(f"WARNING: AstraDatabase objects may remain in namespace {self.namespace}")

    def run(self) -> int:
        kubeconfig = self.cluster()
        self.api = api_client(kubeconfig)
        self.custom = k8s.CustomObjectsApi(self.api)
        self.stack.callback(self.api.close)
        sim = self.simulator()
        self.setup(kubeconfig, sim["adminToken"])
        operator = self.operator(kubeconfig, sim["url"])
        time.sleep(3)  # let kopf start its watch, so the figures measure reconciling
        before = request_counts(kubeconfig)
        print(f"operator pid {operator.pid}, log {self.log}; busy requeue {self.args.busy_requeue}")
        started = self.apply_all()
        print(f"applied {self.n} AstraDatabase objects in {time.monotonic() - started:.1f} s")
        created, seen = self.wait_ready(started, operator)
        rss, rss_now, cpu = proc_stats(operator.pid)
        kube = request_counts(kubeconfig) - before
        requests = httpx.get(f"{sim['url']}/_sim/requests", timeout=30).json()
        print(f"\n== {self.n} AstraDatabase objects, {len(seen)} Ready ==")
        print(f"database ID recorded   {spread(created, self.n)}")
        print(f"Ready=True             {spread(seen, self.n)}")
        print(
            f"DevOps API requests    {requests['total']} ({requests['total'] / self.n:.2f}/object)"
        )
        for endpoint, count in sorted(requests["counts"].items(), key=lambda kv: -kv[1]):
            print(f"  {count:7d}  {endpoint}")
        self.kube_report(kube)
        print(f"operator peak RSS      {rss:.0f} MiB (VmHWM; VmRSS now {rss_now:.0f} MiB)")
        print(f"operator CPU           {cpu:.1f} s")
        others = ", ".join(f"{k} {proc_stats(pid)[2]:.1f} s" for k, pid in self.pids.items())
        print(f"other CPU              {others}")
        print(f"deleted (deletionPolicy Retain): {self.delete_all()}")
        print(f"operator peak RSS over the whole run: {proc_stats(operator.pid)[0]:.0f} MiB\n")
        return self.verdict(requests["counts"].get("POST /v2/databases", 0), seen, rss)

    def kube_report(self, kube: Counter[Key]) -> None:
        kube[("astradatabases", "", "POST")] -= self.n  # our own creates, not the operator's
        for label, resource, verbs in ROWS:
            mine = {k: v / self.n for k, v in kube.items() if k[0] == resource and k[2] in verbs}
            parts = ", ".join(f"{v} {s or 'object'} {n:.2f}" for (_, s, v), n in mine.items() if n)
            print(f"{'kube ' + label + '/object':23}{resource}: {sum(mine.values()):.2f} ({parts})")

    def verdict(self, creates: int, seen: dict[str, float], rss: float) -> int:
        if creates != self.n:
            print(f"FAIL: {creates} create requests for {self.n} objects (must be exactly N)")
        if self.n == BAR_COUNT:
            took = max(seen.values()) if len(seen) == self.n else float("inf")
            mark = "PASS" if took <= BAR_SECONDS else "FAIL"
            print(f"{mark}: {self.n} Ready within {BAR_SECONDS:.0f} s ({took:.1f} s)")
            mark = "PASS" if rss < BAR_MIB else "FAIL"
            print(f"{mark}: operator RSS under {BAR_MIB:.0f} MiB ({rss:.0f} MiB)")
        return 0 if creates == self.n and len(seen) == self.n else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add = parser.add_argument
    add("--count", type=int, default=BAR_COUNT, help="AstraDatabase objects (default: 500)")
    add("--kubeconfig", help="use this cluster instead of starting a local control plane")
    add("--timeout", type=float, default=300.0, help="seconds to wait for Ready (default: 300)")
    add("--busy-requeue", type=float, default=10.0, help="ASTRA_BUSY_REQUEUE (default: 10)")
    add("--profile", metavar="OUT", help="run the operator under cProfile, writing OUT")
    args = parser.parse_args()
    if args.count < 1:
        parser.error("--count must be at least 1")
    signal.signal(signal.SIGTERM, _on_sigterm)
    with contextlib.ExitStack() as stack:
        try:
            return Bench(args, stack).run()
        except (RuntimeError, subprocess.CalledProcessError, k8s.ApiException) as exc:
            print(f"FAIL: {exc} {getattr(exc, 'stderr', '') or ''}".strip())
        except KeyboardInterrupt:
            print("interrupted: cleaning up")
            return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
