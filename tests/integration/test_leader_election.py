"""Leader election: of several candidates for one Lease, exactly one is active.

First the Lease loop itself (``kube.leader.Elector``) against the real kube-apiserver, with
short timings (a 3 s lease, 2 s renew deadline, 1 s retry): one of two candidates holds it and
the other waits; a release hands it over within a retry period; a holder that stops renewing
(killed) loses it after the lease duration; one whose Lease was taken, or that cannot reach
the API, gives it up (``on_lost``). Then ``astra-operator run`` processes against the control
plane and the simulator: only the holder reconciles, kill -9 and SIGTERM hand over, and a
process that lost the Lease exits at once. The settings and flags come first (no cluster).
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from kubernetes import client as k8s

from astra_operator import config
from astra_operator.controlplane import plane
from astra_operator.handlers import command
from astra_operator.kube import api as kube_api_module
from astra_operator.kube import leader
from tests.conftest import Cluster
from tests.integration import blackhole
from tests.integration.conftest import Databases, Operator, Sim, wait_for

FAST = leader.Timing(lease_seconds=3, renew_deadline=2.0, retry_period=1.0)
LEASE = "astra-operator"
CREATE = "POST /v2/databases"
SERVERLESS = {"cloudProvider": "GCP", "region": "us-east1"}


# --- settings -----------------------------------------------------------------------------


def test_leader_election_is_off_by_default_and_read_from_the_environment() -> None:
    default = config.OperatorConfig.from_env({"HOSTNAME": "host-1"})
    assert default.leader_election is False
    assert (default.leader_lease_name, default.leader_lease_seconds) == ("astra-operator", 15)
    assert default.lease_namespace == "astra-operator"  # the operator namespace
    assert default.pod_name == "host-1"
    cfg = config.OperatorConfig.from_env(
        {
            "ASTRA_LEADER_ELECTION": "on",
            "ASTRA_LEADER_LEASE_NAME": "mine",
            "ASTRA_OPERATOR_NAMESPACE": "ops",
            "ASTRA_LEADER_LEASE_SECONDS": "30",
            "POD_NAME": "op-7f9",
            "HOSTNAME": "host-1",
        }
    )
    assert (cfg.leader_election, cfg.leader_lease_name, cfg.lease_namespace) == (
        True,
        "mine",
        "ops",
    )
    assert (cfg.leader_lease_seconds, cfg.pod_name) == (30, "op-7f9")
    other = config.OperatorConfig.from_env({"ASTRA_LEADER_LEASE_NAMESPACE": "leases"})
    assert other.lease_namespace == "leases"
    assert leader.Timing.for_lease(15) == leader.Timing(15, 10.0, 2.0)  # client-go's defaults


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ASTRA_LEADER_ELECTION", "maybe"),
        ("ASTRA_LEADER_LEASE_SECONDS", "2"),
        ("ASTRA_LEADER_LEASE_SECONDS", "7.5"),
        ("ASTRA_LEADER_LEASE_SECONDS", "soon"),
    ],
)
def test_a_bad_leader_election_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        config.OperatorConfig.from_env({name: value})


def test_the_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASTRA_LEADER_ELECTION", "off")
    monkeypatch.setenv("ASTRA_LEADER_LEASE_NAME", "from-env")
    flags = ["--leader-election", "on", "--lease-name", "flag", "--lease-namespace", "ns"]
    args = command._parser().parse_args([*flags, "--lease-seconds", "9"])
    cfg = command.settings_from(args)
    assert (cfg.leader_election, cfg.leader_lease_name) == (True, "flag")
    assert (cfg.lease_namespace, cfg.leader_lease_seconds) == ("ns", 9)
    with pytest.raises(ValueError, match="--lease-seconds"):
        command.settings_from(command._parser().parse_args(["--lease-seconds", "1"]))


# --- the Lease loop against the real API server -------------------------------------------


class Candidate:
    """One ``Elector`` and what happened to it."""

    def __init__(self, kubeconfig: Path, namespace: str, who: str, timing: leader.Timing) -> None:
        self.lost: list[tuple[float, str]] = []
        self.elector = leader.Elector(
            kube_api_module.load_api_client(str(kubeconfig), pool_size=4),
            namespace=namespace,
            name=LEASE,
            identity=leader.new_identity(who),
            on_lost=lambda reason: self.lost.append((time.monotonic(), reason)),
            timing=timing,
        )
        self.acquired_at: float | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self) -> Candidate:
        self.task = asyncio.create_task(self._acquire())
        return self

    async def _acquire(self) -> None:
        await self.elector.acquire()
        self.acquired_at = time.monotonic()

    @property
    def identity(self) -> str:
        return self.elector.identity


Candidates = Callable[..., Candidate]


@pytest.fixture
async def candidates(cluster: Cluster, namespace: str) -> AsyncIterator[Candidates]:
    made: list[Candidate] = []

    def make(who: str, timing: leader.Timing = FAST, kubeconfig: Path | None = None) -> Candidate:
        candidate = Candidate(kubeconfig or cluster.kubeconfig, namespace, who, timing)
        made.append(candidate)
        return candidate

    yield make
    for candidate in made:
        if candidate.task is not None:
            candidate.task.cancel()
        candidate.elector.close()  # stops renewing too
    await asyncio.sleep(0.05)  # the cancelled tasks end


def read_lease(api: k8s.ApiClient, namespace: str) -> k8s.V1Lease:
    return k8s.CoordinationV1Api(api).read_namespaced_lease(LEASE, namespace)


def holder(api: k8s.ApiClient, namespace: str) -> str:
    try:
        lease = read_lease(api, namespace)
    except k8s.ApiException as exc:
        if exc.status == 404:
            return ""
        raise
    return str((lease.spec.holder_identity if lease.spec else None) or "")


async def until(what: str, check: Callable[[], object], within: float) -> float:
    """Wait for ``check()`` without blocking the loop; returns when it became true."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic()


