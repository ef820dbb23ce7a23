"""Observe-at-scale benchmark: N databases, N/10 roles and N/10 tokens via astra-operator run.

Starts a local control plane (unless ``--kubeconfig``), installs the CRDs, runs the simulator
(``--timing fast``) and the operator (with a short ``ASTRA_POLL_INTERVAL``) as processes, the
way users run them, and in one run measures, printed side by side and as a ``RESULT {...}``
JSON line at the end:

1. create: N AstraDatabase (serverless), N/10 AstraRole and N/10 AstraToken applied at once;
   seconds to Ready, DevOps creates, Kubernetes writes per object (apiserver and watch);
2. steady state: K poll intervals after everything is Ready; DevOps requests and Kubernetes
   writes per object per hour, scaled to the default 60 s interval, beside the old per-object
   polling figure (one GET per object per interval = 60 per object per hour);
3. spec edits: M databases get a keyspace, one at a time; edit to the first DevOps call;
4. restart: SIGKILL, start again; requests, writes and re-observation in the first 30 s;
5. the operator's peak RSS and CPU seconds; then PASS/FAIL lines for the targets.

Then it deletes everything and stops every process (also on Ctrl-C, SIGTERM or failure).
See benchmarks/README.md for what every figure means and how it is measured.

    .venv/bin/python benchmarks/scale.py [--count 1000] [--poll-interval 5] [--edits 20] ...
    .venv/bin/python benchmarks/scale.py --operator-src /tmp/before   # an older operator

Exit status 1 only when not every object got Ready or the creates of a kind were not exactly
one per object; every other target is a PASS/FAIL line.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn, cast

import httpx
import scale_report as rep
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch

from astra_operator.controlplane import plane as cp
from astra_operator.resources import common

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).with_name("astra-operator")
DBS, ROLES, TOKENS = rep.KINDS
RESOURCES = {k.plural for k in rep.KINDS} | set(rep.OTHER_RESOURCES)
Manifest = dict[str, Any]


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


def proc_stats(pid: int) -> tuple[float, float]:
    """(peak RSS from VmHWM in MiB, CPU seconds utime+stime) of a live process."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # fields 14 and 15; fields[0] is field 3
    return (int(found.group(1)) / 1024 if found else 0.0), ticks / os.sysconf("SC_CLK_TCK")


