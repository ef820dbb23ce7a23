"""The timed status changes of a database: which statuses it passes through and for how long."""

from __future__ import annotations

from astra_operator.simulator import model
from astra_operator.simulator.timing import Phase, Timing


def provision(db: model.Database, timing: Timing, now: float, *, fail: bool = False) -> None:
    """PENDING -> INITIALIZING -> ACTIVE (or ERROR when a create fault asks for it)."""
    init = Phase.INITIALIZING_CLASSIC if db.classic else Phase.INITIALIZING
    db.schedule(
        now,
        [
            ("PENDING", timing.seconds(Phase.PENDING), None),
            ("INITIALIZING", timing.seconds(init), None),
            ("ERROR" if fail else "ACTIVE", 0.0, None),
        ],
    )


def terminate(db: model.Database, timing: Timing, now: float) -> None:
    """TERMINATING -> TERMINATED (readable for a while) -> gone (404)."""

    def ended(at: float) -> None:
        db.terminated_wall = db.wall(at)
        for dc in db.datacenters:
            dc.state = "TERMINATED"

    db.schedule(
        now,
        [
            ("TERMINATING", timing.seconds(Phase.TERMINATING), None),
            ("TERMINATED", timing.seconds(Phase.TERMINATED_VISIBLE), ended),
            (model.GONE, 0.0, None),
        ],
    )


def _through(
    db: model.Database,
    now: float,
    status: str,
    seconds: float,
    final: str,
    effect: model.Effect | None = None,
) -> None:
    db.schedule(now, [(status, seconds, None), (final, 0.0, effect)])


def park(db: model.Database, timing: Timing, now: float) -> None:
    """PARKING -> PARKED."""
    _through(db, now, "PARKING", timing.seconds(Phase.PARKING), "PARKED")


def unpark(db: model.Database, timing: Timing, now: float) -> None:
    """UNPARKING -> ACTIVE."""
    _through(db, now, "UNPARKING", timing.seconds(Phase.UNPARKING), "ACTIVE")


def hibernate(db: model.Database, timing: Timing, now: float) -> None:
    """HIBERNATING -> HIBERNATED (only ever done to a database, never by the API)."""
    _through(db, now, "HIBERNATING", timing.seconds(Phase.HIBERNATING), "HIBERNATED")


def resume(db: model.Database, timing: Timing, now: float) -> None:
    """RESUMING -> ACTIVE."""
    _through(db, now, "RESUMING", timing.seconds(Phase.RESUMING), "ACTIVE")


def resize(db: model.Database, timing: Timing, now: float, units: int) -> None:
    """RESIZING -> ACTIVE with the new capacity (every datacenter grows too)."""

    def grown(_: float) -> None:
        db.capacity_units = units
        for dc in db.datacenters:
            dc.capacity_units = units

    _through(db, now, "RESIZING", timing.seconds(Phase.RESIZING), "ACTIVE", grown)


def add_keyspace(db: model.Database, timing: Timing, now: float, name: str) -> None:
    """MAINTENANCE -> ACTIVE; the keyspace is listed once the database is ACTIVE again."""

    def added(_: float) -> None:
        if name not in db.keyspaces:
            db.keyspaces.append(name)

    _through(db, now, "MAINTENANCE", timing.seconds(Phase.KEYSPACE), "ACTIVE", added)


def drop_keyspace(db: model.Database, timing: Timing, now: float, name: str) -> None:
    """MAINTENANCE -> ACTIVE; the keyspace disappears once the database is ACTIVE again."""

    def dropped(_: float) -> None:
        if name in db.keyspaces:
            db.keyspaces.remove(name)

    _through(db, now, "MAINTENANCE", timing.seconds(Phase.KEYSPACE), "ACTIVE", dropped)


def add_region(db: model.Database, timing: Timing, now: float, dc: model.Datacenter) -> None:
    """MAINTENANCE -> ACTIVE; the new datacenter shows (INITIALIZING) at once, ACTIVE at the end."""
    dc.state = "INITIALIZING"
    db.datacenters.append(dc)

    def ready(_: float) -> None:
        dc.state = "ACTIVE"

    _through(db, now, "MAINTENANCE", timing.seconds(Phase.REGION_ADD), "ACTIVE", ready)


def remove_region(db: model.Database, timing: Timing, now: float, dc: model.Datacenter) -> None:
    """MAINTENANCE -> ACTIVE; the datacenter is TERMINATING, then TERMINATED (hidden)."""
    dc.state = "TERMINATING"

    def gone(_: float) -> None:
        dc.state = "TERMINATED"

    _through(db, now, "MAINTENANCE", timing.seconds(Phase.REGION_REMOVE), "ACTIVE", gone)
