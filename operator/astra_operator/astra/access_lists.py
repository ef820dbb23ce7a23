"""Database access-list (IP allow-list) endpoints of the DevOps API.

Adding addresses (POST) is not retried once it may have reached the server; replace (PUT) and
delete are idempotent and retried. The API honours only the first ``addresses`` value of a
DELETE, so removing several addresses takes one call each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import JsonValue

from astra_operator.astra import decode, models, session

_ACCESS_LIST = "/v2/databases/{databaseId}/access-list"


class AccessListsApi:
    """Access-list calls; mixed into ``AstraClient``."""

    _session: session.Session

    async def get_access_list(
        self, database_id: str, *, token: str | None = None
    ) -> models.AccessList:
        """The database's access list (``NotFound`` if it has none or the database is unknown)."""
        reply = await self._session.request(
            "GET", _ACCESS_LIST, path_params={"databaseId": database_id}, token=token
        )
        return decode.one(reply, models.AccessList)

    async def list_access_lists(self, *, token: str | None = None) -> list[models.AccessList]:
        """The access lists of every database of the organization the token may read."""
        reply = await self._session.request("GET", "/v2/access-lists", token=token)
        return decode.many(reply, models.AccessList)

    async def add_access_list_addresses(
        self,
        database_id: str,
        addresses: Sequence[models.AddressRequest],
        *,
        token: str | None = None,
    ) -> None:
        """Add addresses to the database's access list (204)."""
        await self._session.request(
            "POST",
            _ACCESS_LIST,
            path_params={"databaseId": database_id},
            body=[a.model_dump(mode="json") for a in addresses],
            token=token,
        )

    async def replace_access_list(
        self,
        database_id: str,
        addresses: Sequence[models.AddressRequest],
        *,
        enabled: bool = True,
        token: str | None = None,
    ) -> None:
        """Replace the whole access list and set whether it is enforced (204)."""
        body = _request(addresses, enabled)
        await self._session.request(
            "PUT", _ACCESS_LIST, path_params={"databaseId": database_id}, body=body, token=token
        )

    async def update_access_list(
        self,
        database_id: str,
        addresses: Sequence[models.AddressRequest],
        *,
        enabled: bool,
        token: str | None = None,
    ) -> None:
        """Update the given entries (matched by address) and set whether the list is enforced
        (PATCH, 204); entries not named are left as they are."""
        body = _request(addresses, enabled)
        await self._session.request(
            "PATCH", _ACCESS_LIST, path_params={"databaseId": database_id}, body=body, token=token
        )

    async def delete_access_list_address(
        self, database_id: str, address: str, *, token: str | None = None
    ) -> None:
        """Remove one address from the database's access list (204)."""
        if not address.strip():
            raise ValueError("address must not be empty (that would delete the whole list)")
        await self._session.request(
            "DELETE",
            _ACCESS_LIST,
            path_params={"databaseId": database_id},
            params={"addresses": address},
            token=token,
        )

    async def delete_access_list_addresses(
        self, database_id: str, addresses: Iterable[str], *, token: str | None = None
    ) -> None:
        """Remove several addresses, one call each (the API honours only the first per call)."""
        for address in addresses:
            await self.delete_access_list_address(database_id, address, token=token)

    async def delete_access_list(self, database_id: str, *, token: str | None = None) -> None:
        """Delete the database's entire access list (204)."""
        await self._session.request(
            "DELETE", _ACCESS_LIST, path_params={"databaseId": database_id}, token=token
        )


def _request(addresses: Sequence[models.AddressRequest], enabled: bool) -> JsonValue:
    """An ``AccessListRequest`` body: the addresses and whether the list is enforced."""
    return models.AccessListRequest(
        addresses=list(addresses),
        configurations=models.AccessListConfigurations(access_list_enabled=enabled),
    ).model_dump(mode="json")
