"""Database endpoints of the DevOps API: lifecycle, keyspaces, datacenters, secure bundles.

Retry decisions (see ``retry``): terminate, park, unpark, terminate-datacenter and the secure
bundle POST are idempotent state changes or reads, so they are retried like a GET; repeating one
that already took effect can at worst answer 409 (the caller re-reads the status anyway). Create,
resize, add-keyspace and add-datacenter are never repeated after the request may have reached
the server: the error carries ``maybe_applied=True`` and the caller looks before trying again.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from astra_operator.astra import decode, errors, models, session

_log = logging.getLogger(__name__)

MAX_PAGE = 100  # the API silently caps ``limit`` at 100
_DB = "/v2/databases/{databaseId}"


class DatabasesApi:
    """Database calls; mixed into ``AstraClient``."""

    _session: session.Session

    async def iter_databases(
        self,
        *,
        include: str | None = None,
        provider: str | None = None,
        page_size: int = MAX_PAGE,
        token: str | None = None,
    ) -> AsyncIterator[models.Database]:
        """Yield every database visible to the token, following ``starting_after`` pages.

        ``include`` filters by status (``nonterminated`` by default on the server, ``all``...),
        ``provider`` by cloud (``ALL``, ``AWS``, ``GCP``, ``Azure``).
        """
        limit = max(1, min(page_size, MAX_PAGE))
        params: dict[str, str | int | bool] = {"limit": limit}
        if include:
            params["include"] = include
        if provider:
            params["provider"] = provider
        seen: set[str] = set()
        while True:
            page = await self._database_page(params, token)
            fresh = [db for db in page if db.id not in seen]
            for db in fresh:
                seen.add(db.id)
                yield db
            if len(page) < limit or not page:
                return
            if not fresh:
                _log.warning(
                    "database list page after %s repeated itself", params.get("starting_after")
                )
                return
            params["starting_after"] = page[-1].id

    async def _database_page(
        self, params: dict[str, str | int | bool], token: str | None
    ) -> list[models.Database]:
        reply = await self._session.request("GET", "/v2/databases", params=params, token=token)
        return decode.many(reply, models.Database)

    async def list_databases(
        self,
        *,
        include: str | None = None,
        provider: str | None = None,
        token: str | None = None,
    ) -> list[models.Database]:
        """Every database visible to the token (all pages), see ``iter_databases``."""
        return [
            db async for db in self.iter_databases(include=include, provider=provider, token=token)
        ]

    async def get_database(self, database_id: str, *, token: str | None = None) -> models.Database:
        """One database; a terminated one may still answer with status ``TERMINATED``."""
        reply = await self._session.request(
            "GET", _DB, path_params={"databaseId": database_id}, token=token
        )
        return decode.one(reply, models.Database)

    async def create_database(
        self, spec: models.DatabaseCreate, *, token: str | None = None
    ) -> str:
        """Create a database and return its id (from ``Location``). Never retried blindly."""
        reply = await self._session.request(
            "POST",
            "/v2/databases",
            body=spec.model_dump(mode="json", exclude_none=True),
            token=token,
        )
        return created_id(reply)

    async def terminate_database(self, database_id: str, *, token: str | None = None) -> None:
        """Start terminating a database (202). Irreversible."""
        await self._post_action(database_id, "terminate", token)

    async def park_database(self, database_id: str, *, token: str | None = None) -> None:
        """Park a classic database (202)."""
        await self._post_action(database_id, "park", token)

    async def unpark_database(self, database_id: str, *, token: str | None = None) -> None:
        """Unpark a parked classic database (202)."""
        await self._post_action(database_id, "unpark", token)

    async def _post_action(self, database_id: str, action: str, token: str | None) -> None:
        await self._session.request(
            "POST",
            f"{_DB}/{action}",
            path_params={"databaseId": database_id},
            token=token,
            idempotent=True,
        )

    async def resize_database(
        self, database_id: str, capacity_units: int, *, token: str | None = None
    ) -> None:
        """Resize a classic database to ``capacity_units`` in total (at most +3 per call)."""
        await self._session.request(
            "POST",
            f"{_DB}/resize",
            path_params={"databaseId": database_id},
            body={"capacityUnits": capacity_units},
            token=token,
        )

    async def add_keyspace(
        self, database_id: str, keyspace: str, *, token: str | None = None
    ) -> None:
        """Add a keyspace (201); the database passes through MAINTENANCE.

        A keyspace that already exists is success either way the API says it: Astra documents
        a 201 that changes nothing, and a 422 has been answered too. A 422 counts as "already
        exists" only when the database, read again, lists the keyspace (its message is not
        relied on); any other 422 is raised.
        """
        try:
            await self._session.request(
                "POST",
                f"{_DB}/keyspaces/{{keyspaceName}}",
                path_params={"databaseId": database_id, "keyspaceName": keyspace},
                token=token,
            )
        except errors.InvalidRequest as refused:
            if refused.status != 422 or not await self._lists_keyspace(
                database_id, keyspace, token, refused
            ):
                raise
            _log.debug("keyspace %s already exists (the API answered 422)", keyspace)

    async def _lists_keyspace(
        self,
        database_id: str,
        keyspace: str,
        token: str | None,
        refused: errors.InvalidRequest,
    ) -> bool:
        """Does the database list ``keyspace``? A failed look raises ``refused`` (the 422)."""
        try:
            database = await self.get_database(database_id, token=token)
        except errors.AstraError as lookup:
            raise refused from lookup
        return keyspace in database.keyspaces

    async def drop_keyspace(
        self, database_id: str, keyspace: str, *, token: str | None = None
    ) -> bool:
        """Drop a keyspace; true if it was dropped (202), false if there was none (204)."""
        reply = await self._session.request(
            "DELETE",
            f"{_DB}/keyspaces/{{keyspaceName}}",
            path_params={"databaseId": database_id, "keyspaceName": keyspace},
            token=token,
        )
        return reply.status != 204

    async def list_datacenters(
        self, database_id: str, *, include_terminated: bool = False, token: str | None = None
    ) -> list[models.Datacenter]:
        """The database's datacenters (ACTIVE ones, plus TERMINATED if asked), in no set order."""
        reply = await self._session.request(
            "GET",
            f"{_DB}/datacenters",
            path_params={"databaseId": database_id},
            params={"all": include_terminated},
            token=token,
        )
        return decode.many(reply, models.Datacenter)

    async def add_datacenter(
        self, database_id: str, datacenter: models.DatacenterCreate, *, token: str | None = None
    ) -> None:
        """Add one region (the API accepts one per call); the database enters MAINTENANCE."""
        await self._session.request(
            "POST",
            f"{_DB}/datacenters",
            path_params={"databaseId": database_id},
            body=[datacenter.model_dump(mode="json", exclude_none=True)],
            token=token,
        )

    async def terminate_datacenter(
        self, database_id: str, datacenter_id: str, *, token: str | None = None
    ) -> None:
        """Remove a region (202) by datacenter id (``<databaseId>-<n>``)."""
        await self._session.request(
            "POST",
            f"{_DB}/datacenters/{{datacenterId}}/terminate",
            path_params={"databaseId": database_id, "datacenterId": datacenter_id},
            token=token,
            idempotent=True,
        )

    async def secure_bundle_urls(
        self, database_id: str, *, token: str | None = None
    ) -> list[models.CredsURL]:
        """Secure connect bundle links for every datacenter (valid about 5 minutes)."""
        reply = await self._session.request(
            "POST",
            f"{_DB}/secureBundleURL",
            path_params={"databaseId": database_id},
            params={"all": True},
            token=token,
            idempotent=True,
        )
        data = decode.body(reply)
        if isinstance(data, dict):
            return [decode.one(reply, models.CredsURL, data)]
        return decode.many(reply, models.CredsURL, data)


def created_id(reply: session.Reply) -> str:
    """The new object's id from a 201's ``Location`` (a bare id, or a URL: its last segment)."""
    if reply.status != 201:
        raise decode.unexpected(reply, "expected 201 Created", maybe_applied=True)
    location = reply.headers.get("location", "").split("?", 1)[0].split("#", 1)[0]
    segments = [s for s in location.strip().split("/") if s]
    if not segments:
        raise decode.unexpected(reply, "201 without a Location header", maybe_applied=True)
    return segments[-1]
