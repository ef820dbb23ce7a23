"""Pure decisions for AstraRole: the Astra name, compiled resources (DRNs), the policy, drift.

Everything here is a function of its arguments: the reconciler looks up the referenced
AstraDatabases and the role in Astra, and asks this module what to send and what differs.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Final

from astra_operator.astra import models
from astra_operator.logic import conditions
from astra_operator.resources import common
from astra_operator.resources import role as rl

SYNCED: Final = common.ConditionType.SYNCED
S = rl.RoleSyncedReason
EFFECT: Final = "allow"
"""The only effect an Astra policy has."""


class UnresolvedDatabaseRefError(KeyError):
    """A databaseRef names an AstraDatabase whose database ID was not given."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = tuple(sorted(set(names)))
        super().__init__(*self.names)

    def __str__(self) -> str:
        listed = ", ".join(self.names)
        return f"no database ID known for the referenced AstraDatabase(s): {listed}"


def astra_name(spec: rl.AstraRoleSpec, metadata_name: str) -> str:
    """The role name in Astra: spec.name, or metadata.name when omitted."""
    return spec.name or metadata_name


def database_refs(spec: rl.AstraRoleSpec) -> tuple[str, ...]:
    """Names of the AstraDatabases the scopes reference, sorted, each once."""
    return tuple(sorted({s.database_ref.name for s in spec.resources if s.database_ref}))


def _scope_drns(scope: rl.RoleScope, org: str, database_ids: Mapping[str, str]) -> list[str]:
    """One scope's DRNs; a scope naming nothing (which the CRD's rules refuse) gives none."""
    if scope.organization is not None:
        return [org] if scope.organization else []
    db_id = database_ids[scope.database_ref.name] if scope.database_ref else scope.database_id
    if db_id is None:
        return []
    database = f"{org}:db:{db_id}"
    if scope.keyspace is None:
        return [database]
    keyspace = f"{database}:keyspace:{scope.keyspace}"
    if scope.table is None:
        return [database, keyspace]
    return [database, keyspace, f"{keyspace}:table:{scope.table}"]


def compile_drns(
    spec: rl.AstraRoleSpec, *, org_id: str, database_ids: Mapping[str, str]
) -> tuple[str, ...]:
    """The resources of the role's policy: each scope as DRNs, with the parents a keyspace or
    table scope needs, plus spec.drns verbatim; sorted, each once.

    ``database_ids`` maps AstraDatabase names to their Astra database IDs; raises
    :class:`UnresolvedDatabaseRefError` naming every referenced name it lacks.
    """
    missing = [name for name in database_refs(spec) if name not in database_ids]
    if missing:
        raise UnresolvedDatabaseRefError(missing)
    org = f"{rl.DRN_PREFIX}{org_id}"
    found = {drn for scope in spec.resources for drn in _scope_drns(scope, org, database_ids)}
    return tuple(sorted(found | set(spec.drns)))


def policy(spec: rl.AstraRoleSpec, drns: Iterable[str]) -> models.Policy:
    """The policy to send: the spec's permissions (sorted) on ``drns`` (sorted)."""
    return models.Policy(
        description=spec.description or "",
        resources=sorted(set(drns)),
        actions=sorted(set(spec.permissions)),
        effect=EFFECT,
    )


def role_request(
    spec: rl.AstraRoleSpec, metadata_name: str, drns: Iterable[str]
) -> models.RoleRequest:
    """The body of a role create (POST) or update (PUT, a full replace)."""
    return models.RoleRequest(name=astra_name(spec, metadata_name), policy=policy(spec, drns))


def _set_changes(what: str, want: Iterable[str], have: Iterable[str]) -> list[str]:
    wanted, present = set(want), set(have)
    added = [f"{what} {item} added" for item in sorted(present - wanted)]
    removed = [f"{what} {item} removed" for item in sorted(wanted - present)]
    return added + removed


