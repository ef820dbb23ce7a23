"""The ArgoCD health checks (argocd/astra.operator.dev/<Kind>/health.lua), run by real Lua.

ArgoCD runs health checks in gopher-lua, a Lua 5.1; here lupa's bundled Lua 5.1 runs them, with
only the libraries ArgoCD opens for a custom check (base and table: no string, math, io, os).
The cases are argo-cd's own layout (health_test.yaml + testdata/), so each kind's directory can
be proposed upstream as is. AstraDatabase's objects were taken from a real apiserver with the
operator and simulator; AstraRole's were written in the same shape (and accepted by the CRD)
before the role reconciler existed: replace them with observed ones once it runs. AstraToken's
were taken from a real apiserver with the operator and simulator.
Needs the ``lupa`` package; skipped without it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

lua51 = pytest.importorskip("lupa.lua51", reason="lupa (Lua for Python) is not installed")

ARGOCD = REPO / "argocd"
GROUP = ARGOCD / "astra.operator.dev"
KINDS = ("AstraDatabase", "AstraRole", "AstraToken")
STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}


def _script(kind: str) -> str:
    return (GROUP / kind / "health.lua").read_text()


def _cases() -> list[Any]:
    """Every (kind, case) of every kind's health_test.yaml, with an id naming both."""
    found = []
    for kind in KINDS:
        listed = yaml.safe_load((GROUP / kind / "health_test.yaml").read_text())["tests"]
        found += [
            pytest.param(kind, case, id=f"{kind}-{Path(case['inputPath']).stem}") for case in listed
        ]
    return found


def health(obj: dict[str, Any], kind: str) -> dict[str, str]:
    """Run ``kind``'s script as ArgoCD does: ``obj`` global in, a {status, message} table out."""
    runtime = lua51.LuaRuntime(register_eval=False, register_builtins=False)
    runtime.execute('debug.setmetatable("", nil)')  # no ("x"):upper() without the string lib
    env = runtime.globals()
    for library in ("string", "math", "io", "os", "debug", "coroutine", "python"):
        env[library] = None
    plain = json.loads(json.dumps(obj, default=str))  # what the apiserver's JSON would hold
    env.obj = runtime.table_from(plain, recursive=True)
    result = runtime.execute(_script(kind))
    assert lua51.lua_type(result) == "table", f"the script returned {result!r}, not a table"
    return {key: result[key] for key in ("status", "message")}


def test_every_kind_with_a_check_is_tested() -> None:
    assert sorted(p.parent.name for p in GROUP.glob("*/health.lua")) == sorted(KINDS)


@pytest.mark.parametrize(("kind", "case"), _cases())
def test_fixture_gets_its_health(kind: str, case: dict[str, Any]) -> None:
    obj = yaml.safe_load((GROUP / kind / case["inputPath"]).read_text())
    assert obj["kind"] == kind
    got = health(obj, kind)
    assert got == case["healthStatus"]
    # The file name says the expected status, independently of health_test.yaml.
    assert Path(case["inputPath"]).stem.split("_")[0] == got["status"].lower()


@pytest.mark.parametrize("kind", KINDS)
def test_every_fixture_has_a_case(kind: str) -> None:
    cases = yaml.safe_load((GROUP / kind / "health_test.yaml").read_text())["tests"]
    listed = sorted(case["inputPath"] for case in cases)
    on_disk = sorted(f"testdata/{p.name}" for p in (GROUP / kind / "testdata").glob("*.yaml"))
    assert listed == on_disk


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "status",
    [
        {},
        {"conditions": []},
        {"conditions": [{"type": "Ready"}], "observedGeneration": 1},
        {"conditions": [{"type": "Synced", "status": "False"}], "observedGeneration": 1},
        {"conditions": [{"type": "Ready", "status": "Unknown"}], "observedGeneration": 1},
    ],
    ids=["empty", "no-conditions", "ready-without-status", "synced-without-reason", "unknown"],
)
def test_odd_status_never_breaks_the_script(status: dict[str, Any], kind: str) -> None:
    obj = {"metadata": {"name": "x", "generation": 1}, "status": status}
    assert health(obj, kind)["status"] in STATUSES


@pytest.mark.parametrize("kind", KINDS)
def test_paused_wins_over_generation_and_conditions(kind: str) -> None:
    obj = {
        "metadata": {"generation": 3, "annotations": {"astra.operator.dev/paused": "true"}},
        "status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}]},
    }
    assert health(obj, kind)["status"] == "Suspended"


def _role(ready: str, synced: str) -> dict[str, Any]:
    """An observed AstraRole whose conditions are written ``status/reason``."""
    conditions = []
    for type_, written in (("Ready", ready), ("Synced", synced)):
        status, _, reason = written.partition("/")
        conditions.append({"type": type_, "status": status, "reason": reason, "message": "m"})
    return {
        "metadata": {"generation": 1},
        "status": {"observedGeneration": 1, "conditions": conditions},
    }


@pytest.mark.parametrize(
    ("ready", "synced", "expected"),
    [
        pytest.param("True/Available", "True/ReconcileSuccess", "Healthy", id="available"),
        pytest.param("True/Available", "False/WaitingForDatabase", "Progressing", id="waiting"),
        pytest.param("False/Creating", "False/WaitingForDatabase", "Progressing", id="waiting-new"),
        pytest.param("True/Available", "False/ReconcileError", "Degraded", id="other-sync-failure"),
        pytest.param("True/Available", "False/ReconcilePaused", "Suspended", id="paused-by-reason"),
        pytest.param("False/Creating", "True/ReconcileSuccess", "Progressing", id="creating"),
        pytest.param("False/Deleting", "True/ReconcileSuccess", "Progressing", id="deleting"),
        pytest.param("False/Unavailable", "True/ReconcileSuccess", "Degraded", id="unavailable"),
        pytest.param("Unknown/Unavailable", "True/ReconcileSuccess", "Progressing", id="unknown"),
    ],
)  # fmt: skip
def test_role_health_rules(ready: str, synced: str, expected: str) -> None:
    assert health(_role(ready, synced), "AstraRole")["status"] == expected


@pytest.mark.parametrize(
    ("ready", "synced", "expected"),
    [
        pytest.param("True/Available", "True/ReconcileSuccess", "Healthy", id="available"),
        pytest.param("True/Available", "False/WaitingForRole", "Progressing", id="waiting"),
        pytest.param("False/Creating", "False/WaitingForRole", "Progressing", id="waiting-new"),
        pytest.param("True/Available", "False/SecretConflict", "Degraded", id="secret-conflict"),
        pytest.param("False/Creating", "False/RoleNotFound", "Degraded", id="role-not-found"),
        pytest.param("True/Available", "False/ReconcilePaused", "Suspended", id="paused-by-reason"),
        pytest.param("False/Creating", "True/ReconcileSuccess", "Progressing", id="creating"),
        pytest.param("Unknown/Unavailable", "True/ReconcileSuccess", "Progressing", id="unknown"),
    ],
)  # fmt: skip
def test_token_health_rules(ready: str, synced: str, expected: str) -> None:
    assert health(_role(ready, synced), "AstraToken")["status"] == expected


@pytest.mark.parametrize("kind", KINDS)
def test_argocd_cm_patch_holds_the_script_verbatim(kind: str) -> None:
    patch = yaml.safe_load((ARGOCD / "argocd-cm.yaml").read_text())
    key = f"resource.customizations.health.astra.operator.dev_{kind}"
    assert patch["metadata"]["name"] == "argocd-cm"
    assert patch["data"][key] == _script(kind), (
        f"argocd/argocd-cm.yaml is out of date with {kind}/health.lua"
    )
