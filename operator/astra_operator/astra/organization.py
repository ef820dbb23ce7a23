"""Organization-level endpoints: current org, region catalogues, custom roles, application tokens.

Role create and token create are never repeated once the request may have reached the server (a
lost token reply means a live token whose secret nobody has: list tokens and revoke strays).
Role update (PUT) and delete, token revoke (DELETE) are idempotent and retried.
"""

from __future__ import annotations

from collections.abc import Sequence

from astra_operator.astra import decode, models, session

_ROLES = "/v2/organizations/roles"
_ROLE = "/v2/organizations/roles/{roleID}"


class OrganizationApi:
    """Organization calls; mixed into ``AstraClient``."""

    _session: session.Session

    async def current_organization(self, *, token: str | None = None) -> models.Organization:
        """The organization the token belongs to."""
        reply = await self._session.request("GET", "/v2/currentOrg", token=token)
        return decode.one(reply, models.Organization)

    async def list_serverless_regions(
        self,
        *,
        region_type: str | None = None,
        filter_by_org: str | None = None,
        token: str | None = None,
    ) -> list[models.ServerlessRegion]:
        """Serverless regions; ``region_type`` ``vector`` or ``all`` (default: non-vector)."""
        params: dict[str, str | int | bool] = {}
        if region_type:
            params["region-type"] = region_type
        if filter_by_org:
            params["filter-by-org"] = filter_by_org
        reply = await self._session.request(
            "GET", "/v2/regions/serverless", params=params, token=token
        )
        return decode.many(reply, models.ServerlessRegion)

    async def list_available_regions(
        self, *, token: str | None = None
    ) -> list[models.AvailableRegion]:
        """The classic tier/provider/region catalogue (may repeat regions)."""
        reply = await self._session.request("GET", "/v2/availableRegions", token=token)
        return decode.many(reply, models.AvailableRegion)

    async def list_roles(self, *, token: str | None = None) -> list[models.Role]:
        """Every role of the organization, built-in ones included."""
        reply = await self._session.request("GET", _ROLES, token=token)
        return decode.many(reply, models.Role)

    async def get_role(self, role_id: str, *, token: str | None = None) -> models.Role:
        """One role (needs more permission than listing: fall back to ``list_roles``)."""
        reply = await self._session.request(
            "GET", _ROLE, path_params={"roleID": role_id}, token=token
        )
        return decode.one(reply, models.Role)

    async def create_role(
        self, name: str, policy: models.Policy, *, token: str | None = None
    ) -> models.Role:
        """Create a custom role (201) and return it. Never retried blindly."""
        body = models.RoleRequest(name=name, policy=policy).model_dump(mode="json")
        reply = await self._session.request("POST", _ROLES, body=body, token=token)
        return decode.one(reply, models.Role)

    async def update_role(
        self, role_id: str, name: str, policy: models.Policy, *, token: str | None = None
    ) -> None:
        """Replace a role's name and policy (200, empty)."""
        body = models.RoleRequest(name=name, policy=policy).model_dump(mode="json")
        await self._session.request(
            "PUT", _ROLE, path_params={"roleID": role_id}, body=body, token=token
        )

    async def delete_role(self, role_id: str, *, token: str | None = None) -> None:
        """Delete a custom role (204)."""
        await self._session.request("DELETE", _ROLE, path_params={"roleID": role_id}, token=token)

    async def create_token(
        self,
        roles: Sequence[str],
        *,
        org_id: str | None = None,
        description: str | None = None,
        token: str | None = None,
    ) -> models.CreatedToken:
        """Mint an application token for role ids; its secret is in the reply only."""
        body = models.TokenRequest(
            roles=list(roles), org_id=org_id, description=description
        ).model_dump(mode="json", exclude_none=True)
        reply = await self._session.request("POST", "/v2/tokens", body=body, token=token)
        return decode.one(reply, models.CreatedToken)

    async def list_tokens(self, *, token: str | None = None) -> list[models.TokenInfo]:
        """Every application token of the organization, without secrets."""
        reply = await self._session.request("GET", "/v2/clientIdSecrets", token=token)
        data = decode.body(reply)
        if isinstance(data, dict):
            data = data.get("clients")
        return decode.many(reply, models.TokenInfo, data)

    async def revoke_token(self, client_id: str, *, token: str | None = None) -> None:
        """Revoke an application token by client id (200)."""
        await self._session.request(
            "DELETE",
            "/v2/clientIdSecrets/{clientId}",
            path_params={"clientId": client_id},
            token=token,
        )
