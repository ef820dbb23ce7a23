"""crdgen: the committed CRDs and docs are current, structural, and the CLI checks drift.

Pure: generation runs in-process; files are written to pytest's tmp_path only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from astra_operator.resources import common, crdgen, database, role
from astra_operator.resources import crd as crdlib

REPO = Path(__file__).resolve().parents[2]
Node = dict[str, Any]


def _nodes(node: Node, path: str = "") -> Iterator[tuple[str, Node]]:
    """Every schema node below (and including) ``node``, with its path."""
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from _nodes(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from _nodes(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _nodes(node["additionalProperties"], f"{path}{{}}")


def _root(built: Node) -> Node:
    schema: Node = built["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


@pytest.fixture(scope="module", params=crdgen.KINDS, ids=lambda d: d.kind)
def definition(request: pytest.FixtureRequest) -> crdlib.KindDefinition:
    """Each kind in turn: the generic checks below hold for every CRD."""
    kind: crdlib.KindDefinition = request.param
    return kind


@pytest.fixture(scope="module")
def crd(definition: crdlib.KindDefinition) -> Node:
    built: Node = crdgen.build_crd(definition)
    return built


@pytest.fixture(scope="module")
def root(crd: Node) -> Node:
    return _root(crd)


@pytest.fixture(scope="module")
def database_crd() -> Node:
    built: Node = crdgen.build_crd(database.DEFINITION)
    return built


@pytest.fixture(scope="module")
def role_crd() -> Node:
    built: Node = crdgen.build_crd(role.DEFINITION)
    return built


def test_committed_files_are_current() -> None:
    files = crdgen.generated_files(REPO / "crds", REPO / "docs" / "resources.md")
    problems = crdgen.check(files, REPO / "crds")
    assert not problems, f"{problems}: regenerate with `{crdgen.REGENERATE}` and commit"


def test_committed_crd_parses_to_the_built_object(
    definition: crdlib.KindDefinition, crd: Node
) -> None:
    assert yaml.safe_load((REPO / "crds" / definition.file_name).read_text()) == crd


def test_kinds_are_distinct() -> None:
    for attribute in ("kind", "plural", "file_name"):
        values = [getattr(d, attribute) for d in crdgen.KINDS]
        assert len(set(values)) == len(values), attribute
    shorts = [s for d in crdgen.KINDS for s in d.short_names]
    assert len(set(shorts)) == len(shorts)


def test_every_kind_is_namespaced_versioned_with_status(crd: Node) -> None:
    spec = crd["spec"]
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["categories"] == [common.CATEGORY]
    (version,) = spec["versions"]
    assert version["subresources"] == {"status": {}}
    assert (version["served"], version["storage"]) == (True, True)
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert {"READY", "SYNCED"} <= set(columns)
    assert columns[-1] == "AGE"


def test_database_names_scope_and_subresources(database_crd: Node) -> None:
    crd = database_crd
    spec = crd["spec"]
    assert crd["metadata"] == {"name": "astradatabases.astra.operator.dev"}
    assert spec["group"] == database.GROUP == "astra.operator.dev"
    assert spec["scope"] == "Namespaced"
    assert spec["names"] == {
        "kind": "AstraDatabase",
        "listKind": "AstraDatabaseList",
        "plural": "astradatabases",
        "singular": "astradatabase",
        "shortNames": ["adb"],
        "categories": ["astra"],
    }
    (version,) = spec["versions"]
    assert version["name"] == database.VERSION == "v1alpha1"
    assert version["subresources"] == {"status": {}}
    assert version["served"] is True
    assert version["storage"] is True


def test_role_names(role_crd: Node) -> None:
    assert role_crd["metadata"] == {"name": "astraroles.astra.operator.dev"}
    assert role_crd["spec"]["names"] == {
        "kind": "AstraRole",
        "listKind": "AstraRoleList",
        "plural": "astraroles",
        "singular": "astrarole",
        "shortNames": ["arole"],
        "categories": ["astra"],
    }


def test_role_printer_columns(role_crd: Node) -> None:
    columns = role_crd["spec"]["versions"][0]["additionalPrinterColumns"]
    by_name = {c["name"]: c for c in columns}
    assert [c["name"] for c in columns if "priority" not in c] == ["READY", "SYNCED", "ROLE", "AGE"]
    assert by_name["ROLE"]["jsonPath"] == ".status.roleName"
    assert (by_name["ID"]["jsonPath"], by_name["ID"]["priority"]) == (".status.roleID", 1)


def test_database_printer_columns(database_crd: Node) -> None:
    columns = database_crd["spec"]["versions"][0]["additionalPrinterColumns"]
    by_name = {c["name"]: c for c in columns}
    assert [c["name"] for c in columns if "priority" not in c] == [
        "PHASE", "READY", "SYNCED", "TIER", "REGION", "AGE"
    ]  # fmt: skip
    assert by_name["READY"]["jsonPath"] == '.status.conditions[?(@.type=="Ready")].status'
    assert by_name["SYNCED"]["jsonPath"] == '.status.conditions[?(@.type=="Synced")].status'
    assert by_name["TIER"]["jsonPath"] == ".spec.tier"
    assert by_name["AGE"]["type"] == "date"


def test_schema_is_structural(root: Node) -> None:
    for path, node in _nodes(root):
        assert not {"$ref", "$defs", "anyOf", "allOf", "oneOf", "not", "const"} & node.keys(), path
        assert "title" not in node, path
        assert node.get("additionalProperties") is not False, path
        assert "default" not in node or node["default"] is not None, path
        assert isinstance(node.get("type"), str), f"{path} has no single type"
        if "properties" in node:
            assert node["type"] == "object", path


def test_every_field_is_described(root: Node) -> None:
    undescribed = [
        path
        for path, node in _nodes(root)
        if path and not path.endswith("[]") and not node.get("description")
    ]
    assert undescribed == [".metadata"]


def test_cel_inputs_are_bounded(root: Node) -> None:
    """Strings and lists under spec carry maxLength/maxItems, keeping CEL cost estimates low."""
    spec = root["properties"]["spec"]
    for path, node in _nodes(spec):
        if node["type"] == "string":
            assert "maxLength" in node, path
        if node["type"] == "array":
            assert "maxItems" in node, path


def test_every_rule_has_a_message(root: Node) -> None:
    rules = [r for _, n in _nodes(root) for r in n.get("x-kubernetes-validations", [])]
    assert len(rules) >= 8
    for rule in rules:
        assert rule["message"], rule
        assert rule["rule"], rule


def test_status_has_no_preserve_unknown_except_kopf(root: Node) -> None:
    status = root["properties"]["status"]
    loose = [p for p, n in _nodes(status) if n.get("x-kubernetes-preserve-unknown-fields")]
    assert loose == [".kopf"]


def test_conditions_are_a_map_keyed_by_type(root: Node) -> None:
    conditions = root["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert conditions["items"]["required"] == ["type", "status", "reason", "lastTransitionTime"]


def test_docs_carry_the_descriptions() -> None:
    docs = (REPO / "docs" / "resources.md").read_text()
    for definition in crdgen.KINDS:
        assert f"## {definition.kind}" in docs
    assert "each drns entry must start with drn:astra:org:" in docs
    assert "| `spec.deletionPolicy` |" not in docs  # paths are relative to spec/status
    assert "| `deletionPolicy` | string |" in docs
    assert "capacityUnits cannot decrease" in docs
    assert common.GROUP in docs


def test_check_reports_missing_then_passes_after_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--output", str(tmp_path / "crds"), "--docs", str(tmp_path / "resources.md")]
    assert crdgen.main([*args, "--check"]) == 1
    err = capsys.readouterr().err
    for definition in crdgen.KINDS:
        assert f"{definition.file_name} is missing" in err
    assert "regenerate with: astra-operator crds" in err
    assert crdgen.main(args) == 0
    assert crdgen.main([*args, "--check"]) == 0
    assert crdgen.main(args) == 0
    assert "wrote" not in capsys.readouterr().out.splitlines()[-1]  # nothing rewritten


def test_check_reports_edits_and_leftovers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "crds"
    args = ["--output", str(out), "--docs", str(tmp_path / "resources.md")]
    assert crdgen.main(args) == 0
    (out / "astra.operator.dev_astradatabases.yaml").write_text("edited\n")
    (out / "astra.operator.dev_gone.yaml").write_text("old kind\n")
    (out / "unrelated.yaml").write_text("kept\n")
    assert crdgen.main([*args, "--check"]) == 1
    err = capsys.readouterr().err
    assert "astradatabases.yaml is out of date" in err
    assert "astra.operator.dev_gone.yaml is not generated by any kind" in err
    assert crdgen.main(args) == 0
    assert not (out / "astra.operator.dev_gone.yaml").exists()
    assert (out / "unrelated.yaml").exists()
    assert crdgen.main([*args, "--check"]) == 0


def test_output_is_deterministic(definition: crdlib.KindDefinition) -> None:
    """Other processes, with other hash seeds (set iteration order), render the same bytes."""
    code = (
        "import sys\nfrom astra_operator.resources import crdgen\n"
        f"[d] = [k for k in crdgen.KINDS if k.kind == {definition.kind!r}]\n"
        "sys.stdout.write(crdgen.render_crd(d))"
    )
    here = crdgen.render_crd(definition)
    assert here.startswith("# Generated by `astra-operator crds`")
    for seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        other = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert other.stdout == here