async def one_holds(pair: list[Candidate]) -> tuple[Candidate, Candidate]:
    await until("a candidate to hold the lease", lambda: any(c.acquired_at for c in pair), 10)
    [winner] = [c for c in pair if c.acquired_at]
    [other] = [c for c in pair if c is not winner]
    return winner, other


@pytest.mark.integration
async def test_of_two_candidates_exactly_one_holds_the_lease_and_the_other_waits(
    candidates: Candidates,
    kube_api: k8s.ApiClient,
    namespace: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=leader.__name__)
    pair = [candidates("a").start(), candidates("b").start()]  # the Lease does not exist yet
    winner, other = await one_holds(pair)
    await asyncio.sleep(3 * FAST.lease_seconds)  # renewed all along; the other keeps waiting
    assert other.acquired_at is None
    assert winner.elector.holding
    assert not other.elector.holding
    assert holder(kube_api, namespace) == winner.identity
    lease = read_lease(kube_api, namespace)
    assert lease.spec.lease_duration_seconds == FAST.lease_seconds
    renewed = datetime.now(UTC) - lease.spec.renew_time
    assert renewed < timedelta(seconds=FAST.retry_period + 1), "not renewed every retry period"
    assert winner.lost == other.lost == []
    waiting = [r.getMessage() for r in caplog.records if "waiting for the lease" in r.getMessage()]
    assert waiting == [f"waiting for the lease {namespace}/{LEASE} held by {winner.identity}"], (
        "logged once, not every retry"
    )


