"""`astra-operator dev` as a new user runs it: its own control plane and simulator, a token and
an API URL given (the simulator standing in for Astra), `--keep`, `--timeout`, Ctrl-C.

Each run goes through a "child subreaper" (below), so a test sees exactly the processes dev
left running after it exited.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kubernetes import client as k8s

from astra_operator import dev
from astra_operator.resources import database as db
from tests.conftest import REPO, Cluster
from tests.integration.conftest import Databases, Sim

pytestmark = pytest.mark.integration

EXAMPLES = REPO / "examples"
DEV = [sys.executable, "-m", "astra_operator.cli", "dev"]

# Runs a command as its child with this process as the "child subreaper" (prctl), so that every
# process the command starts, at any depth, is reparented here if it outlives its parent. Once
# the command has exited, the live children left are exactly its leftovers: they are written to
# argv[1] as JSON, then killed. Nothing outside the command's own process tree is looked at.
# A SIGINT (a Ctrl-C sent to the process group, as a terminal does) is left to the command.
_SUBREAPER = r"""
import ctypes, json, os, signal, subprocess, sys
PR_SET_CHILD_SUBREAPER = 36
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1) != 0:
    sys.exit(f"prctl(PR_SET_CHILD_SUBREAPER): errno {ctypes.get_errno()}")
signal.signal(signal.SIGINT, lambda *_: None)  # a handler, not SIG_IGN: the child gets SIG_DFL
code = subprocess.call(sys.argv[2:])
while True:  # reap the ones that already exited: a zombie is not a leftover
    try:
        if os.waitpid(-1, os.WNOHANG)[0] == 0:
            break
    except ChildProcessError:
        break
me, left = os.getpid(), []
for entry in os.listdir("/proc"):
    try:
        with open(f"/proc/{entry}/stat") as f:
            state, ppid = f.read().rsplit(")", 1)[1].split()[:2]
        if int(ppid) == me and state != "Z":
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                left.append([int(entry), f.read().replace(b"\0", b" ").decode().strip()])
    except (OSError, ValueError):
        continue
for pid, _ in left:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
with open(sys.argv[1], "w") as f:
    json.dump(left, f)
sys.exit(code)
"""


def _run(tmp_path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    leftovers = tmp_path / "leftovers.json"
    result = subprocess.run(
        [sys.executable, "-c", _SUBREAPER, str(leftovers), *DEV, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=_env(),
    )
    assert json.loads(leftovers.read_text()) == [], "still running after dev exited (killed now)"
    return result


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "ASTRA_TOKEN"}


class Interactive:
    """dev run in the foreground of a "terminal": its output read as it comes, Ctrl-C sent
    to its process group."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.leftovers = tmp_path / "leftovers.json"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SUBREAPER, str(self.leftovers), *DEV, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, as a terminal's foreground job
            env=_env(),
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 180, after: int = 0) -> re.Match[str]:
        """The first match of ``pattern`` in the output past offset ``after``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.compile(pattern).search(self.output, after)
            if found:
                return found
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.2)
        pytest.fail(f"dev never printed {pattern!r}:\n{self.output}")

    def ctrl_c(self, timeout: float = 120) -> int:
        os.killpg(self.proc.pid, signal.SIGINT)
        code = self.proc.wait(timeout)
        self._reader.join(10)
        assert json.loads(self.leftovers.read_text()) == [], "still running after dev exited"
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._reader.join(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def interactive(tmp_path: Path) -> Iterator[list[Interactive]]:
    started: list[Interactive] = []
    yield started
    for run in started:
        run.close()


def _examples() -> list[dict[str, Any]]:
    docs = [d for p in sorted(EXAMPLES.glob("*.yaml")) for d in yaml.safe_load_all(p.read_text())]
    return [d for d in docs if d and d["kind"] in ("AstraDatabase", "AstraRole")]


def _astra_names(kind: str) -> set[str]:
    return {
        d["spec"].get("name") or d["metadata"]["name"] for d in _examples() if d["kind"] == kind
    }


@pytest.mark.usefixtures("cluster")  # the binaries are built (or found) before dev needs them
def test_dev_command_brings_up_everything_and_tears_it_down(
    tmp_path: Path, interactive: list[Interactive]
) -> None:
    """The README's main-job command, as a new user runs it (own control plane, simulator):
    it says where things go, prints what the simulator's admin API needs, shows an
    out-of-band change made with it, and once Ctrl-C'd, nothing it started runs."""
    run = Interactive(tmp_path)
    interactive.append(run)
    started = run.wait_for(r"starting a local kube-apiserver")
    # Before anything starts: the namespace and the deletion-policy default.
    before = run.output[: started.start()]
    assert "namespace astra-dev" in before
    assert f"default to {dev.DELETION_POLICY}" in before
    assert "nothing dev makes outlives it" in before
    ready = run.wait_for(r"every example is reconciled")
    assert re.search(r"atoken/rag-app\s+\S*\s*True", run.output), run.output  # the token too
    url = run.wait_for(r"admin API.*?: (http://127\.0\.0\.1:\d+)/_sim/state").group(1)
    token = run.wait_for(r"admin token[^:]*: (AstraCS:\S+)").group(1)
    ready_file = Path(run.wait_for(r"ready file[^:]*: (\S+)").group(1))
    assert json.loads(ready_file.read_text())["url"] == url
    assert json.loads(ready_file.read_text())["adminToken"] == token
    assert "kubectl --kubeconfig" in run.output
    # An out-of-band change through the admin API shows in dev's table.
    state = httpx.get(f"{url}/_sim/state", timeout=10).json()
    [rag] = [d for d in state["databases"] if d["info"]["name"] == "rag-vectors-prod"]
    external = f"{url}/_sim/databases/{rag['id']}/external"
    httpx.post(external, json={"action": "hibernate"}, timeout=10).raise_for_status()
    run.wait_for(r"adb/rag-vectors\s+HIBERNAT", timeout=60, after=ready.end())
    assert run.ctrl_c() == 0, run.output
    assert "control plane stopped" in run.output
    assert not ready_file.exists()


