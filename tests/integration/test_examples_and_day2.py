"""Every example converges to what its comments promise; day-2 changes. (The `dev` command:
test_dev.py.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import Kubectl
from tests.integration.conftest import Databases, Operator, Roles, Sim, wait_for

pytestmark = pytest.mark.integration

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"


def _kind(path: Path) -> str:
    return str(next(d for d in yaml.safe_load_all(path.read_text()) if d)["kind"])


ALL_EXAMPLES = sorted(EXAMPLES_DIR.glob("*.yaml"))
EXAMPLES = [p for p in ALL_EXAMPLES if _kind(p) == "AstraDatabase"]


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
    if "accessList" in spec:
        held = sim.api("GET", f"/v2/databases/{made['id']}/access-list").json()
        assert held["configurations"]["accessListEnabled"] == spec["accessList"]["enabled"]
        cidrs = {a["address"] for a in held["addresses"]}
        assert cidrs == {_cidr(a["address"]) for a in spec["accessList"]["addresses"]}


def _cidr(address: str) -> str:
    return address if "/" in address else f"{address}/32"


def test_every_example_is_applied_by_a_test() -> None:
    # AstraToken's: test_token_lifecycle.py::test_token_example_carries_the_role_example
    assert {_kind(p) for p in ALL_EXAMPLES} == {"AstraDatabase", "AstraRole", "AstraToken"}


def test_role_example_scopes_the_database_example(
    make_operator: Callable[..., Operator],
    roles: Roles,
    databases: Databases,
    sim: Sim,
    kubectl: Kubectl,
    namespace: str,
) -> None:
    make_operator()
    for path in ("database-serverless.yaml", "role-app-readers.yaml"):
        kubectl("apply", "-n", namespace, "-f", str(EXAMPLES_DIR / path))
    [doc] = [
        d for d in yaml.safe_load_all((EXAMPLES_DIR / "role-app-readers.yaml").read_text()) if d
    ]
    name = doc["metadata"]["name"]
    roles.wait_condition(name, "Ready", "True", "Available", timeout=60)
    status = roles.get(name)["status"]  # type: ignore[index]
    scope = doc["spec"]["resources"][0]
    database = databases.get(scope["databaseRef"]["name"])["status"]["databaseID"]  # type: ignore[index]
    assert any(
        d.endswith(f":db:{database}:keyspace:{scope['keyspace']}:table:{scope['table']}")
        for d in status["drns"]
    )
    [role] = [r for r in sim.admin("GET", "/_sim/state")["roles"] if r["ID"] == status["roleID"]]
    assert sorted(role["Policy"]["actions"]) == sorted(doc["spec"]["permissions"])


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
