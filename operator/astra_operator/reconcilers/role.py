"""The AstraRole manager: what the engine asks of custom roles.

References: every ``databaseRef`` is resolved from the AstraDatabase's status in this
namespace; until each has an ID the role waits (Synced=False WaitingForDatabase) and nothing
is written to Astra. The engine wakes the role when a referenced database changes.
A role holds no data, so one deleted outside Kubernetes is created again; an out-of-band edit
is set back. Reading one role can need more permission than listing them (terraform-provider-
astra #101), so a refused GET falls back to the list.
"""

from __future__ import annotations

import contextlib
from typing import Final

from astra_operator.astra import errors, models
from astra_operator.logic import conditions
from astra_operator.logic import role as logic
from astra_operator.reconcilers import engine
from astra_operator.resources import common
from astra_operator.resources import database as db
from astra_operator.resources import role as rl

READY: Final = common.ConditionType.READY
R = common.ReadyReason
S = rl.RoleSyncedReason

Obj = engine.Managed[rl.AstraRoleSpec, rl.AstraRoleStatus]
Pass = engine.Pass[rl.AstraRoleSpec, rl.AstraRoleStatus]
Outcome = engine.Outcome[rl.AstraRoleStatus]

AVAILABLE: Final = conditions.Update(READY, "True", R.AVAILABLE, "The role matches the spec.")


def parse(body: object) -> Obj:
    """An AstraRole from its raw body (pydantic.ValidationError on a refused spec)."""
    return engine.parse(engine.as_mapping(body), rl.PLURAL, rl.AstraRoleSpec, rl.AstraRoleStatus)


def _drns(p: Pass) -> tuple[str, ...]:
    value = p.scratch.get("drns")
    return value if isinstance(value, tuple) else ()


def _org(p: Pass) -> str:
    return str(p.scratch.get("org") or "")


async def _read(p: Pass, token: str, role_id: str) -> models.Role:
    """GET the role; when the token may list but not read one, find it in the list."""
    p.action = "read"
    try:
        return await p.astra.get_role(role_id, token=token)
    except (errors.Unauthorized, errors.Forbidden):
        p.action = "list"
        for role in await p.astra.list_roles(token=token):
            if role.id == role_id:
                return role
        raise errors.NotFound(f"no role {role_id} in the list", status=404) from None


class RoleKind:
    """The engine's view of AstraRole."""

    info = engine.KindInfo(
        kind=rl.KIND, plural=rl.PLURAL, noun="role", id_field="role_id", id_label="roleID"
    )

    def adopt_id(self, spec: rl.AstraRoleSpec) -> str | None:
        return spec.role_id

    def unknown_ready(self, p: Pass) -> conditions.Update:
        if p.status.role_id is None:
            return conditions.Update(READY, "False", R.CREATING, "No role yet.")
        return conditions.Update(READY, "Unknown", R.UNAVAILABLE, "Not observed yet.")

    async def prepare(self, p: Pass, token: str) -> Outcome | None:
        p.area = "role"
        found, missing, without = await p.referenced(
            db.PLURAL, "databaseID", logic.database_refs(p.obj.spec)
        )
        if missing or without:
            update = logic.waiting_for_databases(missing, without)
            return p.outcome([update], p.config.poll_interval)
        org = await p.organization(token)
        p.scratch["org"] = org
        p.scratch["drns"] = logic.compile_drns(p.obj.spec, org_id=org, database_ids=found)
        return None

    async def same_name(self, p: Pass, token: str) -> list[str]:
        name = logic.astra_name(p.obj.spec, p.obj.ref.name)
        listed = await p.shared("roles", lambda: p.astra.list_roles(token=token))
        return logic.same_name(name, listed)

    def marker(self, p: Pass, existing: list[str]) -> common.CreatePending:
        return logic.pending_marker(p.obj.spec, p.obj.ref.name, p.now, existing)

    async def create(self, p: Pass, token: str) -> str:
        request = logic.role_request(p.obj.spec, p.obj.ref.name, _drns(p))
        role = await p.astra.create_role(request.name, request.policy, token=token)
        return role.id

    def created(self, p: Pass, new_id: str) -> Outcome:
        name = logic.astra_name(p.obj.spec, p.obj.ref.name)
        role = models.Role(id=new_id, name=name)
        p.status = logic.observed(p.status, role, org_id=_org(p), drns=_drns(p), now=p.now)
        p.event("Created", f"Created Astra role {name!r} ({new_id}).")
        return p.outcome([AVAILABLE, engine.SYNCED_OK], p.config.poll_interval)

    async def matching(self, p: Pass, token: str, marker: common.CreatePending) -> list[str]:
        roles = await p.astra.list_roles(token=token)
        return [r.id for r in logic.pending_matches(marker, roles)]

    async def verify(self, p: Pass, token: str, external_id: str) -> tuple[str, str] | None:
        try:
            role = await _read(p, token, external_id)
        except errors.NotFound:
            return S.ADOPTION_REFUSED, (
                f"No Astra role with ID {external_id} is visible to the token: check "
                "spec.roleID, and that the token's role may read roles (org-role-read)."
            )
        problem = logic.adoption_problem(role)
        return None if problem is None else (S.ADOPTION_REFUSED, problem)

    async def observe(self, p: Pass, token: str, external_id: str) -> Outcome:
        listed = await p.listed("roles", lambda: p.astra.list_roles(token=token))
        entry = next((r for r in listed or () if r.id == external_id), None)
        if entry is not None:
            _, found, held, drns = _plan(p, entry)
            if not found or p.observing:  # nothing to do: no request of its own
                return _matches(p, entry, external_id, held, drns, direct=False, drift=found)
        try:
            role = await _read(p, token, external_id)
        except errors.NotFound:
            raise engine.Missing("was deleted outside Kubernetes") from None
        request, found, held, drns = _plan(p, role)
        if p.observing:
            return _matches(p, role, external_id, held, drns, direct=True, drift=found)
        if found:
            p.action = "update"
            await p.astra.update_role(external_id, request.name, request.policy, token=token)
            _report_update(p, external_id, found)
            role = models.Role(id=external_id, name=request.name, org_id=role.org_id)
        return _matches(p, role, external_id, held, drns, direct=True)

    def steady(self, p: Pass) -> bool:
        return True

    def protected(self, obj: Obj) -> str | None:
        return None

    async def delete(self, p: Pass, token: str, external_id: str) -> Outcome:
        p.action = "delete"
        with contextlib.suppress(errors.NotFound):
            await p.astra.delete_role(external_id, token=token)
        p.event("Deleted", f"Deleted Astra role {external_id}.")
        return p.outcome([], 0, done=True)