def test_dev_with_a_token_deletes_what_it_created_and_waits(
    tmp_path: Path, sim: Sim, cluster: Cluster, namespace: str, kube_api: k8s.ApiClient
) -> None:
    """`dev --token` (here with the simulator as "Astra"): it says what it will create there,
    makes its objects deletable, deletes them on exit and waits until Astra has terminated the
    databases and deleted the role."""
    args = [
        "--token",
        sim.admin_token,
        "--api-url",
        sim.url,
        "--kubeconfig",
        str(cluster.kubeconfig),
    ]
    result = _run(tmp_path, *args, "--namespace", namespace, "--exit-when-ready")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    # Nothing is left in "Astra": the databases terminated, the role deleted.
    made = [d for d in sim.databases() if d["info"]["name"] in _astra_names("AstraDatabase")]
    assert len(made) == 2, made
    assert {d["status"] for d in made} <= {"TERMINATING", "TERMINATED"}, made
    roles = {r["Name"] for r in sim.admin("GET", "/_sim/state")["roles"]}
    assert not roles & _astra_names("AstraRole")
    assert "real DevOps API" not in out
    assert f"the DevOps API at {sim.url}" in out
    assert f"namespace {namespace}" in out
    for doc in _examples():  # names, providers, regions: from the examples
        spec = doc["spec"]
        line = next(
            ln for ln in out.splitlines() if f"{doc['kind']} {doc['metadata']['name']})" in ln
        )
        assert repr(spec.get("name") or doc["metadata"]["name"]) in line
        if doc["kind"] == "AstraDatabase":
            assert spec["cloudProvider"] in line
            for region in [spec["region"], *spec.get("additionalRegions", [])]:
                assert region in line
    assert "deletionPolicy: Delete and deletionProtection: false" in out
    assert out.index("dev creates") < out.index("operator running")
    for d in made:
        assert re.search(rf"Astra database {d['id']}: TERMINAT", out), out
    # ... and nothing in the cluster.
    custom = k8s.CustomObjectsApi(kube_api)
    for plural in (db.PLURAL, "astraroles"):
        listed = custom.list_namespaced_custom_object(db.GROUP, db.VERSION, namespace, plural)
        assert listed["items"] == [], plural


def _release(api: k8s.ApiClient, namespace: str) -> None:
    """Delete what a dev --keep run left (no operator runs for it any more)."""
    custom = k8s.CustomObjectsApi(api)
    for plural in (db.PLURAL, "astraroles"):
        listed = custom.list_namespaced_custom_object(db.GROUP, db.VERSION, namespace, plural)
        for obj in listed["items"]:
            name = obj["metadata"]["name"]
            patch = {"metadata": {"finalizers": None}}
            custom.patch_namespaced_custom_object(
                db.GROUP, db.VERSION, namespace, plural, name, patch
            )
            custom.delete_namespaced_custom_object(db.GROUP, db.VERSION, namespace, plural, name)


