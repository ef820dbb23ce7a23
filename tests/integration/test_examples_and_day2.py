"""Every example converges to what its comments promise; day-2 changes; the `dev` command."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import Databases, Operator, Sim, wait_for

pytestmark = pytest.mark.integration

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def _settled(databases: Databases, name: str, ready: str) -> bool:
    obj = databases.get(name) or {}
    status = obj.get("status", {})
    conds = {c["type"]: c for c in status.get("conditions", [])}
    return (
        status.get("observedGeneration") == obj["metadata"]["generation"]
        and conds.get("Synced", {}).get("status") == "True"
        and f"{conds.get('Ready', {}).get('status')}/{conds.get('Ready', {}).get('reason')}"
        == ready
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_converges(
    path: Path, make_operator: Callable[..., Operator], databases: Databases, sim: Sim
) -> None:
    make_operator()
    [doc] = [d for d in yaml.safe_load_all(path.read_text()) if d]
    name, spec = doc["metadata"]["name"], doc["spec"]
    databases.apply(name, spec)
    expected = "False/Parked" if spec.get("parked") else "True/Available"
    wait_for(f"{path.name} to converge", lambda: _settled(databases, name, expected), 60)
    [made] = sim.databases(spec.get("name", name))
    info = made["info"]
    assert set(spec.get("additionalKeyspaces", [])) <= set(info["keyspaces"])
    regions = {dc["region"] for dc in info["datacenters"]}
    assert regions == {spec["region"], *spec.get("additionalRegions", [])}
    if "capacityUnits" in spec:
        assert info["capacityUnits"] == spec["capacityUnits"]


def test_classic_database_resizes_in_steps_and_unparks(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    make_operator()
    databases.apply(
        "grow",
        {
            "cloudProvider": "AWS",
            "region": "us-east-2",
            "tier": "C10",
            "capacityUnits": 1,
            "parked": True,
        },
    )
    wait_for("parked", lambda: _settled(databases, "grow", "False/Parked"), 60)
    databases.patch("grow", {"spec": {"capacityUnits": 6, "parked": False}})
    wait_for(
        "6 units, active",
        lambda: (
            _settled(databases, "grow", "True/Available")
            and databases.get("grow")["status"]["capacityUnits"] == 6
        ),
        60,
    )  # type: ignore[index]
    assert sim.count("POST /v2/databases/{databaseId}/resize") == 2  # +3 at most per call
    reasons = [r for _, r, _ in databases.events("grow")]
    assert {"ParkRequested", "UnparkRequested", "ResizeRequested"} <= set(reasons)


def test_removing_a_keyspace_from_the_spec_never_drops_it(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    make_operator()
    databases.apply(
        "ks", {"cloudProvider": "GCP", "region": "us-east1", "additionalKeyspaces": ["audit"]}
    )
    wait_for(
        "keyspace added",
        lambda: "audit" in (databases.get("ks") or {}).get("status", {}).get("keyspaces", []),
        60,
    )
    databases.patch("ks", {"spec": {"additionalKeyspaces": None}})
    wait_for("generation observed", lambda: _settled(databases, "ks", "True/Available"))
    assert "audit" in sim.databases("ks")[0]["info"]["keyspaces"]
    assert sim.count("DELETE /v2/databases/{databaseId}/keyspaces/{keyspaceName}") == 0


@pytest.mark.usefixtures("cluster")
def test_dev_command_brings_up_everything_and_tears_it_down() -> None:
    """The README's main-job command, as a new user runs it (own control plane, simulator)."""
    result = subprocess.run(
        [sys.executable, "-m", "astra_operator.cli", "dev", "--exit-when-ready", "--timeout", "90"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every example is reconciled" in result.stdout
    assert "kubectl --kubeconfig" in result.stdout
    assert "control plane stopped" in result.stdout
    leftovers = subprocess.run(
        ["pgrep", "-f", "astra_operator.cli (simulate|run) .*--port 0 --quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert leftovers.stdout == ""
