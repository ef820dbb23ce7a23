"""PCU-group endpoints (spec v2.3.0): get, create, update, delete, park, unpark, associations.

None of them names a permission in the spec; ours are in ``docs/simulator-admin-api.md``. Their
errors are DevOps ``Errors`` bodies, a missing permission is 403 (the spec lists no 401 here).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from astra_operator.simulator import catalog, guards, ids, lifecycle, model, pcu, wire
from astra_operator.simulator.pipeline import Call, Route
from astra_operator.simulator.timing import Phase
from astra_operator.simulator.world import World

PROVISION_TYPES = ("shared", "dedicated")


def _stamp(call: Call) -> str:
    return ids.rfc3339(call.world.wall())


def _group(call: Call, uuid: str, missing: int = 404) -> pcu.PcuGroup:
    group = call.world.pcu_group(uuid)
    if group is None:
        raise wire.ApiError(missing, f"PCU group {uuid} not found")
    return group


def _one_item(raw: object) -> dict[str, Any]:
    """The body of create and update: an array of exactly one object (the spec's min/maxItems)."""
    if not isinstance(raw, list) or len(raw) != 1:
        raise wire.ApiError(400, "the body must be a JSON array with exactly one PCU group")
    return guards.json_object(raw[0], "a PCU group")


def _count(body: dict[str, Any], key: str) -> int:
    value = guards.integer(body, key)
    if value < 0:
        raise wire.ApiError(400, f"{key} must not be negative")
    return value


def _settings(body: dict[str, Any]) -> dict[str, Any]:
    """The fields create and update share, checked."""
    provision = guards.text(body, "provisionType")
    if provision not in PROVISION_TYPES:
        raise wire.ApiError(400, "provisionType must be shared or dedicated")
    low, high, reserved = _count(body, "min"), _count(body, "max"), _count(body, "reserved")
    if low > high:
        raise wire.ApiError(400, "min must not be greater than max")
    description = body.get("description") or ""
    if not isinstance(description, str):
        raise wire.ApiError(400, "description must be a string")
    return {
        "title": guards.text(body, "title"),
        "instance_type": guards.text(body, "instanceType"),
        "provision_type": provision,
        "min": low,
        "max": high,
        "reserved": reserved,
        "description": description,
    }


def _place(body: dict[str, Any]) -> tuple[str, str]:
    provider = guards.text(body, "cloudProvider").upper()
    region = guards.text(body, "region")
    if provider not in catalog.PROVIDERS:
        raise wire.ApiError(400, "unsupported cloud provider")
    if catalog.find_region(provider, region) is None:
        raise wire.ApiError(400, "unsupported region")
    return provider, region


def _provision(world: World, group: pcu.PcuGroup) -> None:
    """CREATED -> INITIALIZING -> ACTIVE, as long as a database's PENDING and INITIALIZING."""
    timing = world.timing
    group.schedule(
        world.now(),
        [
            ("CREATED", timing.seconds(Phase.PENDING), None),
            ("INITIALIZING", timing.seconds(Phase.INITIALIZING), None),
            ("ACTIVE", 0.0, None),
        ],
    )


# --- groups ---------------------------------------------------------------------------------------


async def get_groups(call: Call) -> web.StreamResponse:
    """``POST /v2/pcus/actions/get``: the groups named in ``pcuGroupUUIDs``, or all of them.

    No body, ``{}`` or an empty list: every group. Unknown ids are left out.
    """
    raw = await call.body()
    body = guards.json_object({} if raw is None else raw)
    wanted = body.get("pcuGroupUUIDs")
    if wanted is not None and (
        not isinstance(wanted, list) or not all(isinstance(u, str) for u in wanted)
    ):
        raise wire.ApiError(400, "pcuGroupUUIDs must be an array of strings")
    world = call.world
    uuids = wanted or list(world.pcus)
    groups = [g for g in (world.pcu_group(u) for u in dict.fromkeys(uuids)) if g is not None]
    return wire.ok([g.as_json() for g in groups])


async def create_group(call: Call) -> web.StreamResponse:
    """``POST /v2/pcus`` with one group: 201 and the created group (in an array)."""
    body = _one_item(await call.body())
    provider, region = _place(body)
    settings = _settings(body)
    world, stamp, who = call.world, _stamp(call), call.token.client_id
    group = pcu.PcuGroup(
        uuid=world.ids.uuid(),
        org_id=world.org_id,
        provider=provider,
        region=region,
        created_at=stamp,
        created_by=who,
        updated_at=stamp,
        updated_by=who,
        **settings,
    )
    world.pcus[group.uuid] = group
    _provision(world, group)
    return wire.ok([group.as_json()], 201)


async def update_group(call: Call) -> web.StreamResponse:
    """``PUT /v2/pcus`` with one group: 200 and the updated group; it cannot move."""
    body = _one_item(await call.body())
    group = _group(call, guards.text(body, "pcuGroupUUID"))
    provider, region = _place(body)
    if (provider, region) != (group.provider, group.region):
        raise wire.ApiError(400, "a PCU group cannot change cloud provider or region")
    for name, value in _settings(body).items():
        setattr(group, name, value)
    group.updated_at, group.updated_by = _stamp(call), call.token.client_id
    return wire.ok([group.as_json()])


def _live_associations(world: World, group: pcu.PcuGroup) -> list[pcu.Association]:
    """Associations whose datacenter still exists (a terminated database's are dropped)."""
    gone = [dc for dc in group.associations if world.find_datacenter(dc) is None]
    for dc in gone:
        del group.associations[dc]
    return list(group.associations.values())


async def delete_group(call: Call) -> web.StreamResponse:
    """``DELETE /v2/pcus/{pcuGroupUUID}``: 200; refused (400) while datacenters are in it."""
    group = _group(call, call.param("pcuGroupUUID"))
    if _live_associations(call.world, group):
        raise wire.ApiError(400, "the PCU group still has datacenters: remove them first")
    del call.world.pcus[group.uuid]
    return wire.empty(200)


def _members(world: World, group: pcu.PcuGroup) -> list[model.Database]:
    found = (world.find_datacenter(a.datacenter_id) for a in _live_associations(world, group))
    return list({pair[0].id: pair[0] for pair in found if pair is not None}.values())


async def park_group(call: Call) -> web.StreamResponse:
    """``POST /v2/pcus/park/{uuid}``: 200; PARKING -> PARKED, its ACTIVE databases hibernate."""
    world = call.world
    group = _group(call, call.param("pcuGroupUUID"), missing=400)
    if group.status != "ACTIVE":
        raise wire.ApiError(400, f"the PCU group is {group.status}: only an ACTIVE one parks")
    timing, now = world.timing, world.now()
    group.schedule(now, [("PARKING", timing.seconds(Phase.PARKING), None), ("PARKED", 0.0, None)])
    for db in _members(world, group):
        if db.status == "ACTIVE":
            lifecycle.hibernate(db, timing, now)
    return wire.empty(200)


async def unpark_group(call: Call) -> web.StreamResponse:
    """``POST /v2/pcus/unpark/{uuid}``: 200; UNPARKING -> ACTIVE, its databases resume."""
    world = call.world
    group = _group(call, call.param("pcuGroupUUID"), missing=400)
    if group.status != "PARKED":
        raise wire.ApiError(400, f"the PCU group is {group.status}: only a PARKED one unparks")
    timing, now = world.timing, world.now()
    stages: list[model.Stage] = [
        ("UNPARKING", timing.seconds(Phase.UNPARKING), None),
        ("ACTIVE", 0.0, None),
    ]
    group.schedule(now, stages)
    for db in _members(world, group):
        if db.status in ("HIBERNATING", "HIBERNATED"):
            lifecycle.resume(db, timing, now)
    return wire.empty(200)


# --- associations ---------------------------------------------------------------------------------


async def list_associations(call: Call) -> web.StreamResponse:
    """``GET /v2/pcus/association/{uuid}``: the group's datacenters."""
    group = _group(call, call.param("pcuGroupUUID"))
    associations = _live_associations(call.world, group)
    return wire.ok([group.association_json(a) for a in associations])


def _check_fits(group: pcu.PcuGroup, dc: model.Datacenter, status: int) -> None:
    if (dc.provider, dc.region) != (group.provider, group.region):
        raise wire.ApiError(
            status,
            f"datacenter {dc.id} is in {dc.provider} {dc.region}, "
            f"the PCU group in {group.provider} {group.region}",
        )


def associate(call: Call, group: pcu.PcuGroup, dc_id: str) -> None:
    """Put a datacenter in ``group`` (also used by database creation with ``pcuGroupUUID``)."""
    stamp, who = _stamp(call), call.token.client_id
    group.associations[dc_id] = pcu.Association(dc_id, stamp, who, stamp, who)


async def create_association(call: Call) -> web.StreamResponse:
    """``POST /v2/pcus/association/{uuid}/{datacenterUUID}``: 201; 400 if it is in another."""
    world = call.world
    group = _group(call, call.param("pcuGroupUUID"))
    dc_id = call.param("datacenterUUID")
    found = world.find_datacenter(dc_id)
    if found is None:
        raise wire.ApiError(404, f"datacenter {dc_id} not found")
    _check_fits(group, found[1], 400)
    current = world.pcu_group_of(dc_id)
    if current is not None and current is not group:
        raise wire.ApiError(
            400, f"datacenter {dc_id} is in PCU group {current.uuid}: transfer it instead"
        )
    if current is None:
        associate(call, group, dc_id)
    return wire.empty(201)


async def delete_association(call: Call) -> web.StreamResponse:
    """``DELETE /v2/pcus/association/{uuid}/{datacenterUUID}``: 200; 404 if not associated."""
    group = _group(call, call.param("pcuGroupUUID"))
    dc_id = call.param("datacenterUUID")
    if group.associations.pop(dc_id, None) is None:
        raise wire.ApiError(404, f"datacenter {dc_id} is not in PCU group {group.uuid}")
    return wire.empty(200)


async def transfer_association(call: Call) -> web.StreamResponse:
    """``POST /v2/pcus/association/transfer``: 202; every problem is 400 (the spec has no 404)."""
    body = guards.json_object(await call.body())
    source = _group(call, guards.text(body, "fromPCUGroupUUID"), missing=400)
    target = _group(call, guards.text(body, "toPCUGroupUUID"), missing=400)
    dc_id = guards.text(body, "datacenterUUID")
    found = call.world.find_datacenter(dc_id)
    association = source.associations.get(dc_id)
    if found is None or association is None:
        raise wire.ApiError(400, f"datacenter {dc_id} is not in PCU group {source.uuid}")
    _check_fits(target, found[1], 400)
    del source.associations[dc_id]
    association.updated_at, association.updated_by = _stamp(call), call.token.client_id
    target.associations[dc_id] = association
    return wire.empty(202)


_VIEW, _CHANGE, _SUSPEND = "org-db-view", "org-db-create", "org-db-suspend"
_PCU = "/v2/pcus"
_ASSOCIATION = f"{_PCU}/association"
ROUTES = [
    Route("POST", f"{_PCU}/actions/get", get_groups, _VIEW, denied=403),
    Route("POST", _PCU, create_group, _CHANGE, denied=403),
    Route("PUT", _PCU, update_group, _CHANGE, denied=403),
    Route("DELETE", f"{_PCU}/{{pcuGroupUUID}}", delete_group, _CHANGE, denied=403),
    Route("POST", f"{_PCU}/park/{{pcuGroupUUID}}", park_group, _SUSPEND, denied=403),
    Route("POST", f"{_PCU}/unpark/{{pcuGroupUUID}}", unpark_group, _SUSPEND, denied=403),
    Route("GET", f"{_ASSOCIATION}/{{pcuGroupUUID}}", list_associations, _VIEW, denied=403),
    Route("POST", f"{_ASSOCIATION}/transfer", transfer_association, _CHANGE, denied=403),
    Route(
        "POST",
        f"{_ASSOCIATION}/{{pcuGroupUUID}}/{{datacenterUUID}}",
        create_association,
        _CHANGE,
        denied=403,
    ),
    Route(
        "DELETE",
        f"{_ASSOCIATION}/{{pcuGroupUUID}}/{{datacenterUUID}}",
        delete_association,
        _CHANGE,
        denied=403,
    ),
]
