"""An export: manifests for many Astra databases and roles, and the YAML stream that holds them.

Each object's spec comes from ``specs``; this module filters (TERMINATING and TERMINATED
databases, built-in roles, repeats), names the objects (``names``), collects what is skipped
with its reason (never dropped silently) and renders the stream with its comment header.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime

import pydantic
import yaml

from astra_operator.astra import models
from astra_operator.logic import role as role_logic
from astra_operator.onboard import names, specs
from astra_operator.resources import common
from astra_operator.resources import database as db
from astra_operator.resources import role as rl


@dataclasses.dataclass(frozen=True)
class Manifest:
    """One object to apply."""

    kind: str
    name: str
    astra_name: str
    astra_id: str
    body: common.JsonDict


@dataclasses.dataclass(frozen=True)
class Skipped:
    """An Astra object not exported, and why."""

    what: str
    reason: str

    def __str__(self) -> str:
        return f"not exported: {self.what}: {self.reason}"


@dataclasses.dataclass(frozen=True)
class Export:
    """The manifests (databases, then roles, each sorted by name), what was skipped, notes."""

    manifests: tuple[Manifest, ...]
    skipped: tuple[Skipped, ...]
    notes: tuple[str, ...]

    def count(self, kind: str) -> int:
        return sum(1 for m in self.manifests if m.kind == kind)


def _manifest(
    kind: str,
    name: str,
    astra_name: str,
    astra_id: str,
    spec: pydantic.BaseModel,
    options: specs.Options,
) -> Manifest:
    body: common.JsonDict = {
        "apiVersion": common.API_VERSION,
        "kind": kind,
        "metadata": {"name": name, "namespace": options.namespace},
        "spec": spec.model_dump(mode="json", by_alias=True, exclude_unset=True),
    }
    return Manifest(kind, name, astra_name, astra_id, body)


def _database_manifests(
    databases: Iterable[models.Database], options: specs.Options, protected: frozenset[str]
) -> tuple[list[Manifest], list[Skipped]]:
    found: dict[str, db.AstraDatabaseSpec] = {}
    skipped = []
    for database in sorted(databases, key=lambda d: (d.creation_time or "", d.id)):
        what = f"database {database.info.name!r} ({database.id})"
        if database.id in found:
            skipped.append(Skipped(what, "listed twice; exported once"))
            continue
        if database.status.upper() in models.GONE_STATUSES:
            skipped.append(Skipped(what, f"it is {database.status}"))
            continue
        try:
            found[database.id] = specs.database_spec(
                database, options, protected=database.id in protected
            )
        except specs.UnexpressibleError as exc:
            skipped.append(Skipped(what, str(exc)))
    chosen = names.assign(((s.name or "", i) for i, s in found.items()), "db")
    manifests = [
        _manifest(db.KIND, chosen[i], s.name or "", i, s, options) for i, s in found.items()
    ]
    return sorted(manifests, key=lambda m: m.name), skipped


def _role_manifests(
    roles: Iterable[models.Role], org_id: str | None, options: specs.Options
) -> tuple[list[Manifest], list[Skipped], list[str]]:
    listed = list(roles)
    builtin = {r.id for r in listed if role_logic.is_builtin(r)}
    found: dict[str, rl.AstraRoleSpec] = {}
    skipped, notes = [], []
    for role in sorted((r for r in listed if r.id not in builtin), key=lambda r: r.id):
        what = f"role {role.name!r} ({role.id})"
        if role.id in found:
            skipped.append(Skipped(what, "listed twice; exported once"))
            continue
        try:
            found[role.id] = spec = specs.role_spec(role, org_id, options)
        except specs.UnexpressibleError as exc:
            skipped.append(Skipped(what, str(exc)))
            continue
        if spec.drns:
            notes.append(
                f"{what}: {len(spec.drns)} resource(s) kept verbatim in spec.drns (no scope gives"
                " them: another organization, or a keyspace or table without its parents)"
            )
    if builtin:
        notes.insert(
            0,
            f"{len(builtin)} built-in role(s) not exported: Astra's own roles cannot be adopted"
            " (an AstraToken names them with builtinRole)",
        )
    chosen = names.assign(((s.name or "", i) for i, s in found.items()), "role")
    manifests = [
        _manifest(rl.KIND, chosen[i], s.name or "", i, s, options) for i, s in found.items()
    ]
    return sorted(manifests, key=lambda m: m.name), skipped, notes


def export(
    databases: Iterable[models.Database],
    roles: Iterable[models.Role],
    *,
    org_id: str | None,
    options: specs.Options,
    protected: Iterable[str] = (),
) -> Export:
    """Manifests for ``databases`` (TERMINATING and TERMINATED ones skipped) and the custom
    ``roles`` (built-in ones left out, with a note). ``protected``: database IDs that get
    spec.deletionProtection."""
    db_manifests, db_skipped = _database_manifests(databases, options, frozenset(protected))
    role_manifests, role_skipped, notes = _role_manifests(roles, org_id, options)
    return Export(
        manifests=(*db_manifests, *role_manifests),
        skipped=(*db_skipped, *role_skipped),
        notes=tuple(notes),
    )


def header(*, source: str, when: datetime, result: Export, options: specs.Options) -> list[str]:
    """The comment lines at the top of the stream (without ``#``)."""
    lines = [
        f"astra-operator export: {result.count(db.KIND)} AstraDatabase and"
        f" {result.count(rl.KIND)} AstraRole for namespace {options.namespace}",
        f"from {source}",
        f"at {when.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "",
        "Applying this adopts each database and role by its Astra ID (spec.databaseID,",
        "spec.roleID) with deletionPolicy Retain. Every spec says what Astra has, so the",
        "operator finds nothing to change and writes nothing to Astra; deleting an object",
        "later leaves the Astra resource as it is.",
    ]
    if options.observe:
        lines += [
            "managementPolicy: Observe: the operator only reads and reports differences;",
            "set it to Full (or remove it) to let the operator manage.",
        ]
    if result.skipped or result.notes:
        lines.append("")
    return lines + [str(s) for s in result.skipped] + list(result.notes)


def render(result: Export, header_lines: Sequence[str]) -> str:
    """A multi-document YAML stream: the header as comments, then one document per object."""
    text = "".join(f"# {line}\n" if line else "#\n" for line in header_lines)
    for m in result.manifests:
        noun = "database" if m.kind == db.KIND else "role"
        text += f"---\n# Astra {noun} {m.astra_name!r} ({m.astra_id})\n"
        text += yaml.safe_dump(m.body, sort_keys=False, allow_unicode=True, width=100)
    return text
