"""One Astra database or role to the AstraDatabase or AstraRole spec that adopts it as it is.

Each spec is filled from what Astra reports, so that the operator, adopting it, finds nothing
to change, and is built with the operator's own models (``model_validate``): what they refuse
is not exported. Decisions:

* ``spec.name`` is always the Astra name (metadata.name is a sanitized, maybe suffixed, form).
* ``deletionPolicy: Retain`` always; the ID is in ``spec.databaseID`` / ``spec.roleID``.
* A role's database scopes use ``databaseID``, never ``databaseRef``: always right, even for a
  database not exported, and the role never waits for an AstraDatabase.
* A role's resources become scopes (organization, database, keyspace, table), leaving out the
  parents the operator's compiler adds by itself; a resource a scope cannot give (another
  organization, a keyspace or table whose parents the role lacks, an unusual form) is kept
  verbatim in ``spec.drns``. Compiling the spec must give back exactly the role's resources.

What cannot be expressed raises :class:`UnexpressibleError`, whose text says why.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Final, get_args

import pydantic

from astra_operator.astra import models
from astra_operator.logic import role as role_logic
from astra_operator.resources import common
from astra_operator.resources import database as db
from astra_operator.resources import permissions as perms
from astra_operator.resources import role as rl

RETAIN: Final = "Retain"
OBSERVE: Final = "Observe"
_MANAGEMENT_POLICY: Final = "managementPolicy"
_RESERVED_KEYSPACES: Final = ("system", "dse")
_DB_ID: Final = re.compile(rl.DATABASE_ID_PATTERN)
_SCOPE_NAME: Final = re.compile(rl.SCOPE_NAME_PATTERN)
_SCOPE_KEYS: Final = ("db", "keyspace", "table")


class UnexpressibleError(ValueError):
    """The Astra object cannot be written as a spec the operator accepts; the text says why."""


@dataclasses.dataclass(frozen=True)
class Options:
    """What the user chose for every manifest."""

    namespace: str = "default"
    credentials_secret: str | None = None
    """spec.credentials.secretRef.name of every object (the operator's default when None)."""
    observe: bool = False
    """managementPolicy: Observe on every object."""


def observe_supported() -> bool:
    """Whether this operator's AstraDatabase and AstraRole specs have managementPolicy."""
    return all(
        any(f.alias == _MANAGEMENT_POLICY for f in model.model_fields.values())
        or "management_policy" in model.model_fields
        for model in (db.AstraDatabaseSpec, rl.AstraRoleSpec)
    )


def problems(exc: pydantic.ValidationError) -> str:
    """A validation error in one line, with the words of a pattern instead of the regex."""
    parts = []
    for error in exc.errors():
        where = "spec." + ".".join(str(p) for p in error["loc"])
        pattern = (error.get("ctx") or {}).get("pattern")
        message = common.PATTERN_MESSAGES.get(str(pattern), error["msg"]) if pattern else None
        parts.append(f"{where} {error['input']!r}: {message or error['msg']}")
    return "; ".join(parts)


def common_fields(astra_id_field: str, astra_id: str, options: Options) -> common.JsonDict:
    fields: common.JsonDict = {astra_id_field: astra_id, "deletionPolicy": RETAIN}
    if options.credentials_secret:
        fields["credentials"] = {"secretRef": {"name": options.credentials_secret}}
    if options.observe:
        fields[_MANAGEMENT_POLICY] = OBSERVE
    return fields


# --- databases ------------------------------------------------------------------------------


def _provider(database: models.Database) -> str:
    info = database.info
    found = info.cloud_provider or next(
        (dc.cloud_provider for dc in database.info.datacenters if dc.cloud_provider), None
    )
    provider = (found or "").upper()
    if provider not in get_args(db.CloudProvider):
        raise UnexpressibleError(
            f"its cloud provider {found!r} is not one AstraDatabase has (AWS, GCP, AZURE)"
        )
    for dc in database.info.datacenters:
        if dc.cloud_provider and dc.cloud_provider.upper() != provider:
            raise UnexpressibleError(
                f"its region {dc.region} is on {dc.cloud_provider}, not {provider}:"
                " spec.additionalRegions are on the primary region's cloud provider"
            )
    return provider


def _regions(database: models.Database) -> tuple[str, list[str]]:
    """The primary region (info.region) and the other datacenters' regions, sorted (every
    datacenter listed, as the operator compares them)."""
    primary = database.info.region
    if not primary:
        raise UnexpressibleError("Astra reports no primary region (info.region)")
    others = {dc.region for dc in database.info.datacenters if dc.region} - {primary}
    return primary, sorted(r for r in others if r)


def _tier_fields(database: models.Database) -> common.JsonDict:
    """tier, and capacityUnits (classic, over 1) or dbType (serverless vector)."""
    info = database.info
    tier, db_type = info.tier, info.db_type or None
    if tier not in get_args(db.Tier):
        raise UnexpressibleError(
            f"its tier {tier!r} is not one AstraDatabase has (serverless or a classic tier:"
            f" {', '.join(db.CLASSIC_TIERS)})"
        )
    fields: common.JsonDict = {"tier": tier}
    if db_type is not None and (db_type != "vector" or tier != db.SERVERLESS):
        raise UnexpressibleError(
            f"its dbType {db_type!r} on tier {tier} cannot be written (spec.dbType is vector,"
            " for serverless databases only)"
        )
    if db_type is not None:
        fields["dbType"] = db_type
    if tier != db.SERVERLESS and (info.capacity_units or 1) > 1:
        fields["capacityUnits"] = info.capacity_units
    return fields


def _keyspaces(database: models.Database) -> tuple[str, list[str]]:
    """The initial keyspace (info.keyspace) and the others of info.keyspaces (the list the
    operator compares spec.additionalKeyspaces with), sorted."""
    initial = database.info.keyspace
    if not initial:
        raise UnexpressibleError("Astra reports no initial keyspace (info.keyspace)")
    others = sorted(set(database.info.keyspaces) - {initial})
    reserved = [k for k in others if k in _RESERVED_KEYSPACES or k.startswith("system_")]
    if reserved:
        raise UnexpressibleError(
            f"its keyspace(s) {', '.join(reserved)} are names Cassandra reserves, which"
            " spec.additionalKeyspaces refuses"
        )
    return initial, others


def database_spec(
    database: models.Database, options: Options, *, protected: bool = False
) -> db.AstraDatabaseSpec:
    """The spec that adopts ``database`` as it is; raises :class:`UnexpressibleError`.

    ``protected`` sets spec.deletionProtection (Terraform's deletion_protection).
    """
    name = database.info.name
    if not name:
        raise UnexpressibleError("Astra reports no name")
    if not re.fullmatch(db.NAME_PATTERN, name):
        raise UnexpressibleError(
            f"its name cannot be a spec.name ({common.PATTERN_MESSAGES[db.NAME_PATTERN]})"
        )
    region, other_regions = _regions(database)
    keyspace, other_keyspaces = _keyspaces(database)
    data: common.JsonDict = {
        "name": name,
        "cloudProvider": _provider(database),
        "region": region,
        **_tier_fields(database),
        "keyspace": keyspace,
        **common_fields("databaseID", database.id, options),
    }
    if other_keyspaces:
        data["additionalKeyspaces"] = list(other_keyspaces)
    if other_regions:
        data["additionalRegions"] = list(other_regions)
    if protected:
        data["deletionProtection"] = True
    try:
        return db.AstraDatabaseSpec.model_validate(data)
    except pydantic.ValidationError as exc:
        raise UnexpressibleError(problems(exc)) from None


# --- roles ----------------------------------------------------------------------------------


def _scope_path(drn: str, org_id: str) -> tuple[str, ...] | None:
    """``()`` for the organization's DRN, ``(db,)``, ``(db, keyspace)``, ``(db, keyspace,
    table)`` for a scope's own DRN; None for anything a scope cannot give."""
    org = f"{rl.DRN_PREFIX}{org_id}"
    if drn == org:
        return ()
    if not drn.startswith(f"{org}:"):
        return None
    parts = drn[len(org) + 1 :].split(":")
    keys, values = parts[0::2], parts[1::2]
    if len(keys) != len(values) or tuple(keys) != _SCOPE_KEYS[: len(keys)]:
        return None
    if not _DB_ID.match(values[0]) or not all(_SCOPE_NAME.match(v) for v in values[1:]):
        return None
    return tuple(values)


def _scope(path: tuple[str, ...]) -> common.JsonDict:
    if not path:
        return {"organization": True}
    keys = ("databaseID", "keyspace", "table")
    return {key: value for key, value in zip(keys, path, strict=False)}


def scopes(drns: Iterable[str], org_id: str | None) -> tuple[list[common.JsonDict], list[str]]:
    """spec.resources entries and verbatim spec.drns that compile back to ``drns``.

    A keyspace or table DRN is a scope only when the role also has its parents (the compiler
    adds them); a parent another scope implies gets no entry of its own.
    """
    present = sorted(set(drns))
    paths = {d: _scope_path(d, org_id) if org_id else None for d in present}
    known = {p for p in paths.values() if p is not None}
    usable = {p for p in known if all(p[:i] in known for i in range(1, len(p)))}
    implied = {p[:i] for p in usable for i in range(1, len(p))}
    entries = [_scope(p) for p in sorted(usable - implied)]
    verbatim = [d for d, p in paths.items() if p is None or p not in usable]
    return entries, verbatim


def only_org(drns: Iterable[str]) -> str | None:
    """The organization ID all of ``drns`` name, when they name exactly one."""
    found = {
        d.removeprefix(rl.DRN_PREFIX).split(":", 1)[0] for d in drns if d.startswith(rl.DRN_PREFIX)
    }
    return found.pop() if len(found) == 1 else None


def _check_role(role: models.Role) -> models.Policy:
    name, policy = role.name or "", role.policy
    if not name or name != name.strip(" ") or not name.isprintable():
        raise UnexpressibleError(
            "its name cannot be a spec.name (1-100 printable characters, no space at either end)"
        )
    if policy is None:
        raise UnexpressibleError("Astra reports no policy")
    if policy.effect.lower() != role_logic.EFFECT:
        raise UnexpressibleError(f"its effect is {policy.effect!r}; AstraRole grants 'allow' only")
    unknown = sorted(set(policy.actions) - perms.ALL)
    if unknown:
        raise UnexpressibleError(
            f"its permission(s) {', '.join(unknown)} are not among those AstraRole accepts"
            " (resources/permissions.py)"
        )
    odd = [r for r in policy.resources if not r.startswith(rl.DRN_PREFIX)]
    if odd:
        raise UnexpressibleError(f"resource(s) {', '.join(odd)} do not start with {rl.DRN_PREFIX}")
    return policy


def role_spec(role: models.Role, org_id: str | None, options: Options) -> rl.AstraRoleSpec:
    """The spec that adopts ``role`` as it is; raises :class:`UnexpressibleError`.

    ``org_id`` is the organization the operator compiles scopes for (None: the one the role's
    resources name, if they name one).
    """
    policy = _check_role(role)
    org = org_id or only_org(policy.resources)
    entries, verbatim = scopes(policy.resources, org)
    if not entries:
        raise UnexpressibleError(
            "none of its resources is the organization, a database, keyspace or table of"
            f" organization {org}: spec.resources needs at least one"
        )
    data: common.JsonDict = {
        "name": role.name,
        "permissions": list(sorted(set(policy.actions))),
        "resources": list(entries),
        **common_fields("roleID", role.id, options),
    }
    if policy.description:
        data["description"] = policy.description
    if verbatim:
        data["drns"] = list(verbatim)
    try:
        spec = rl.AstraRoleSpec.model_validate(data)
    except pydantic.ValidationError as exc:
        raise UnexpressibleError(problems(exc)) from None
    compiled = role_logic.compile_drns(spec, org_id=org or "", database_ids={})
    if compiled != tuple(sorted(set(policy.resources))):
        raise UnexpressibleError(
            f"its spec would compile to other resources than it has ({', '.join(compiled)})"
        )
    return spec
