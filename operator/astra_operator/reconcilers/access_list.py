"""A database's IP access list, kept as spec.accessList says (a step of the database manager).

Runs only on an ACTIVE database with nothing else to change. A steady database reads its list
from the organization's access lists (one list per credential per poll interval); it is read on
its own when missing there, and always right before a change. A token that may not read or write
access lists gets a condition naming the permission; the rest of the database is still managed.
"""

from __future__ import annotations

import dataclasses

from astra_operator.astra import errors, models
from astra_operator.logic import access_list as logic
from astra_operator.logic import conditions, failures
from astra_operator.reconcilers import engine
from astra_operator.resources import database as db

S = db.DatabaseSyncedReason
Pass = engine.Pass[db.AstraDatabaseSpec, db.AstraDatabaseStatus]


@dataclasses.dataclass(frozen=True)
class Result:
    """What the step leaves for the pass: a Synced update, and removals it held back."""

    synced: conditions.Update | None = None
    held: tuple[str, ...] = ()
    act: bool = False
    """Read from the organization's lists, the list needs a change: read directly, then act."""
    planned: str = ""
    """With ``act``: the change, in words."""


async def converge(p: Pass, token: str, db_id: str, *, direct: bool = True) -> Result:
    """Make Astra hold spec.accessList; record what it holds in status.accessList. With
    ``direct=False`` nothing is written: a needed change comes back as ``Result(act=True)``."""
    desired = p.obj.spec.access_list
    if desired is None:
        p.update(access_list=None)  # not managed: Astra's list is left alone
        return Result()
    try:
        p.action, p.what = "read_access_list", "read the access list"
        before = logic.observed(await _current(p, token, db_id, direct))
        p.update(access_list=before)
        hold = p.removals_held()
        plan = logic.plan(desired, before, removals=not hold)
        held = tuple(logic.held_back(desired, before)) if hold else ()
        if plan.empty:
            return Result(held=held)
        if not direct:
            return Result(act=True, planned=plan.describe())
        p.action, p.what = "write_access_list", f"access list: {plan.describe()}"
        _announce(p, before, plan)
        await _apply(p, token, db_id, desired.enabled, plan)
        p.action, p.what = "read_access_list", "read the access list"
        p.update(access_list=logic.observed(await _read(p, token, db_id)))
        return Result(held=held)
    except (errors.Unauthorized, errors.Forbidden) as exc:
        return Result(synced=_not_allowed(p, exc))


async def _current(p: Pass, token: str, db_id: str, direct: bool) -> models.AccessList | None:
    """The database's list: from the organization's lists when allowed and there, else read."""
    if not direct:
        lists = await p.listed("access-lists", lambda: p.astra.list_access_lists(token=token))
        for entry in lists or ():
            if entry.database_id == db_id:
                return entry
    return await _read(p, token, db_id)


async def _read(p: Pass, token: str, db_id: str) -> models.AccessList | None:
    try:
        return await p.astra.get_access_list(db_id, token=token)
    except errors.NotFound:  # the API's answer for a database that never had a list
        return None


async def _apply(p: Pass, token: str, db_id: str, enabled: bool, plan: logic.Plan) -> None:
    """Additions first, then changes and the flag, then removals (one per call): an address
    allowed both before and after is never refused in between."""
    astra = p.astra
    if plan.add:
        await astra.add_access_list_addresses(db_id, plan.add, token=token)
    if plan.update or plan.enable is not None:
        await astra.update_access_list(db_id, plan.update, enabled=enabled, token=token)
    for address in plan.remove:
        await astra.delete_access_list_address(db_id, address, token=token)


def _announce(p: Pass, before: db.ObservedAccessList, plan: logic.Plan) -> None:
    """A Warning when someone changed the list in Astra since the last look, else Normal."""
    last = p.obj.status.access_list
    db_id = p.status.database_id
    if last is not None and last != before:
        p.warn(
            "DriftReverted",
            f"The access list of database {db_id} was changed outside Kubernetes; setting it "
            f"back to spec.accessList: {plan.describe()}.",
        )
    else:
        p.event("AccessListUpdated", f"Access list of database {db_id}: {plan.describe()}.")


def _not_allowed(p: Pass, exc: errors.AstraError) -> conditions.Update:
    need = failures.PERMISSIONS[(p.area, p.action)]
    message = (
        f"Astra refused the token ({exc.status}) for the access list of database "
        f"{p.status.database_id}: the token's role needs the {need} permission to "
        f"{'read' if p.action == 'read_access_list' else 'change'} it. spec.accessList is not "
        "applied; everything else in the spec is."
    )
    p.warn_once(S.ACCESS_LIST_NOT_ALLOWED, message)
    return conditions.Update(engine.SYNCED, "False", S.ACCESS_LIST_NOT_ALLOWED, message)