def differences(
    *,
    name: str,
    description: str,
    permissions: Iterable[str],
    drns: Iterable[str],
    observed: models.Role,
) -> tuple[str, ...]:
    """What the role in Astra has that the desired one does not, one item per difference
    (order and repeats in lists do not count); empty when they agree.

    Items read as out-of-band changes: ``name 'x' (expected 'y')``, ``permission
    db-table-drop added``, ``resource drn:... removed``.
    """
    have = observed.policy or models.Policy()
    found = []
    if (observed.name or "") != name:
        found.append(f"name {observed.name or ''!r} (expected {name!r})")
    if have.description != description:
        found.append(f"description {have.description!r} (expected {description!r})")
    if have.effect.lower() != EFFECT:
        found.append(f"effect {have.effect!r} (expected {EFFECT!r})")
    found += _set_changes("permission", permissions, have.actions)
    found += _set_changes("resource", drns, have.resources)
    return tuple(found)


def is_builtin(role: models.Role) -> bool:
    """Whether ``role`` is one of Astra's built-in roles (which cannot be changed, deleted or
    adopted): it has a built-in name, or a resource written with Astra's ``__ORG_ID__``
    placeholder. AstraRole's rules refuse both for the roles this operator writes."""
    resources = role.policy.resources if role.policy else []
    return role.name in rl.BUILTIN_ROLE_NAMES or any(rl.ORG_ID_PLACEHOLDER in r for r in resources)


def same_name(name: str, roles: Iterable[models.Role]) -> list[str]:
    """IDs of the custom roles named ``name`` (for a create-pending marker's existing IDs)."""
    return sorted(r.id for r in roles if r.name == name and not is_builtin(r))


def pending_marker(
    spec: rl.AstraRoleSpec, metadata_name: str, now: datetime, existing: Iterable[str]
) -> common.CreatePending:
    """The record written before a create is sent; ``existing`` already carry the name."""
    return common.CreatePending(
        requested_at=now, name=astra_name(spec, metadata_name), existing_ids=tuple(sorted(existing))
    )


def pending_matches(
    marker: common.CreatePending, roles: Iterable[models.Role]
) -> list[models.Role]:
    """Roles the pending create may have made: exactly the marker's name, not among the IDs
    that had it before the request, not built-in. Excluding other objects' roles is the
    caller's part."""
    return [
        r
        for r in roles
        if r.name == marker.name and r.id not in marker.existing_ids and not is_builtin(r)
    ]


def adoption_problem(observed: models.Role) -> str | None:
    """Why the role named by spec.roleID cannot be adopted, or None when it can."""
    if is_builtin(observed):
        return (
            f"Role {observed.id} ({observed.name!r}) is an Astra built-in role: built-in roles"
            " cannot be changed, so they cannot be adopted. Remove spec.roleID from a new"
            " object to create a custom role instead."
        )
    return None


def waiting_for_databases(
    missing: Collection[str], without_id: Collection[str]
) -> conditions.Update:
    """Synced=False while referenced AstraDatabases are absent (``missing``) or have no
    status.databaseID yet (``without_id``)."""
    parts = [f"{name} (not found in this namespace)" for name in sorted(missing)]
    parts += [f"{name} (no status.databaseID yet)" for name in sorted(without_id)]
    message = (
        f"Waiting for AstraDatabase {', '.join(parts)}: the role is written to Astra once every"
        " database in spec.resources has an ID."
    )
    return conditions.Update(SYNCED, "False", S.WAITING_FOR_DATABASE, message)


def observed(
    status: rl.AstraRoleStatus,
    role: models.Role,
    *,
    org_id: str | None,
    drns: Iterable[str],
    now: datetime,
) -> rl.AstraRoleStatus:
    """Status fields after the role was read or written (conditions untouched): its ID and
    name in Astra, the organization, and the resources last sent (``drns``)."""
    return status.model_copy(
        update={
            "role_id": role.id,
            "role_name": role.name,
            "org_id": role.org_id or org_id or status.org_id,
            "drns": tuple(sorted(set(drns))),
            "last_observed_time": now,
        }
    )
