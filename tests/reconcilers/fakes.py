"""In-memory ports for reconciler-tier tests of every kind: stateful, recording every call.

Nothing here talks to a network; each fake keeps what a real Astra organization or Kubernetes
namespace would (databases, roles, Secrets, objects) so a test reads like a scenario.
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr

from astra_operator import config
from astra_operator.astra import errors, models
from astra_operator.kube import api as kube_api
from astra_operator.reconcilers import engine, ownership

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TOKEN = "AstraCS:abcdefghij:0123456789abcdef0123456789abcdef"
ORG = "11111111-2222-3333-4444-555555555555"


class FakeAstra:
    """Databases, roles and application tokens of one organization."""

    def __init__(self, *existing: models.Database) -> None:
        self.databases = {d.id: d for d in existing}
        self.roles: dict[str, models.Role] = {}
        self.tokens: dict[str, models.TokenInfo] = {}
        """Live application tokens by clientId (as the token list shows them)."""
        self.values: dict[str, tuple[str, str]] = {}
        """(client secret, token) of every token ever issued, by clientId."""
        self.access: dict[str, models.AccessList] = {}
        """Access lists by database id (a database without one answers 404)."""
        self.calls: list[str] = []
        self.errors: dict[str, list[Exception]] = {}
        self._ids = itertools.count(1)

    def fail(self, call: str, *excs: Exception) -> None:
        """The next calls of ``call`` raise these, in order."""
        self.errors.setdefault(call, []).extend(excs)

    def _call(self, name: str) -> None:
        self.calls.append(name)
        queued = self.errors.get(name.split(" ")[0])
        if queued:
            raise queued.pop(0)

    async def get_database(self, database_id: str, *, token: str | None = None) -> models.Database:
        self._call("get")
        if database_id not in self.databases:
            raise errors.NotFound("no such database", status=404)
        return self.databases[database_id]

    async def list_databases(self, **_: Any) -> list[models.Database]:
        self._call("list")
        return list(self.databases.values())

    async def create_database(
        self, spec: models.DatabaseCreate, *, token: str | None = None
    ) -> str:
        self._call("create")
        new_id = f"new-{next(self._ids)}"
        self.databases[new_id] = astra_db(
            new_id, name=spec.name, region=spec.region, status="PENDING"
        )
        return new_id

    async def terminate_database(self, database_id: str, *, token: str | None = None) -> None:
        self._call(f"terminate {database_id}")

    async def current_organization(self, *, token: str | None = None) -> models.Organization:
        self._call("org")
        return models.Organization(id=ORG, name="org")

    async def list_roles(self, *, token: str | None = None) -> list[models.Role]:
        self._call("list_roles")
        return list(self.roles.values())

    async def get_role(self, role_id: str, *, token: str | None = None) -> models.Role:
        self._call("get_role")
        if role_id not in self.roles:
            raise errors.NotFound("no such role", status=404)
        return self.roles[role_id]

    async def create_role(
        self, name: str, policy: models.Policy, *, token: str | None = None
    ) -> models.Role:
        self._call("create_role")
        role = models.Role(id=f"role-{next(self._ids)}", name=name, policy=policy)
        self.roles[role.id] = role
        return role

    async def update_role(
        self, role_id: str, name: str, policy: models.Policy, *, token: str | None = None
    ) -> None:
        self._call(f"update_role {role_id}")
        if role_id not in self.roles:
            raise errors.NotFound("no such role", status=404)
        self.roles[role_id] = models.Role(id=role_id, name=name, policy=policy)

    async def delete_role(self, role_id: str, *, token: str | None = None) -> None:
        self._call(f"delete_role {role_id}")
        if self.roles.pop(role_id, None) is None:
            raise errors.NotFound("no such role", status=404)

    async def create_token(
        self,
        roles: Sequence[str],
        *,
        org_id: str | None = None,
        description: str | None = None,
        token: str | None = None,
    ) -> models.CreatedToken:
        self._call("create_token")
        n = next(self._ids)
        client_id = f"Client{n:04d}" + "x" * 14
        secret, value = f"secret-{n:04d}-" + "s" * 30, f"AstraCS:{client_id}:{n:064x}"
        self.values[client_id] = (secret, value)
        self.tokens[client_id] = models.TokenInfo(
            client_id=client_id, roles=list(roles), description=description
        )
        return models.CreatedToken(
            client_id=client_id,
            org_id=org_id,
            roles=list(roles),
            secret=SecretStr(secret),
            token=SecretStr(value),
        )

    async def list_tokens(self, *, token: str | None = None) -> list[models.TokenInfo]:
        self._call("list_tokens")
        return list(self.tokens.values())

    async def revoke_token(self, client_id: str, *, token: str | None = None) -> None:
        self._call(f"revoke_token {client_id}")
        if self.tokens.pop(client_id, None) is None:
            raise errors.InvalidRequest(f"client id {client_id} not found", status=400)

    async def get_access_list(
        self, database_id: str, *, token: str | None = None
    ) -> models.AccessList:
        self._call("get_access_list")
        if database_id not in self.access:
            raise errors.NotFound("access list not found", status=404)
        return self.access[database_id]

    async def list_access_lists(self, *, token: str | None = None) -> list[models.AccessList]:
        self._call("list_access_lists")
        return list(self.access.values())

    def _held(self, database_id: str) -> tuple[list[models.AccessListAddress], bool]:
        held = self.access.get(database_id) or models.AccessList()
        return list(held.addresses), held.enabled

    def _store(
        self, database_id: str, entries: list[models.AccessListAddress], enabled: bool
    ) -> None:
        self.access[database_id] = models.AccessList.model_validate(
            {
                "databaseId": database_id,
                "addresses": [e.model_dump(mode="json", by_alias=True) for e in entries],
                "configurations": {"accessListEnabled": enabled},
            }
        )

    def _upsert(
        self, database_id: str, requests: Sequence[models.AddressRequest], enabled: bool | None
    ) -> None:
        entries, was = self._held(database_id)
        for r in requests:
            entries = [e for e in entries if e.address != r.address]
            entries.append(
                models.AccessListAddress(
                    address=r.address, enabled=r.enabled, description=r.description
                )
            )
        self._store(database_id, entries, was if enabled is None else enabled)

    async def add_access_list_addresses(
        self,
        database_id: str,
        addresses: Sequence[models.AddressRequest],
        *,
        token: str | None = None,
    ) -> None:
        self._call(f"add_access_list {' '.join(a.address for a in addresses)}")
        self._upsert(database_id, addresses, None)

    async def update_access_list(
        self,
        database_id: str,
        addresses: Sequence[models.AddressRequest],
        *,
        enabled: bool,
        token: str | None = None,
    ) -> None:
        self._call(f"update_access_list {' '.join(a.address for a in addresses)}")
        self._upsert(database_id, addresses, enabled)

    async def delete_access_list_address(
        self, database_id: str, address: str, *, token: str | None = None
    ) -> None:
        self._call(f"delete_access_list {address}")
        entries, enabled = self._held(database_id)
        self._store(database_id, [e for e in entries if e.address != address], enabled)

    def __getattr__(self, name: str) -> Any:  # day-2 calls are not expected unless added
        raise AssertionError(f"unexpected call {name}")


class FakeKube:
    """Secrets and custom objects of a cluster; records status patches."""

    def __init__(self, secrets: Mapping[str, str | bytes] | None = None) -> None:
        self.secrets: dict[str, str | bytes] = dict(secrets or {"team/astra-credentials": TOKEN})
        self.objects: dict[tuple[str, str, str], dict[str, object]] = {}
        self.patches: list[Mapping[str, object]] = []
        self.owned: dict[str, kube_api.SecretContent] = {}
        """Whole Secrets (read_secret / write_owned_secret), by namespace/name."""
        self.write_errors: list[Exception] = []
        """The next write_owned_secret calls raise these, in order."""

    async def get(self, ref: kube_api.ObjectRef) -> dict[str, object]:
        try:
            return self.objects[(ref.plural, ref.namespace, ref.name)]
        except KeyError:
            raise kube_api.ObjectGone(ref.name) from None

    async def patch_status(
        self, ref: kube_api.ObjectRef, status: Mapping[str, object]
    ) -> dict[str, object]:
        self.patches.append(status)
        return {}

    async def read_secret_value(self, namespace: str, name: str, key: str) -> str:
        try:
            value = self.secrets[f"{namespace}/{name}"]
        except KeyError:
            raise kube_api.SecretUnavailable(f"Secret {namespace}/{name} does not exist") from None
        raw = value if isinstance(value, bytes) else value.encode()
        return base64.b64decode(base64.b64encode(raw)).decode().strip()

    async def apply_owned_secret(self, *args: Any) -> bool:
        return False

    async def read_secret(self, namespace: str, name: str) -> kube_api.SecretContent | None:
        return self.owned.get(f"{namespace}/{name}")

    async def write_owned_secret(
        self,
        namespace: str,
        name: str,
        owner: kube_api.Owner,
        data: Mapping[str, str],
        *,
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
    ) -> None:
        if self.write_errors:
            raise self.write_errors.pop(0)
        current = self.owned.get(f"{namespace}/{name}")
        if current is not None and owner.uid not in current.owner_uids:
            raise kube_api.SecretConflict(f"Secret {namespace}/{name} belongs to someone else")
        self.owned[f"{namespace}/{name}"] = kube_api.SecretContent(
            data={k: SecretStr(v) for k, v in data.items()},
            annotations=dict(annotations),
            labels=dict(labels),
            owner_uids=frozenset({owner.uid}),
        )

    async def release_secret(self, namespace: str, name: str, owner_uid: str) -> bool:
        current = self.owned.get(f"{namespace}/{name}")
        if current is None or owner_uid not in current.owner_uids:
            return False
        self.owned[f"{namespace}/{name}"] = dataclasses.replace(
            current, owner_uids=current.owner_uids - {owner_uid}
        )
        return True

    def secret_values(self, namespace: str, name: str) -> dict[str, str]:
        """The plain data of a Secret written with write_owned_secret."""
        return {k: v.get_secret_value() for k, v in self.owned[f"{namespace}/{name}"].data.items()}


def astra_db(
    id_: str,
    created: datetime = NOW,
    name: str = "orders",
    region: str = "us-east1",
    status: str = "ACTIVE",
) -> models.Database:
    return models.Database.model_validate(
        {
            "id": id_,
            "status": status,
            "creationTime": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "info": {
                "name": name,
                "cloudProvider": "GCP",
                "region": region,
                "tier": "serverless",
            },
        }
    )


def body(
    spec: dict[str, Any],
    status: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
    name: str = "orders",
    uid: str = "u1",
    created: str = "2026-11-23T11:00:00Z",
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "team",
            "uid": uid,
            "generation": 1,
            "creationTimestamp": created,
            "annotations": annotations or {},
        },
        "spec": spec,
        "status": status or {},
    }


def deps(
    astra: FakeAstra,
    kube: FakeKube | None = None,
    *,
    later: float = 30.0,
    owners: ownership.Owners | None = None,
) -> engine.Deps:
    return engine.Deps(
        astra=astra,
        kube=kube or FakeKube(),
        config=config.OperatorConfig(operator_namespace="team"),
        clock=lambda: NOW + timedelta(seconds=later),
        owners=owners or ownership.Owners(),
    )


def synced(outcome: engine.Outcome[Any]) -> tuple[str, str]:
    cond = outcome.status.condition("Synced")
    assert cond is not None
    return cond.status, cond.reason
