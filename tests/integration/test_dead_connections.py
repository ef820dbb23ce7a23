"""A dead TCP path to the Kubernetes API must not stall the operator, nor keep it from exiting.

The operator reaches the API server through a loopback proxy (``blackhole.Proxy``). Once every
object is Ready, the proxy black-holes every open connection (no reset, no close: bytes just
stop) while new connections still work, as after a silent network or middlebox failure. Every
object must still notice a change made outside Kubernetes, a new object must still be seen
(kopf's watch must give up on its dead stream), and SIGTERM must stop the process within a
pod's default grace period even with threads stuck in socket reads.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Cluster
from tests.integration import blackhole
from tests.integration.conftest import Databases, Operator, Sim, wait_for

pytestmark = pytest.mark.integration

SERVERLESS = {"cloudProvider": "GCP", "region": "us-east1"}
COUNT = 5
REACT_WITHIN = 60.0
"""Seconds after the black-holing by which every object must reflect the change."""
GRACE_PERIOD = 30.0
"""A pod's default terminationGracePeriodSeconds."""
PROMPT_EXIT = 10.0
"""Well under the 15 s read timeout of the stuck calls: the exit must not wait for them."""


def test_black_holed_connections_stall_neither_reconciles_nor_shutdown(
    cluster: Cluster,
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
    tmp_path: Path,
) -> None:
    if blackhole.server_host(cluster.kubeconfig) != "127.0.0.1":
        pytest.skip(
            "kopf's own client ignores tls-server-name: this test needs an API server whose "
            "certificate is valid for 127.0.0.1 (the local control plane, kind)"
        )
    with blackhole.Proxy(blackhole.upstream_of(cluster.kubeconfig)) as proxy:
        via = blackhole.kubeconfig_via(cluster.kubeconfig, proxy, tmp_path / "proxied.kubeconfig")
        op = make_operator(kubeconfig=via)
        names = [f"db-{i}" for i in range(COUNT)]
        for name in names:
            databases.apply(name, SERVERLESS)
        for name in names:
            databases.wait_condition(name, "Ready", "True", timeout=60)
        ids = {name: sim.databases(name)[0]["id"] for name in names}
        time.sleep(3)  # a steady poll or two, so every pooled connection has been used

        frozen = proxy.black_hole()
        start = time.monotonic()
        assert frozen >= 2, f"expected kopf's watch and the client's connections; froze {frozen}"
        for name in names:
            sim.admin("POST", f"/_sim/databases/{ids[name]}/external", {"action": "terminate"})
        databases.apply("late", SERVERLESS)  # seen only once kopf re-opens its watch

        reacted = {}
        for name in names:
            left = max(start + REACT_WITHIN - time.monotonic(), 1.0)
            databases.wait_condition(name, "Ready", "False", "Terminated", timeout=left)
            reacted[name] = time.monotonic() - start
        left = max(start + REACT_WITHIN - time.monotonic(), 1.0)
        databases.wait_condition("late", "Ready", "True", timeout=left)
        reacted["late"] = time.monotonic() - start
        print(f"seconds after black-holing {frozen} connections: {reacted}")
        assert proxy.accepted > frozen, "the operator never opened a new connection"

        # Again, then SIGTERM while every object's next call is stuck on a dead connection.
        proxy.black_hole()
        stuck = wait_for("calls stuck", lambda: proxy.hanging() >= COUNT and proxy.hanging())
        exit_seconds = _sigterm(op)
        print(f"seconds from SIGTERM to exit with {stuck} requests stuck: {exit_seconds:.1f}")


def _sigterm(op: Operator) -> float:
    """Send SIGTERM, assert the process exits within the grace period, return how long it took."""
    assert op.proc is not None
    op.proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    try:
        op.proc.wait(GRACE_PERIOD)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the operator was still running {GRACE_PERIOD:.0f} s after SIGTERM")
    took = time.monotonic() - sent
    assert op.proc.returncode == 0, f"exit code {op.proc.returncode}"
    op.proc = None
    assert took < PROMPT_EXIT, f"the exit took {took:.1f} s: it waited for the stuck calls"
    return took
