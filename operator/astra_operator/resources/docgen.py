"""Render ``docs/resources.md``, the field reference, from the generated CRDs.

It reads the same structural schema the CRD carries, so every description, default, pattern
and CEL message in the reference is exactly what the apiserver and ``kubectl explain`` use.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from astra_operator.resources import common, crd

_INTRO = """\
# Custom resource reference

Every kind below is in API group `{group}`, version `{version}`, and namespaced.
`kubectl get astra` lists objects of all of them; `kubectl explain <kind>.spec` shows the same
descriptions as this page. Rules marked *on update* compare the new object with the stored one
(CEL transition rules); all rules are enforced by the kube-apiserver at `kubectl apply` time.
"""


def _dict(value: common.JsonValue) -> common.JsonDict:
    return value if isinstance(value, dict) else {}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n\n", "<br><br>").replace("\n", " ")


def _type_name(node: common.JsonDict) -> str:
    kind = str(node.get("type", "any"))
    if kind == "array":
        return "[]" + _type_name(_dict(node.get("items")))
    if kind == "object" and "additionalProperties" in node:
        return "map[string]" + _type_name(_dict(node["additionalProperties"]))
    return kind


def _rule_lines(node: common.JsonDict) -> list[str]:
    lines = []
    rules = node.get("x-kubernetes-validations")
    for rule in rules if isinstance(rules, list) else []:
        r = _dict(rule)
        when = " (on update)" if "oldSelf" in str(r.get("rule")) else ""
        lines.append(f"{r.get('message')}{when}")
    return lines


def _constraints(node: common.JsonDict) -> list[str]:
    facts = []
    if "enum" in node:
        facts.append("one of: " + ", ".join(f"`{v}`" for v in _list(node["enum"])))
    if "default" in node:
        facts.append(f"default: `{json.dumps(node['default'])}`")
    for key, label in (
        ("pattern", "pattern"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minimum", "minimum"),
        ("maximum", "maximum"),
        ("maxItems", "max items"),
    ):
        if key in node and not (key == "maxLength" and "enum" in node):
            facts.append(f"{label}: `{node[key]}`")
    if node.get("x-kubernetes-list-type") == "set":
        facts.append("items must be unique")
    return facts


def _list(value: common.JsonValue) -> list[common.JsonValue]:
    return value if isinstance(value, list) else []


def _fields(node: common.JsonDict, prefix: str) -> Iterator[tuple[str, common.JsonDict, bool]]:
    """(path, schema, required) of every property below ``node``, depth first."""
    required = set(map(str, _list(node.get("required"))))
    for name, sub in _dict(node.get("properties")).items():
        child = _dict(sub)
        path = f"{prefix}{name}"
        yield path, child, name in required
        if child.get("type") == "array":
            yield from _fields(_dict(child.get("items")), f"{path}[].")
        else:
            yield from _fields(child, f"{path}.")


def _field_table(node: common.JsonDict) -> list[str]:
    lines = ["| Field | Type | Description |", "| --- | --- | --- |"]
    for path, child, required in _fields(node, ""):
        items = _dict(child.get("items"))
        notes = _constraints(child) + [f"items: {n}" for n in _constraints(items)]
        notes += [f"rule: {r}" for r in _rule_lines(child)]
        notes += [f"items rule: {r}" for r in _rule_lines(items)]
        text = str(child.get("description", ""))
        if notes:
            text += "\n\n" + "; ".join(notes)
        kind = _type_name(child) + (", required" if required else "")
        lines.append(f"| `{path}` | {kind} | {_cell(text)} |")
    return lines


def _rules_section(title: str, node: common.JsonDict) -> list[str]:
    rules = _rule_lines(node)
    if not rules:
        return []
    return [f"Rules on {title}:", "", *(f"- {_cell(r)}" for r in rules), ""]


def _names_table(definition: crd.KindDefinition) -> list[str]:
    rows = [
        ("API version", f"`{definition.group}/{definition.version}`"),
        ("Plural / singular", f"`{definition.plural}` / `{definition.singular}`"),
        ("Short names", ", ".join(f"`{n}`" for n in definition.short_names) or "none"),
        ("Categories", ", ".join(f"`{c}`" for c in definition.categories) or "none"),
    ]
    return ["| | |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in rows), ""]


def _columns_table(definition: crd.KindDefinition) -> list[str]:
    lines = ["Columns of `kubectl get`:", "", "| Column | Value | Description |"]
    lines.append("| --- | --- | --- |")
    for column in definition.printer_columns:
        wide = " (only with `-o wide`)" if column.priority else ""
        lines.append(
            f"| {column.name} | `{_cell(column.json_path)}` | {column.description}{wide} |"
        )
    return [*lines, ""]


def _kind_section(definition: crd.KindDefinition, crd_object: common.JsonDict) -> list[str]:
    version = _dict(_list(_dict(crd_object.get("spec")).get("versions"))[0])
    root = _dict(_dict(version.get("schema")).get("openAPIV3Schema"))
    props = _dict(root.get("properties"))
    lines = [f"## {definition.kind}", "", definition.description, ""]
    lines += _names_table(definition) + _columns_table(definition)
    lines += _rules_section("the whole object", root)
    for part in ("spec", "status"):
        node = _dict(props.get(part))
        lines += [f"### {part}", "", _cell(str(node.get("description", ""))), ""]
        lines += _rules_section(f"`{part}`", node)
        lines += [*_field_table(node), ""]
    return lines


def render(kinds: Sequence[tuple[crd.KindDefinition, common.JsonDict]], *, command: str) -> str:
    """The markdown reference for ``kinds`` (each with its generated CRD)."""
    first = kinds[0][0]
    lines = [
        f"<!-- Generated by `{command}` from astra_operator.resources. Do not edit. -->",
        "",
        _INTRO.format(group=first.group, version=first.version),
    ]
    for definition, crd_object in kinds:
        lines += _kind_section(definition, crd_object)
    return "\n".join(lines).rstrip("\n") + "\n"