@pytest.mark.integration
async def test_a_release_hands_the_lease_over_within_a_retry_period(
    candidates: Candidates, kube_api: k8s.ApiClient, namespace: str
) -> None:
    first = candidates("first").start()
    await until("the first to hold it", lambda: first.acquired_at, 10)
    second = candidates("second").start()
    await asyncio.sleep(FAST.retry_period * 1.5)
    assert second.acquired_at is None
    await first.elector.release()
    released = time.monotonic()
    assert not first.elector.holding
    took = await until("the second to take it", lambda: second.acquired_at, 10) - released
    assert took <= FAST.retry_period + 0.5, f"{took:.2f} s after the release"
    assert holder(kube_api, namespace) == second.identity
    assert read_lease(kube_api, namespace).spec.lease_transitions == 1
    assert first.lost == second.lost == []


@pytest.mark.integration
async def test_a_holder_that_stops_renewing_loses_the_lease_after_its_duration(
    candidates: Candidates, kube_api: k8s.ApiClient, namespace: str
) -> None:
    killed = candidates("killed").start()
    await until("it to hold it", lambda: killed.acquired_at, 10)
    heir = candidates("heir").start()
    await asyncio.sleep(FAST.retry_period * 1.5)
    killed.elector.abandon()  # what kill -9 leaves: a Lease nobody renews, not released
    stopped = time.monotonic()
    took = await until("the heir to take it", lambda: heir.acquired_at, 15) - stopped
    # The last renewal was at most a retry period before the kill: not before the lease
    # duration after it, and soon after (the heir checks every retry period).
    low, high = FAST.lease_seconds - FAST.retry_period, FAST.lease_seconds + 2 * FAST.retry_period
    assert low <= took <= high + 1, f"taken {took:.2f} s after the holder stopped"
    assert holder(kube_api, namespace) == heir.identity
    assert killed.lost == [], "abandoned, not lost: a killed process notices nothing"


@pytest.mark.integration
async def test_a_holder_whose_lease_is_taken_gives_it_up_at_once(
    candidates: Candidates, kube_api: k8s.ApiClient, namespace: str
) -> None:
    victim = candidates("victim").start()
    await until("it to hold it", lambda: victim.acquired_at, 10)
    lease = read_lease(kube_api, namespace)
    lease.spec.holder_identity = "intruder"
    k8s.CoordinationV1Api(kube_api).replace_namespaced_lease(LEASE, namespace, lease)
    taken = time.monotonic()
    noticed = await until("it to give the lease up", lambda: victim.lost, 10) - taken
    assert noticed <= FAST.retry_period + 0.5
    [(_, reason)] = victim.lost
    assert reason == f"lost the lease {namespace}/{LEASE}: it is now held by intruder"
    assert not victim.elector.holding
    await asyncio.sleep(FAST.retry_period * 2)
    assert holder(kube_api, namespace) == "intruder", "it must not write the Lease again"


@pytest.mark.integration
async def test_a_holder_that_cannot_reach_the_api_gives_the_lease_up_before_anyone_takes_it(
    cluster: Cluster,
    candidates: Candidates,
    kube_api: k8s.ApiClient,
    namespace: str,
    tmp_path: Path,
) -> None:
    if blackhole.server_host(cluster.kubeconfig) != "127.0.0.1":
        pytest.skip("needs an API server whose certificate is valid for 127.0.0.1")
    with blackhole.Proxy(blackhole.upstream_of(cluster.kubeconfig)) as proxy:
        via = blackhole.kubeconfig_via(cluster.kubeconfig, proxy, tmp_path / "via.kubeconfig")
        cut_off = candidates("cut-off", kubeconfig=via).start()
        await until("it to hold it", lambda: cut_off.acquired_at, 10)
        other = candidates("other").start()
        await asyncio.sleep(FAST.retry_period * 1.5)
        proxy.black_hole()  # the open connection goes silent ...
        proxy.close()  # ... and new ones are refused
        gone = time.monotonic()
        await until("it to give the lease up", lambda: cut_off.lost, FAST.renew_deadline + 3)
        [(lost_at, reason)] = cut_off.lost
        assert "not renewed for" in reason
        assert lost_at - gone <= FAST.renew_deadline + 0.5
        await until("the other to take it", lambda: other.acquired_at, 15)
        assert other.acquired_at is not None
        assert other.acquired_at > lost_at, "taken over before the holder had given it up"
        assert holder(kube_api, namespace) == other.identity


