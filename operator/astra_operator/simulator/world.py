"""Everything the simulator remembers: the organisation, its databases, IAM, faults and counters."""

from __future__ import annotations

import collections
import random
import time
from collections.abc import Callable
from typing import NamedTuple

from astra_operator.simulator import catalog, faults, iam, ids, model, pcu, variants
from astra_operator.simulator.timing import Timing

REQUEST_LOG_SIZE = 100_000
"""The request log keeps this many of the latest /v2 requests (older ones drop off)."""


class Request(NamedTuple):
    """One logged /v2 request: when (unix seconds), the route template and the concrete path."""

    at: float
    method: str
    route: str
    path: str
    query: str


class World:
    """The state of one simulated Astra organisation. Not thread-safe: one event loop owns it."""

    def __init__(
        self,
        timing: Timing,
        *,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.timing = timing
        self.ids = ids.IdSource(seed)
        self.clock = clock
        self.wall = wall
        self.org_id = self.ids.uuid()
        self.org_name = "Simulated Organization"
        self.iam = iam.Iam(self.org_id, self.ids, lambda: ids.rfc3339(self.wall()))
        self.faults = faults.FaultQueue()
        self.variants = variants.Variants()
        self.counts: collections.Counter[str] = collections.Counter()
        self.requests: collections.deque[Request] = collections.deque(maxlen=REQUEST_LOG_SIZE)
        """The latest /v2 requests, oldest first (a ring buffer; cleared with the counters)."""
        self.databases: dict[str, model.Database] = {}  # insertion order = creation order
        self._seq: dict[str, int] = {}  # every id ever created (cursor positions survive 404)
        self.pcus: dict[str, pcu.PcuGroup] = {}  # insertion order = creation order

    def count(self, method: str, route: str, path: str, query: str) -> None:
        """Count one /v2 request under ``"<METHOD> <route>"`` and log it with the wall time."""
        self.counts[f"{method} {route}"] += 1
        self.requests.append(Request(self.wall(), method, route, path, query))

    def forget_requests(self) -> None:
        """Zero the counters and empty the request log."""
        self.counts.clear()
        self.requests.clear()

    @property
    def rng(self) -> random.Random:
        """The (seedable) random source for shuffles and signatures."""
        return self.ids.rng

    def now(self) -> float:
        """The monotonic clock every timeline runs on."""
        return self.clock()

    def admin_role_id(self) -> str:
        """The id of the built-in Organization Administrator role."""
        return catalog.builtin_role_id(catalog.ORG_ADMIN)

    # --- databases ----------------------------------------------------------------------------

    def new_database(
        self,
        *,
        owner: str,
        name: str,
        provider: str,
        region: str,
        tier: str,
        units: int,
        db_type: str | None,
        keyspace: str,
    ) -> model.Database:
        """Store a new PENDING database with its first datacenter and default keyspace."""
        seq = len(self._seq)
        db = model.Database(
            id=self.ids.uuid(),
            seq=seq,
            org_id=self.org_id,
            owner_id=owner,
            name=name,
            provider=provider,
            region=region,
            tier=tier,
            capacity_units=units,
            db_type=db_type,
            keyspace=keyspace,
            created_wall=self.wall(),
            created_mono=self.now(),
            keyspaces=[keyspace],
            order_seed=self.rng.getrandbits(64),
        )
        db.datacenters.append(db.next_datacenter(provider, region, ids.rfc3339(db.created_wall)))
        self.databases[db.id] = db
        self._seq[db.id] = seq
        return db

    def lookup(self, db_id: str) -> model.Database | None:
        """The database with its status brought up to date; None once it has expired."""
        db = self.databases.get(db_id)
        if db is None:
            return None
        db.settle(self.now())
        if db.status == model.GONE:
            del self.databases[db_id]
            return None
        return db

    def every_database(self) -> list[model.Database]:
        """All current databases (TERMINATED included) in creation order, statuses settled."""
        now = self.now()
        current: list[model.Database] = []
        expired: list[model.Database] = []
        for db in self.databases.values():
            db.settle(now)
            (expired if db.status == model.GONE else current).append(db)
        for db in expired:
            del self.databases[db.id]
        return current

    def position(self, db_id: str) -> int | None:
        """Creation position of any id ever issued (the list cursor), else None."""
        return self._seq.get(db_id)

    def delete(self, db_id: str) -> None:
        """Remove a record outright (an out-of-band deletion)."""
        self.databases.pop(db_id, None)

    def find_datacenter(self, dc_id: str) -> tuple[model.Database, model.Datacenter] | None:
        """A live datacenter by id (``<databaseId>-<n>``) with its database, else None."""
        db = self.lookup(dc_id.rpartition("-")[0])
        if db is None or db.status in ("TERMINATING", "TERMINATED"):
            return None
        dc = next((d for d in db.live_datacenters() if d.id == dc_id), None)
        return None if dc is None else (db, dc)

    # --- PCU groups -----------------------------------------------------------------------------

    def pcu_group(self, uuid: str) -> pcu.PcuGroup | None:
        """A PCU group with its status brought up to date."""
        group = self.pcus.get(uuid)
        if group is not None:
            group.settle(self.now())
        return group

    def pcu_group_of(self, dc_id: str) -> pcu.PcuGroup | None:
        """The PCU group a datacenter is associated with, if any."""
        return next((g for g in self.pcus.values() if dc_id in g.associations), None)

    # --- admin ----------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget databases, PCU groups, custom roles, extra tokens, faults, counters, variants."""
        self.databases.clear()
        self._seq.clear()
        self.pcus.clear()
        self.iam.reset()
        self.faults.clear()
        self.forget_requests()
        self.variants = variants.Variants()