def test_dev_with_a_token_and_keep_leaves_everything_and_lists_it(
    tmp_path: Path, sim: Sim, cluster: Cluster, namespace: str, kube_api: k8s.ApiClient
) -> None:
    args = [
        "--token",
        sim.admin_token,
        "--api-url",
        sim.url,
        "--kubeconfig",
        str(cluster.kubeconfig),
    ]
    try:
        result = _run(tmp_path, *args, "--namespace", namespace, "--exit-when-ready", "--keep")
        out = result.stdout
        assert result.returncode == 0, out + result.stderr
        made = [d for d in sim.databases() if d["info"]["name"] in _astra_names("AstraDatabase")]
        assert sorted(d["status"] for d in made) == ["ACTIVE", "PARKED"], made
        [role] = [
            r
            for r in sim.admin("GET", "/_sim/state")["roles"]
            if r["Name"] in _astra_names("AstraRole")
        ]
        assert "left behind" in out
        for d in made:
            assert f"Astra database {d['id']}: {d['status']}" in out
            assert f"{sim.url}/v2/databases/{d['id']}/terminate" in out
        assert f"{sim.url}/v2/organizations/roles/{role['ID']}" in out
        assert sim.admin_token not in out, "dev printed the token it was given"
        # Applied as written: the serverless example keeps its Retain and protection.
        rag = Databases(kube_api, namespace).get("rag-vectors")
        assert rag is not None
        assert rag["spec"]["deletionPolicy"] == "Retain"
        assert rag["spec"]["deletionProtection"] is True
    finally:
        _release(kube_api, namespace)


def test_dev_timeout_with_exit_when_ready_says_how_to_wait_longer(
    tmp_path: Path, cluster: Cluster, namespace: str
) -> None:
    slow = ["--timing", "0.01", "--timeout", "2", "--exit-when-ready"]  # ~15 s to settle
    where = ["--kubeconfig", str(cluster.kubeconfig), "--namespace", namespace]
    result = _run(tmp_path, *where, *slow)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "not every example settled within 2 s" in out
    # each example named with why it has not settled (2 s may end before the operator's first
    # pass, or after it: both are honest answers)
    unsettled = r"adb/reporting-classic: (Ready=False \w+|its latest spec is not reconciled yet)"
    assert re.search(unsettled, out), out
    assert "rerun with --timeout" in out
    assert "without --exit-when-ready" in out
    assert "--keep" in out
    # With --kubeconfig the objects outlive dev: it deleted the ones it created.
    assert "deleted every object dev created" in out


def test_dev_timeout_keeps_everything_running_and_says_so(
    tmp_path: Path, cluster: Cluster, namespace: str, interactive: list[Interactive]
) -> None:
    where = ["--kubeconfig", str(cluster.kubeconfig), "--namespace", namespace]
    run = Interactive(tmp_path, *where, "--timing", "0.01", "--timeout", "2")
    interactive.append(run)
    said = run.wait_for(r"not every example settled within 2 s")
    run.wait_for(r"everything keeps running", after=said.start())
    run.wait_for(r"every example is reconciled", timeout=120, after=said.end())
    assert run.ctrl_c() == 0, run.output
    assert "deleted every object dev created" in run.output


def test_default_timeout_lets_realistic_timing_settle() -> None:
    # Measured with --timing realistic: the examples settled after 20.5 minutes (the classic
    # one initializes for 15 and parks for 5); the default leaves room for that.
    measured = 20.5 * 60
    assert dev.default_timeout("realistic", real=False) >= 1.3 * measured
    assert dev.default_timeout("fast", real=False) == dev.FAST_TIMEOUT
    assert dev.default_timeout("0.1", real=False) >= 1.3 * measured * 0.1
    assert dev.default_timeout("fast", real=True) >= 1.3 * measured  # Astra is not fast


def test_dev_refuses_an_api_url_without_a_token(tmp_path: Path) -> None:
    result = subprocess.run(
        [*DEV, "--api-url", "https://example.test"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=_env(),
    )
    assert result.returncode == 2
    assert "--api-url needs --token" in result.stderr