@pytest.mark.integration
async def test_of_three_candidates_for_an_expired_lease_exactly_one_takes_it(
    candidates: Candidates, kube_api: k8s.ApiClient, namespace: str
) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = {
        "metadata": {"name": LEASE},
        "spec": {"holderIdentity": "ghost", "leaseDurationSeconds": 3, "renewTime": past},
    }
    k8s.CoordinationV1Api(kube_api).create_namespaced_lease(namespace, body)
    trio = [candidates(f"c{i}").start() for i in range(3)]
    # Each waits a lease duration from when it first saw the Lease, then all three write it
    # with the same resourceVersion: the API server takes one write.
    await until("a candidate to take it", lambda: any(c.acquired_at for c in trio), 10)
    await asyncio.sleep(2 * FAST.lease_seconds)
    holders = [c for c in trio if c.acquired_at]
    assert len(holders) == 1, [c.identity for c in holders]
    assert [c.elector.holding for c in trio].count(True) == 1
    assert holder(kube_api, namespace) == holders[0].identity
    assert read_lease(kube_api, namespace).spec.lease_transitions == 1


# --- astra-operator run, twice ------------------------------------------------------------

FAST_LEASE = {"ASTRA_LEADER_ELECTION": "on", "ASTRA_LEADER_LEASE_SECONDS": "5"}


def log_of(op: Operator) -> str:
    return op.log.read_text(errors="replace") if op.log.exists() else ""


def start(
    make_operator: Callable[..., Operator], who: str, env: dict[str, str], said: str
) -> tuple[Operator, int]:
    """An operator named ``who`` with its own log and liveness port, once its log says
    ``said``."""
    port = plane.free_port()
    liveness = f"--liveness=http://127.0.0.1:{port}/healthz"
    op = make_operator(log_name=f"{who}.log", args=(liveness,), POD_NAME=who, **env)
    wait_for(f"{who} to log {said!r}", lambda: said in log_of(op), timeout=30)
    return op, port


def probe(port: int) -> int | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
    except httpx.HTTPError:
        return None


def one_each(sim: Sim, names: list[str]) -> dict[str, int]:
    """How many databases the simulator holds for each name."""
    return {name: len(sim.databases(name)) for name in names}


@pytest.mark.integration
def test_two_processes_one_active_and_kill_9_hands_over(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
    kube_api: k8s.ApiClient,
    namespace: str,
) -> None:
    a, port_a = start(make_operator, "op-a", FAST_LEASE, "acquired the lease")
    b, port_b = start(make_operator, "op-b", FAST_LEASE, "waiting for the lease")
    assert holder(kube_api, namespace).startswith("op-a_")
    assert f"waiting for the lease {namespace}/{LEASE} held by op-a_" in log_of(b)
    assert log_of(b).count("waiting for the lease") == 1
    wait_for("the leader's liveness (kopf's)", lambda: probe(port_a) == 200)
    assert probe(port_b) == 200, "a standby must pass the chart's liveness and readiness probes"

    names = [f"db-{i}" for i in range(3)]
    for name in names:
        databases.apply(name, SERVERLESS)
    for name in names:
        databases.wait_condition(name, "Ready", "True", timeout=60)
    assert sim.count(CREATE) == len(names)
    standby_log = log_of(b)
    assert not [n for n in names if n in standby_log], "the standby reconciled"
    assert "Starting Kopf" not in standby_log, "the standby started kopf"
    assert "HTTP Request:" not in standby_log, "the standby called the DevOps API"
    requests = re.findall(r'"([A-Z]+) (\S+) HTTP/1.1"', standby_log)  # urllib3's, --verbose
    assert requests, "the standby's Kubernetes requests are not logged: the check is blind"
    assert [r for r in requests if f"/namespaces/{namespace}/leases/{LEASE}" not in r[1]] == []
    assert {method for method, _ in requests} == {"GET"}, "a standby only reads the Lease"

    databases.apply("before-kill", SERVERLESS)  # perhaps mid-create when the leader dies
    time.sleep(0.3)
    a.kill9()
    killed = time.monotonic()
    after = ["after-kill-1", "after-kill-2"]
    for name in after:
        databases.apply(name, SERVERLESS)
    wait_for("op-b to hold the lease", lambda: holder(kube_api, namespace).startswith("op-b_"))
    handover = time.monotonic() - killed
    print(f"kill -9: the standby holds the lease {handover:.1f} s later")
    assert handover < 30
    everything = [*names, "before-kill", *after]
    for name in everything:
        databases.wait_condition(name, "Ready", "True", timeout=60)
    assert one_each(sim, everything) == dict.fromkeys(everything, 1), "a duplicate or a loss"
    assert sim.count(CREATE) == len(everything)
    assert "acquired the lease" in log_of(b)
    assert probe(port_b) == 200  # kopf's endpoint now