def kubectl(kubeconfig: Path, *args: str) -> str:
    argv = ["kubectl", "--kubeconfig", str(kubeconfig), *args]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def request_counts(kubeconfig: Path) -> Counter[rep.Key]:
    """``apiserver_request_total`` of the resources we count, summed over codes etc.; and the
    API server's reads from etcd of them (``etcd_request_duration_seconds_count``, operation
    get), under the verb ``rep.ETCD_GET``."""
    counts: Counter[rep.Key] = Counter()
    for line in kubectl(kubeconfig, "get", "--raw", "/metrics").splitlines():
        if line.startswith("apiserver_request_total{"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
            if labels.get("resource") in RESOURCES:
                key = (labels["resource"], labels.get("subresource", ""), labels["verb"])
                counts[key] += int(float(line.rsplit(" ", 1)[1]))
        elif line.startswith("etcd_request_duration_seconds_count{"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
            if labels.get("operation") == "get" and labels.get("resource") in RESOURCES:
                counts[(labels["resource"], "", rep.ETCD_GET)] += int(float(line.rsplit(" ", 1)[1]))
    return counts


def api_client(kubeconfig: Path) -> k8s.ApiClient:
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(kubeconfig), client_configuration=configuration
    )
    configuration.connection_pool_maxsize = 24
    return k8s.ApiClient(configuration)


def ready(item: Manifest) -> bool:
    conditions = (item.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


# --- watching the objects -------------------------------------------------------------------------


@dataclasses.dataclass
class Seen:
    """One object as the watch saw it: every resourceVersion, when it was first Ready."""

    created: float
    versions: list[tuple[float, str, str]]  # (wall time seen, resourceVersion, what changed)
    ready_at: float | None = None
    to_ready: int = 0  # resourceVersions after the create, up to and including the Ready one
    astra_id: str = ""
    generation: int = 0
    observed: int = 0
    ready: bool = False
    keyspaces: tuple[str, ...] = ()  # status.keyspaces (databases)
    last: Manifest | None = None  # the object as last seen

    def until_ready(self) -> str:
        """What each write from the create until Ready changed, in order."""
        return " | ".join(what for _, _, what in self.versions[1 : self.to_ready + 1])


class Watcher:
    """A thread watching one kind in the namespace, keeping a :class:`Seen` per object."""

    def __init__(self, custom: k8s.CustomObjectsApi, kind: rep.Kind, namespace: str) -> None:
        self.custom, self.kind = custom, kind
        self.where = (common.GROUP, common.VERSION, namespace, kind.plural)
        self.lock = threading.Lock()
        self.objects: dict[str, Seen] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"watch-{kind.name}")

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def _run(self) -> None:
        version = ""
        while not self.stopping.is_set():
            try:
                if not version:
                    listed = cast(Manifest, self.custom.list_namespaced_custom_object(*self.where))
                    for item in listed["items"]:
                        self._note(item)
                    version = listed["metadata"]["resourceVersion"]
                version = self._watch(version)
            except k8s.ApiException as exc:
                version = "" if exc.status == 410 else version  # expired: list again
                self.stopping.wait(0.5)
            except Exception:  # a dropped connection (or the client closed at the end)
                self.stopping.wait(0.5)

    def _watch(self, version: str) -> str:
        stream = k8s_watch.Watch().stream(  # type: ignore[no-untyped-call]
            self.custom.list_namespaced_custom_object,
            *self.where,
            resource_version=version,
            timeout_seconds=10,
            allow_watch_bookmarks=True,
        )
        for event in stream:
            item = event["object"]
            version = item["metadata"]["resourceVersion"]
            if event["type"] in ("ADDED", "MODIFIED"):
                self._note(item)
            if self.stopping.is_set():
                break
        return version

    def _note(self, item: Manifest) -> None:
        now, meta, status = time.time(), item["metadata"], item.get("status") or {}
        with self.lock:
            seen = self.objects.setdefault(meta["name"], Seen(now, []))
            if not seen.versions or seen.versions[-1][1] != meta["resourceVersion"]:
                what = "create" if seen.last is None else rep.what_changed(seen.last, item)
                seen.versions.append((now, meta["resourceVersion"], what))
            seen.last = item
            seen.astra_id = str(status.get(self.kind.id_label) or "")
            seen.generation = int(meta.get("generation") or 0)
            seen.observed = int(status.get("observedGeneration") or 0)
            seen.ready = ready(item)
            seen.keyspaces = tuple(status.get("keyspaces") or ())
            if seen.ready and seen.ready_at is None:
                seen.ready_at, seen.to_ready = now, len(seen.versions) - 1

    def snapshot(self) -> dict[str, Seen]:
        with self.lock:
            return {
                k: dataclasses.replace(v, versions=list(v.versions), last=None)
                for k, v in self.objects.items()
            }

    def changes(self, since: float, until: float) -> Counter[str]:
        """What the writes first seen in [since, until] changed (creates not included)."""
        with self.lock:
            return Counter(
                f"{self.kind.plural}: {what}"
                for seen in self.objects.values()
                for t, _, what in seen.versions[1:]
                if since <= t <= until
            )


# --- the run --------------------------------------------------------------------------------------


def manifests(args: argparse.Namespace) -> dict[str, list[Manifest]]:
    """N serverless databases; role i scopes db-cql to one database; token j carries role j % R."""

    def obj(kind: rep.Kind, name: str, spec: Manifest) -> Manifest:
        meta = {"name": name}
        return {"apiVersion": common.API_VERSION, "kind": kind.kind, "metadata": meta, "spec": spec}

    def role(i: int) -> Manifest:
        scope = {"databaseRef": {"name": f"db-{i * n // roles:04d}"}}
        spec = {"permissions": ["db-cql"], "resources": [scope], "deletionPolicy": "Delete"}
        return obj(ROLES, f"role-{i:04d}", spec)

    def token(j: int) -> Manifest:
        spec = {
            "roles": [{"roleRef": {"name": f"role-{j % roles:04d}"}}],
            "deletionPolicy": "Delete",
        }
        return obj(TOKENS, f"token-{j:04d}", spec)

    n, roles, tokens = args.count, args.roles, args.tokens
    database = {"cloudProvider": "GCP", "region": "us-east1", "tier": "serverless"}
    return {
        "databases": [obj(DBS, f"db-{i:04d}", database) for i in range(n)],
        "roles": [role(i) for i in range(roles)],
        "tokens": [token(j) for j in range(tokens)],
    }


def latencies(
    edited: dict[str, tuple[float, str]], ids: dict[str, str], log: list[dict[str, Any]]
) -> tuple[list[float], list[float]]:
    """Seconds from each edit to its POST .../keyspaces/<keyspace>, and to the first request
    whose path names that database's ID (any call, the periodic ones included)."""
    to_keyspace: list[float] = []
    to_first: list[float] = []
    for name, (at, keyspace) in edited.items():
        base = f"/v2/databases/{ids[name]}"
        after = [e for e in log if e["at"] >= at]
        add = f"{base}/keyspaces/{keyspace}"
        posts = [e["at"] - at for e in after if e["method"] == "POST" and e["path"] == add]
        named = [e["at"] - at for e in after if f"{e['path']}/".startswith(f"{base}/")]
        to_keyspace += posts[:1]
        to_first += named[:1]
    return to_keyspace, to_first


class Bench:
    """One run; everything it starts is registered on ``stack`` and undone in reverse order."""

    api: k8s.ApiClient
    custom: k8s.CustomObjectsApi
    kubeconfig: Path
    sim: str
    operator: subprocess.Popen[bytes]

    def __init__(self, args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
        self.args, self.stack = args, stack
        self.objects = manifests(args)
        self.counts = {name: len(items) for name, items in self.objects.items()}
        self.total = sum(self.counts.values())
        self.tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="astra-bench-")))
        self.log = Path(tempfile.mkstemp(prefix="astra-bench-operator-", suffix=".log")[1])
        self.namespace = f"bench-{secrets.token_hex(3)}"
        self.pids: dict[str, int] = {}
        self.watchers: dict[str, Watcher] = {}
        self.deleted = False

    def where(self, kind: rep.Kind) -> tuple[str, str, str, str]:
        return (common.GROUP, common.VERSION, self.namespace, kind.plural)

    # --- processes ------------------------------------------------------------------------------

    def cluster(self) -> Path:
        if self.args.kubeconfig:
            return Path(self.args.kubeconfig)
        print("starting a local control plane ...", flush=True)
        plane = cp.start()
        self.stack.callback(plane.stop)
        self.pids.update(plane.pids)
        return plane.kubeconfig

    def setup(self, token: str) -> None:
        crd_dir = (self.args.operator_src or ROOT) / "crds"
        kubectl(self.kubeconfig, "apply", "--server-side", "-f", str(crd_dir))
        crds = [f"crd/{k.plural}.{common.GROUP}" for k in rep.KINDS]
        kubectl(self.kubeconfig, "wait", "--for=condition=Established", "--timeout=60s", *crds)
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

    def start_operator(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "ASTRA_API_URL": self.sim}
        env |= {"ASTRA_OPERATOR_NAMESPACE": self.namespace}
        env |= {"ASTRA_POLL_INTERVAL": str(self.args.poll_interval)}
        env |= {"ASTRA_BUSY_REQUEUE": str(self.args.busy_requeue)}
        if self.args.api_rate is not None:
            env["ASTRA_API_RATE"] = str(self.args.api_rate)
        if self.args.operator_src:
            env["PYTHONPATH"] = str(self.args.operator_src / "operator")
        argv = [str(CLI), "run", "-n", self.namespace]
        if self.args.profile and not hasattr(self, "operator"):  # the first process only
            prof = ["-m", "cProfile", "-o", str(Path(self.args.profile).resolve())]
            argv = [sys.executable, *prof, "-m", "astra_operator.cli", *argv[1:]]
        self.operator = spawn(argv, self.log, env)
        return self.operator

    def check_operator(self) -> None:
        if self.operator.poll() is not None:
            raise RuntimeError(f"the operator exited with {self.operator.returncode}: {self.log}")

    def sleep(self, seconds: float) -> None:
        """Sleep, but fail at once if the operator dies meanwhile."""
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            self.check_operator()
            time.sleep(min(left, 0.5))

    def sim_counts(self) -> Counter[str]:
        answer = httpx.get(f"{self.sim}/_sim/requests", timeout=30).json()
        return Counter(answer["counts"])

    def sim_log(self, since: float) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.sim}/_sim/requests/log", params={"since": since}, timeout=60)
        body = answer.raise_for_status().json()
        if body["dropped"]:
            print(f"note: the simulator's request log dropped {body['dropped']} requests")
        return cast(list[dict[str, Any]], body["requests"])

    def sim_reset(self) -> None:
        httpx.post(f"{self.sim}/_sim/requests/reset", timeout=30).raise_for_status()

    # --- phases ---------------------------------------------------------------------------------

    def create_phase(self) -> rep.Report:
        before = request_counts(self.kubeconfig)
        started = time.time()
        jobs = [(kind, m) for kind in rep.KINDS for m in self.objects[kind.name]]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda job: self.create(*job), jobs))
        print(f"applied {self.total} objects in {time.time() - started:.1f} s", flush=True)
        deadline = time.monotonic() + self.args.timeout
        while not self.all_ready() and time.monotonic() < deadline:
            self.sleep(0.5)
        kube = request_counts(self.kubeconfig) - before
        events = self.events_by_kind()
        requests = self.sim_counts()
        created = [self.created(kind, started, kube, requests, events) for kind in rep.KINDS]
        other = {r: rep.kube_count(kube, r) for r in rep.OTHER_RESOURCES}
        return rep.Report(self.args.count, created, requests, kube_other=other)

    def create(self, kind: rep.Kind, manifest: Manifest) -> None:
        self.custom.create_namespaced_custom_object(*self.where(kind), manifest)

    def all_ready(self) -> bool:
        return all(
            sum(s.ready_at is not None for s in self.watchers[kind].snapshot().values()) >= n
            for kind, n in self.counts.items()
        )

    def events_by_kind(self) -> Counter[str]:
        """Event writes by the kind they are about (an Event's count says how often it was
        written; kopf posts each as a new one)."""
        found: Counter[str] = Counter()
        for event in k8s.CoreV1Api(self.api).list_namespaced_event(self.namespace).items:
            found[str(event.involved_object.kind)] += event.count or 1
        return found

    def created(
        self,
        kind: rep.Kind,
        started: float,
        kube: Counter[rep.Key],
        requests: Counter[str],
        events: Counter[str],
    ) -> rep.Created:
        seen = [s for s in self.watchers[kind.name].snapshot().values() if s.ready_at is not None]
        n = self.counts[kind.name]
        status = sum(
            v
            for (r, sub, verb), v in kube.items()
            if r == kind.plural and sub == "status" and verb in rep.WRITES
        )
        return rep.Created(
            kind=kind,
            count=n,
            ready_since_apply=[cast(float, s.ready_at) - started for s in seen],
            ready_since_create=[cast(float, s.ready_at) - s.created for s in seen],
            creates=sum(requests[key] for key in kind.creates),
            kube_writes=rep.kube_count(kube, kind.plural) - n,  # not our own creates
            kube_status_writes=status,
            versions=[s.to_ready for s in seen],
            sequences=Counter(s.until_ready() for s in seen),
            events=events[kind.kind],
        )

    def steady_phase(self) -> rep.Steady:
        interval, k = self.args.poll_interval, self.args.steady_intervals
        print(f"steady state: settle {interval:g} s, then {k} x {interval:g} s", flush=True)
        self.sleep(interval)
        self.sim_reset()
        before, t0 = request_counts(self.kubeconfig), time.time()
        self.sleep(k * interval)
        t1 = time.time()
        requests, kube = self.sim_counts(), request_counts(self.kubeconfig) - before
        changes = sum((w.changes(t0, t1) for w in self.watchers.values()), Counter[str]())
        return rep.Steady(
            interval, k, t1 - t0, self.total, self.counts["databases"], requests, kube, changes
        )

    def edit_phase(self) -> rep.Edits:
        n, m = self.counts["databases"], min(self.args.edits, self.counts["databases"])
        picked = [f"db-{i * n // m:04d}" for i in range(m)]
        ids = {name: s.astra_id for name, s in self.watchers["databases"].snapshot().items()}
        print(f"editing {m} databases, {self.args.edit_spacing:g} s apart", flush=True)
        before = request_counts(self.kubeconfig)
        edited: dict[str, tuple[float, str]] = {}  # name -> (when, the keyspace it adds)
        for i, name in enumerate(picked):
            edited[name] = (time.time(), f"k{i}")
            patch = {"spec": {"additionalKeyspaces": [f"k{i}"]}}
            self.custom.patch_namespaced_custom_object(*self.where(DBS), name, patch)
            self.sleep(self.args.edit_spacing)
        first = min(t for t, _ in edited.values())
        wanted = {f"/v2/databases/{ids[name]}/keyspaces/{ks}" for name, (_, ks) in edited.items()}
        self.wait_requested(wanted, since=first, deadline=time.monotonic() + 30)
        keyspaces = {name: ks for name, (_, ks) in edited.items()}
        settled = self.wait_settled(keyspaces, deadline=time.monotonic() + 60)
        kube = request_counts(self.kubeconfig) - before
        to_keyspace, to_first = latencies(edited, ids, self.sim_log(first))
        others = sum(rep.kube_count(kube, r) for r in rep.OTHER_RESOURCES)
        writes = rep.kube_count(kube, DBS.plural) - m + others  # not our own m edits
        return rep.Edits(m, to_keyspace, to_first, writes, settled)

    def wait_requested(self, paths: set[str], since: float, deadline: float) -> None:
        """Until the simulator has logged a request for each of ``paths`` (or the deadline)."""
        missing = set(paths)
        while True:
            entries = self.sim_log(since)
            missing -= {e["path"] for e in entries}
            since = entries[-1]["at"] if entries else since
            if not missing or time.monotonic() > deadline:
                return
            self.sleep(1)

    def wait_settled(self, edited: dict[str, str], deadline: float) -> int:
        """Edited databases settled: the new keyspace in status.keyspaces, Ready=True, and
        observedGeneration at the new generation."""
        while True:
            seen = self.watchers["databases"].snapshot()
            done = sum(
                1
                for name, keyspace in edited.items()
                if keyspace in seen[name].keyspaces
                and seen[name].ready
                and seen[name].observed == seen[name].generation > 1
            )
            if done == len(edited) or time.monotonic() > deadline:
                return done
            self.sleep(0.5)

    def restart_phase(self) -> rep.Restart:
        seconds = self.args.restart_seconds
        how = "SIGINT (--profile)" if self.args.profile else "SIGKILL"
        print(f"restart: {how}, then the first {seconds:g} s of a new operator", flush=True)
        if self.args.profile:  # SIGKILL would lose the profile
            stop(self.operator)
        else:
            self.operator.kill()
            self.operator.wait()
        self.sim_reset()
        before, offset = request_counts(self.kubeconfig), self.log.stat().st_size
        started = time.time()
        self.start_operator()
        self.sleep(seconds)
        t1 = time.time()
        requests, kube = self.sim_counts(), request_counts(self.kubeconfig) - before
        log = self.sim_log(started)
        ids = {
            name: [s.astra_id for s in w.snapshot().values()] for name, w in self.watchers.items()
        }
        with self.log.open("rb") as f:
            f.seek(offset)
            lines = f.read().decode(errors="replace").splitlines()
        warnings = sum(1 for line in lines if re.search(r"\[(WARNING|ERROR|CRITICAL)", line))
        return rep.Restart(
            how=how,
            seconds=t1 - started,
            requests=requests,
            kube=kube,
            versions=sum((w.changes(started, t1) for w in self.watchers.values()), Counter[str]()),
            reobserved=rep.reobserved(log, ids, started),
            log_lines=len(lines),
            log_warnings=warnings,
        )

    def delete_all(self) -> str:
        started = time.monotonic()
        for kind in reversed(rep.KINDS):
            self.custom.delete_collection_namespaced_custom_object(*self.where(kind))

        def left() -> int:
            listed = (self.custom.list_namespaced_custom_object(*self.where(k)) for k in rep.KINDS)
            return sum(len(cast(Manifest, found)["items"]) for found in listed)

        while (remaining := left()) and time.monotonic() - started < self.args.timeout:
            time.sleep(1)
        self.deleted = not remaining
        took = f"after {time.monotonic() - started:.1f} s"
        return (
            f"all {self.total} objects gone {took}"
            if not remaining
            else f"{remaining} objects left {took}"
        )

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
            print(f"WARNING: custom objects may remain in namespace {self.namespace}")

    def stop_operator(self) -> None:
        if hasattr(self, "operator"):
            stop(self.operator)

    # --- the whole run ------------------------------------------------------------------------

    def run(self) -> int:
        self.kubeconfig = self.cluster()
        self.api = api_client(self.kubeconfig)
        self.custom = k8s.CustomObjectsApi(self.api)
        self.stack.callback(self.api.close)
        info = self.simulator()
        self.sim = info["url"]
        self.setup(info["adminToken"])
        for kind in rep.KINDS:
            self.watchers[kind.name] = watcher = Watcher(self.custom, kind, self.namespace)
            watcher.start()
            self.stack.callback(watcher.stop)
        self.start_operator()
        self.stack.callback(self.stop_operator)
        self.stack.callback(self.tidy)  # runs first: objects go while the operator still runs
        self.sleep(3)  # let kopf start its watches, so the figures measure reconciling
        print(
            f"operator pid {self.operator.pid}, log {self.log}; poll interval "
            f"{self.args.poll_interval:g} s, busy requeue {self.args.busy_requeue:g} s, "
            f"API rate {self.args.api_rate or 'default'}; "
            f"{self.counts}",
            flush=True,
        )
        report = self.create_phase()
        if report.all_ready:
            self.later_phases(report)
        self.print_report(report)
        if report.all_ready:
            print(f"deleted (databases Retain, roles and tokens Delete): {self.delete_all()}")
        return 0 if report.all_ready and report.creates_exact else 1

    def later_phases(self, report: rep.Report) -> None:
        report.steady = self.steady_phase()
        report.edits = self.edit_phase()
        rss, cpu = proc_stats(self.operator.pid)
        report.restart = self.restart_phase()
        rss2, cpu2 = proc_stats(self.operator.pid)
        others = {name: proc_stats(pid)[1] for name, pid in self.pids.items()}
        report.resources = rep.Resources(rss, cpu, rss2, cpu2, others)

    def print_report(self, report: rep.Report) -> None:
        print(f"\n== {self.counts} (poll interval {self.args.poll_interval:g} s) ==\n")
        sections: list[list[str]] = [rep.create_lines(report)]
        if report.steady is not None:
            sections.append(rep.steady_lines(report.steady))
        if report.edits is not None:
            sections.append(rep.edit_lines(report.edits))
        if report.restart is not None:
            sections.append(rep.restart_lines(report.restart, self.counts))
        if report.resources is not None:
            sections.append(rep.resource_lines(report.resources))
        for lines in sections:
            print("\n".join(lines) + "\n")
        print(f"targets (set for N=1000; N={self.args.count} here):")
        for ok, text in rep.verdicts(report):
            print(f"{'PASS' if ok else 'FAIL'}: {text}")
        print(rep.result_line(report), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add = parser.add_argument
    add("--count", type=int, default=1000, help="AstraDatabase objects, N (default: 1000)")
    add("--roles", type=int, help="AstraRole objects (default: N//10)")
    add("--tokens", type=int, help="AstraToken objects (default: N//10)")
    add("--kubeconfig", help="use this cluster instead of starting a local control plane")
    add("--timeout", type=float, default=600.0, help="seconds to wait for Ready (default: 600)")
    add("--poll-interval", type=float, default=5.0, help="ASTRA_POLL_INTERVAL (default: 5)")
    add("--busy-requeue", type=float, default=10.0, help="ASTRA_BUSY_REQUEUE (default: 10)")
    add("--api-rate", type=float, help="ASTRA_API_RATE (default: unset, the operator's own)")
    add(
        "--steady-intervals",
        type=int,
        default=4,
        help="steady window, in poll intervals (default: 4)",
    )
    add("--edits", type=int, default=20, help="databases to edit one at a time (default: 20)")
    add("--edit-spacing", type=float, default=0.5, help="seconds between edits (default: 0.5)")
    add("--restart-seconds", type=float, default=30.0, help="restart window (default: 30)")
    add("--profile", metavar="OUT", help="run the (first) operator under cProfile, writing OUT")
    add(
        "--operator-src",
        type=Path,
        metavar="DIR",
        help="run the operator (and apply the CRDs) from this source tree, e.g. an export of "
        "an older commit (git archive); the simulator and the benchmark stay this tree's",
    )
    args = parser.parse_args()
    if args.operator_src and not (args.operator_src / "operator" / "astra_operator").is_dir():
        parser.error("--operator-src must hold operator/astra_operator (a repository root)")
    args.roles = args.count // 10 if args.roles is None else args.roles
    args.tokens = args.count // 10 if args.tokens is None else args.tokens
    if args.count < 1 or args.roles < 0 or args.tokens < 0 or args.edits < 1:
        parser.error("--count and --edits must be at least 1, --roles and --tokens at least 0")
    if args.tokens and not args.roles:
        parser.error("tokens need roles: --tokens > 0 needs --roles > 0")
    if args.poll_interval <= 0 or args.steady_intervals < 1:
        parser.error("--poll-interval must be positive and --steady-intervals at least 1")
    signal.signal(signal.SIGTERM, _on_sigterm)
    with contextlib.ExitStack() as stack:
        try:
            return Bench(args, stack).run()
        except (
            RuntimeError,
            subprocess.CalledProcessError,
            k8s.ApiException,
            httpx.HTTPError,
        ) as exc:
            print(f"FAIL: {exc} {getattr(exc, 'stderr', '') or ''}".strip())
        except KeyboardInterrupt:
            print("interrupted: cleaning up")
            return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