def _plan(
    p: Pass, role: models.Role
) -> tuple[models.RoleRequest, tuple[str, ...], list[str], tuple[str, ...]]:
    """What the role should be (request), how it differs, what adoption holds back, and the
    resources compiled from the spec (plus held ones)."""
    spec, drns = p.obj.spec, _drns(p)
    permissions: tuple[str, ...] = tuple(spec.permissions)
    held = _held(p, role, permissions, drns) if p.removals_held() else []
    if held:  # keep what the adopted role has until removals are confirmed
        have = role.policy or models.Policy()
        permissions = tuple(sorted({*permissions, *have.actions}))
        drns = tuple(sorted({*drns, *have.resources}))
    request = logic.role_request(spec, p.obj.ref.name, drns)
    request = request.model_copy(
        update={"policy": request.policy.model_copy(update={"actions": list(permissions)})}
    )
    found = logic.differences(
        name=request.name,
        description=spec.description or "",
        permissions=permissions,
        drns=drns,
        observed=role,
    )
    return request, found, held, drns


def _matches(
    p: Pass,
    role: models.Role,
    external_id: str,
    held: list[str],
    drns: tuple[str, ...],
    *,
    direct: bool,
    drift: tuple[str, ...] = (),
) -> Outcome:
    """The role matches the spec (or was just updated to): status, Ready, Synced. Under
    managementPolicy Observe, Synced lists the ``drift`` instead."""
    p.status = logic.observed(p.status, role, org_id=_org(p), drns=drns, now=p.now)
    old = p.obj.status.condition(READY)
    if old is None or old.status != "True":
        p.event("Ready", f"The Astra role {external_id} matches the spec.")
    synced = p.adoption_pending(held) if held else engine.SYNCED_OK
    if p.observing:
        synced = p.drift_observed(drift)
    if direct:
        return p.outcome([AVAILABLE, synced], p.config.poll_interval)
    return p.quiet_outcome([AVAILABLE, synced])


def _held(
    p: Pass, role: models.Role, permissions: tuple[str, ...], drns: tuple[str, ...]
) -> list[str]:
    """What the adopted role has and the spec lacks (removed only once confirmed)."""
    have = role.policy or models.Policy()
    extra = [f"permission {a}" for a in sorted(set(have.actions) - set(permissions))]
    return extra + [f"resource {r}" for r in sorted(set(have.resources) - set(drns))]


def _report_update(p: Pass, role_id: str, found: tuple[str, ...]) -> None:
    """A spec (or referenced database) change is an update; anything else was drift."""
    spec_changed = p.obj.status.observed_generation != p.obj.generation or (
        tuple(p.obj.status.drns or ()) != _drns(p)
    )
    listed = "; ".join(found)
    if spec_changed:
        p.event("Updated", f"Updated Astra role {role_id} to the spec: {listed}.")
    else:
        p.warn("DriftReverted", f"Reverted out-of-band changes to Astra role {role_id}: {listed}.")


KIND: Final = RoleKind()
