"""The ports the reconcilers reach the world through: one per API area, plus Kubernetes.

``astra.client.AstraClient`` satisfies every Astra port; tests pass in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from astra_operator.astra import models
from astra_operator.kube import api as kube_api


class DatabasesPort(Protocol):
    """Database calls of the DevOps API."""

    async def get_database(
        self, database_id: str, *, token: str | None = None
    ) -> models.Database: ...

    async def create_database(
        self, spec: models.DatabaseCreate, *, token: str | None = None
    ) -> str: ...

    async def list_databases(
        self,
        *,
        include: str | None = None,
        provider: str | None = None,
        token: str | None = None,
    ) -> list[models.Database]: ...

    async def terminate_database(self, database_id: str, *, token: str | None = None) -> None: ...

    async def park_database(self, database_id: str, *, token: str | None = None) -> None: ...

    async def unpark_database(self, database_id: str, *, token: str | None = None) -> None: ...

    async def resize_database(
        self, database_id: str, capacity_units: int, *, token: str | None = None
    ) -> None: ...

    async def add_keyspace(
        self, database_id: str, keyspace: str, *, token: str | None = None
    ) -> None: ...

    async def add_datacenter(
        self, database_id: str, datacenter: models.DatacenterCreate, *, token: str | None = None
    ) -> None: ...

    async def terminate_datacenter(
        self, database_id: str, datacenter_id: str, *, token: str | None = None
    ) -> None: ...


class AccessListsPort(Protocol):
    """Database access-list calls of the DevOps API."""

    async def get_access_list(
        self, database_id: str, *, token: str | None = None
    ) -> models.AccessList: ...

    async def list_access_lists(self, *, token: str | None = None) -> list[models.AccessList]: ...

    async def add_access_list_addresses(
        self,
        database_id: str,
        addresses: Sequence[models.AddressRequest],
        *,
        token: str | None = None,
    ) -> None: ...

    async def update_access_list(
        self,
        database_id: str,
        addresses: Sequence[models.AddressRequest],
        *,
        enabled: bool,
        token: str | None = None,
    ) -> None: ...

    async def delete_access_list_address(
        self, database_id: str, address: str, *, token: str | None = None
    ) -> None: ...


class OrganizationPort(Protocol):
    """The organization the token belongs to."""

    async def current_organization(self, *, token: str | None = None) -> models.Organization: ...


class RolesPort(Protocol):
    """Custom-role calls of the DevOps API."""

    async def list_roles(self, *, token: str | None = None) -> list[models.Role]: ...

    async def get_role(self, role_id: str, *, token: str | None = None) -> models.Role: ...

    async def create_role(
        self, name: str, policy: models.Policy, *, token: str | None = None
    ) -> models.Role: ...

    async def update_role(
        self, role_id: str, name: str, policy: models.Policy, *, token: str | None = None
    ) -> None: ...

    async def delete_role(self, role_id: str, *, token: str | None = None) -> None: ...


class TokensPort(Protocol):
    """Application-token calls of the DevOps API."""

    async def create_token(
        self,
        roles: Sequence[str],
        *,
        org_id: str | None = None,
        description: str | None = None,
        token: str | None = None,
    ) -> models.CreatedToken: ...

    async def list_tokens(self, *, token: str | None = None) -> list[models.TokenInfo]: ...

    async def revoke_token(self, client_id: str, *, token: str | None = None) -> None: ...


class AstraPort(DatabasesPort, AccessListsPort, OrganizationPort, RolesPort, TokensPort, Protocol):
    """Every Astra call the operator makes (what ``AstraClient`` provides)."""


class KubePort(Protocol):
    """The Kubernetes calls the reconcilers make (beyond kopf's own)."""

    async def get(self, ref: kube_api.ObjectRef) -> dict[str, object]: ...

    async def patch_status(
        self, ref: kube_api.ObjectRef, status: Mapping[str, object]
    ) -> dict[str, object]: ...

    async def read_secret_value(self, namespace: str, name: str, key: str) -> str: ...

    async def apply_owned_secret(
        self, namespace: str, name: str, owner: kube_api.Owner, data: Mapping[str, str]
    ) -> bool: ...

    async def read_secret(self, namespace: str, name: str) -> kube_api.SecretContent | None: ...

    async def write_owned_secret(
        self,
        namespace: str,
        name: str,
        owner: kube_api.Owner,
        data: Mapping[str, str],
        *,
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
    ) -> None: ...

    async def release_secret(self, namespace: str, name: str, owner_uid: str) -> bool: ...
