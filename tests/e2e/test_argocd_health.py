"""The ArgoCD health check (argocd/astra.operator.dev/AstraDatabase/health.lua), run by real Lua.

ArgoCD runs health checks in gopher-lua, a Lua 5.1; here lupa's bundled Lua 5.1 runs them, with
only the libraries ArgoCD opens for a custom check (base and table: no string, math, io, os).
The cases are argo-cd's own layout (health_test.yaml + testdata/, objects taken from a real
apiserver with the operator and simulator), so the directory can be proposed upstream as is.
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
CHECK = ARGOCD / "astra.operator.dev" / "AstraDatabase"
SCRIPT = (CHECK / "health.lua").read_text()
CASES: list[dict[str, Any]] = yaml.safe_load((CHECK / "health_test.yaml").read_text())["tests"]
STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}


def health(obj: dict[str, Any]) -> dict[str, str]:
    """Run the script as ArgoCD does: ``obj`` global in, a {status, message} table out."""
    runtime = lua51.LuaRuntime(register_eval=False, register_builtins=False)
    runtime.execute('debug.setmetatable("", nil)')  # no ("x"):upper() without the string lib
    env = runtime.globals()
    for library in ("string", "math", "io", "os", "debug", "coroutine", "python"):
        env[library] = None
    plain = json.loads(json.dumps(obj, default=str))  # what the apiserver's JSON would hold
    env.obj = runtime.table_from(plain, recursive=True)
    result = runtime.execute(SCRIPT)
    assert lua51.lua_type(result) == "table", f"the script returned {result!r}, not a table"
    return {key: result[key] for key in ("status", "message")}


@pytest.mark.parametrize("case", CASES, ids=[Path(c["inputPath"]).stem for c in CASES])
def test_fixture_gets_its_health(case: dict[str, Any]) -> None:
    obj = yaml.safe_load((CHECK / case["inputPath"]).read_text())
    got = health(obj)
    assert got == case["healthStatus"]
    # The file name says the expected status, independently of health_test.yaml.
    assert Path(case["inputPath"]).stem.split("_")[0] == got["status"].lower()


def test_every_fixture_has_a_case() -> None:
    listed = sorted(case["inputPath"] for case in CASES)
    assert listed == sorted(f"testdata/{p.name}" for p in (CHECK / "testdata").glob("*.yaml"))


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
def test_odd_status_never_breaks_the_script(status: dict[str, Any]) -> None:
    obj = {"metadata": {"name": "x", "generation": 1}, "status": status}
    assert health(obj)["status"] in STATUSES


def test_paused_wins_over_generation_and_conditions() -> None:
    obj = {
        "metadata": {"generation": 3, "annotations": {"astra.operator.dev/paused": "true"}},
        "status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}]},
    }
    assert health(obj)["status"] == "Suspended"


def test_argocd_cm_patch_holds_the_script_verbatim() -> None:
    patch = yaml.safe_load((ARGOCD / "argocd-cm.yaml").read_text())
    key = "resource.customizations.health.astra.operator.dev_AstraDatabase"
    assert patch["metadata"]["name"] == "argocd-cm"
    assert patch["data"][key] == SCRIPT, "argocd/argocd-cm.yaml is out of date with health.lua"
