"""A terraform-provider-astra state file (format version 4) read as Astra databases and roles.

``astra_database`` instances become :class:`models.Database` as the DevOps API would describe
them, ``astra_role`` instances :class:`models.Role`, so ``mapping`` treats both sources alike.
The provider manages serverless databases only (tier ``serverless``). Its ``regions`` list is
rebuilt in API order on every refresh, so the primary region is the one whose datacenter ID
ends in ``-1`` (in the ``datacenters`` map) when the state has that map, else the first of
``regions``. ``astra_keyspace`` instances add their keyspace to their database. Attributes
missing from the state are left out (a missing ``keyspace`` is Astra's default); resources of
other types, data sources and deposed objects are listed as not exported.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from typing import Final

import pydantic

from astra_operator.astra import models
from astra_operator.resources import database as db

VERSION: Final = 4
DATABASE: Final = "astra_database"
ROLE: Final = "astra_role"
KEYSPACE: Final = "astra_keyspace"


class StateError(ValueError):
    """The file is not a Terraform state this module can read; the text says why."""


@dataclasses.dataclass(frozen=True)
class State:
    """What a state holds, as Astra objects."""

    databases: tuple[models.Database, ...]
    roles: tuple[models.Role, ...]
    protected: frozenset[str]
    """IDs of databases with deletion_protection true."""
    org_id: str | None
    """The organization of the databases (organization_id), when the state says."""
    addresses: Mapping[str, tuple[str, ...]]
    """Terraform addresses by Astra ID (a database's keyspaces included): what to
    ``terraform state rm`` once the manifests are applied."""
    notes: tuple[str, ...]
    terraform_version: str | None


@dataclasses.dataclass(frozen=True)
class _Instance:
    address: str
    type: str
    attributes: Mapping[str, object]


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _strs(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str) and v] if isinstance(value, list) else []


def _address(resource: Mapping[str, object], instance: Mapping[str, object]) -> str:
    module = _str(resource.get("module"))
    data = "data." if resource.get("mode") == "data" else ""
    address = f"{module + '.' if module else ''}{data}{resource.get('type')}.{resource.get('name')}"
    if "index_key" in instance:
        address += f"[{json.dumps(instance['index_key'])}]"
    return address


def _instances(raw: Mapping[str, object], notes: list[str]) -> Iterator[_Instance]:
    resources = raw.get("resources")
    for resource in resources if isinstance(resources, list) else []:
        if not isinstance(resource, dict):
            continue
        instances = resource.get("instances")
        for instance in instances if isinstance(instances, list) else []:
            if not isinstance(instance, dict):
                continue
            address, kind = _address(resource, instance), str(resource.get("type"))
            attributes = instance.get("attributes")
            if resource.get("mode") == "data":
                notes.append(f"not exported: {address}: a data source, not a managed resource")
            elif "deposed" in instance:
                notes.append(f"not exported: {address}: a deposed object Terraform will destroy")
            elif not isinstance(attributes, dict):
                notes.append(f"not exported: {address}: the state has no attributes for it")
            else:
                yield _Instance(address, kind, attributes)


def _primary(regions: list[str], datacenters: object) -> str | None:
    """The region whose datacenter ID ends in -1 (the first one), else the first listed."""
    if isinstance(datacenters, dict):
        for key, dc_id in datacenters.items():
            if isinstance(dc_id, str) and dc_id.endswith("-1") and "." in str(key):
                return str(key).split(".", 1)[1]
    return regions[0] if regions else None


def _datacenter_ids(datacenters: object) -> dict[str, str]:
    if not isinstance(datacenters, dict):
        return {}
    return {str(k).split(".", 1)[-1]: v for k, v in datacenters.items() if isinstance(v, str) and v}


def _database(attrs: Mapping[str, object], extra_keyspaces: list[str]) -> models.Database:
    provider = (_str(attrs.get("cloud_provider")) or "").upper() or None
    dc_ids = _datacenter_ids(attrs.get("datacenters"))
    regions = _strs(attrs.get("regions")) or sorted(dc_ids)
    keyspace = _str(attrs.get("keyspace")) or db.DEFAULT_KEYSPACE
    keyspaces = list(dict.fromkeys([keyspace, *_strs(attrs.get("additional_keyspaces"))]))
    keyspaces += [k for k in extra_keyspaces if k not in keyspaces]
    body = {
        "id": _str(attrs.get("id")),
        "orgId": _str(attrs.get("organization_id")),
        "ownerId": _str(attrs.get("owner_id")),
        "status": _str(attrs.get("status")) or "",
        "info": {
            "name": _str(attrs.get("name")),
            "keyspace": keyspace,
            "keyspaces": keyspaces,
            "additionalKeyspaces": keyspaces[1:],
            "dbType": _str(attrs.get("db_type")),
            "cloudProvider": provider,
            "region": _primary(regions, attrs.get("datacenters")),
            "tier": db.SERVERLESS,
            "capacityUnits": 1,
            "datacenters": [
                {"id": dc_ids.get(r), "region": r, "cloudProvider": provider, "tier": db.SERVERLESS}
                for r in regions
            ],
        },
    }
    return models.Database.model_validate(body)


def _role(attrs: Mapping[str, object]) -> models.Role:
    actions = _strs(attrs.get("policy")) or _strs(attrs.get("permissions"))
    body = {
        "id": _str(attrs.get("role_id")) or _str(attrs.get("id")),
        "name": _str(attrs.get("role_name")),
        "policy": {
            "description": _str(attrs.get("description")) or "",
            "resources": _strs(attrs.get("resources")),
            "actions": actions,
            "effect": _str(attrs.get("effect")) or "allow",
        },
    }
    return models.Role.model_validate(body)


def _keyspaces(instances: list[_Instance]) -> dict[str, list[tuple[str, str]]]:
    """astra_keyspace instances by database ID: (keyspace, address)."""
    found: dict[str, list[tuple[str, str]]] = {}
    for i in instances:
        database_id, name = _str(i.attributes.get("database_id")), _str(i.attributes.get("name"))
        if i.type == KEYSPACE and database_id and name:
            found.setdefault(database_id, []).append((name, i.address))
    return found


@dataclasses.dataclass
class _Found:
    databases: list[models.Database] = dataclasses.field(default_factory=list)
    roles: list[models.Role] = dataclasses.field(default_factory=list)
    protected: set[str] = dataclasses.field(default_factory=set)
    addresses: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def add(self, i: _Instance, keyspaces: Mapping[str, list[tuple[str, str]]]) -> str | None:
        """Take one instance; a note when it is not exported."""
        try:
            if i.type == DATABASE:
                extra = keyspaces.get(str(i.attributes.get("id")), [])
                database = _database(i.attributes, [k for k, _ in extra])
                self.databases.append(database)
                self.addresses[database.id] = (i.address, *(a for _, a in extra))
                if i.attributes.get("deletion_protection") is True:
                    self.protected.add(database.id)
            elif i.type == ROLE:
                role = _role(i.attributes)
                self.roles.append(role)
                self.addresses[role.id] = (i.address,)
            elif i.type != KEYSPACE:
                return (
                    f"not exported: {i.address}: {i.type} is not a kind this exports (it stays"
                    " with Terraform)"
                )
        except pydantic.ValidationError as exc:
            where = ".".join(str(p) for p in exc.errors()[0]["loc"])
            return f"not exported: {i.address}: cannot read {where} from its attributes"
        return None


def _check(raw: object, source: str) -> Mapping[str, object]:
    if not isinstance(raw, dict) or not isinstance(raw.get("resources", []), list):
        raise StateError(f"{source} is not a Terraform state (a JSON object with resources)")
    if raw.get("version") != VERSION:
        raise StateError(
            f"{source} has state format version {raw.get('version')!r}; only version"
            f" {VERSION} (Terraform 0.12 and later) is read"
        )
    return raw


def parse(raw: object, source: str) -> State:
    """The Astra objects of a decoded state file; raises :class:`StateError`."""
    state = _check(raw, source)
    notes: list[str] = []
    instances = list(_instances(state, notes))
    keyspaces = _keyspaces(instances)
    found = _Found()
    notes += [n for n in (found.add(i, keyspaces) for i in instances) if n]
    database_ids = {d.id for d in found.databases}
    notes += [
        f"not exported: {address}: its database {database_id} is not in this state"
        for database_id, listed in sorted(keyspaces.items())
        if database_id not in database_ids
        for _, address in listed
    ]
    return State(
        databases=tuple(found.databases),
        roles=tuple(found.roles),
        protected=frozenset(found.protected),
        org_id=next((d.org_id for d in found.databases if d.org_id), None),
        addresses=found.addresses,
        notes=tuple(notes),
        terraform_version=_str(state.get("terraform_version")),
    )


def load(text: str, source: str) -> State:
    """Decode and parse a state file's text."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(f"{source} is not JSON ({exc.msg}, line {exc.lineno})") from None
    return parse(raw, source)