@pytest.mark.integration
def test_sigterm_hands_over_at_once(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
    kube_api: k8s.ApiClient,
    namespace: str,
) -> None:
    env = {"ASTRA_LEADER_ELECTION": "on"}  # the default lease: 15 s, retry 2 s
    a, _ = start(make_operator, "op-a", env, "acquired the lease")
    databases.apply("first", SERVERLESS)
    databases.wait_condition("first", "Ready", "True", timeout=60)
    start(make_operator, "op-b", env, "waiting for the lease")
    assert a.proc is not None
    a.proc.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    wait_for("op-b to hold the lease", lambda: holder(kube_api, namespace).startswith("op-b_"))
    handover = time.monotonic() - stopped
    print(f"SIGTERM: the standby holds the lease {handover:.1f} s later")
    assert handover < 7.5, "a graceful stop must not wait out the 15 s lease"
    assert a.proc.wait(20) == 0
    a.proc = None
    assert f"released the lease {namespace}/{LEASE}" in log_of(a)
    databases.apply("second", SERVERLESS)  # reconciled by the new leader
    databases.wait_condition("second", "Ready", "True", timeout=60)
    assert one_each(sim, ["first", "second"]) == {"first": 1, "second": 1}
    assert sim.count(CREATE) == 2


@pytest.mark.integration
def test_a_standby_stops_at_once_and_a_leader_that_lost_the_lease_exits(
    make_operator: Callable[..., Operator],
    databases: Databases,
    kube_api: k8s.ApiClient,
    namespace: str,
) -> None:
    a, _ = start(make_operator, "op-a", FAST_LEASE, "acquired the lease")
    b, _ = start(make_operator, "op-b", FAST_LEASE, "waiting for the lease")
    assert b.proc is not None
    b.proc.send_signal(signal.SIGTERM)
    assert b.proc.wait(10) == 0
    b.proc = None
    assert f"stopped while waiting for the lease {namespace}/{LEASE}" in log_of(b)

    databases.apply("db", SERVERLESS)
    databases.wait_condition("db", "Ready", "True", timeout=60)
    lease = read_lease(kube_api, namespace)
    lease.spec.holder_identity = "intruder"  # as if another replica had taken it over
    k8s.CoordinationV1Api(kube_api).replace_namespaced_lease(LEASE, namespace, lease)
    taken = time.monotonic()
    assert a.proc is not None
    code = a.proc.wait(10)
    exited = time.monotonic() - taken
    a.proc = None
    assert code == 1
    assert exited < 3, f"it went on for {exited:.1f} s without the lease"
    text = log_of(a)
    assert f"lost the lease {namespace}/{LEASE}: it is now held by intruder" in text
    assert "exiting now so that nothing is reconciled without it" in text
    assert holder(kube_api, namespace) == "intruder"
