"""Pure decisions about a database's IP access list: what Astra holds against what the spec
asks, compared as a set of CIDRs (a bare address is its /32).

The plan is three kinds of call, in the order the facts about the API dictate: additions in one
POST, changed entries and the enforcement flag in one PATCH, and each removal in its own DELETE
(the API honours only the first address of a DELETE).
"""

from __future__ import annotations

import dataclasses

from astra_operator.astra import models
from astra_operator.resources import database as db


def cidr(address: str) -> str:
    """The address as a CIDR: ``203.0.113.7`` is ``203.0.113.7/32``."""
    address = address.strip()
    return address if "/" in address else f"{address}/32"


@dataclasses.dataclass(frozen=True)
class Plan:
    """The calls that make Astra hold the spec's list."""

    add: tuple[models.AddressRequest, ...] = ()
    update: tuple[models.AddressRequest, ...] = ()
    """Entries Astra holds whose enabled flag or description differ (as Astra writes them)."""
    enable: bool | None = None
    """The enforcement flag to set, when it differs."""
    remove: tuple[str, ...] = ()
    """Addresses to delete, as Astra writes them."""

    @property
    def empty(self) -> bool:
        return not (self.add or self.update or self.remove) and self.enable is None

    def describe(self) -> str:
        """The plan in words, naming each address."""
        parts = [f"add {a.address}" for a in self.add]
        parts += [f"update {a.address}" for a in self.update]
        parts += [f"remove {a}" for a in self.remove]
        if self.enable is not None:
            parts.append("enforce the list" if self.enable else "stop enforcing the list")
        return ", ".join(parts)


def observed(held: models.AccessList | None) -> db.ObservedAccessList:
    """Status's view of what Astra holds (no list at all reads as empty and not enforced)."""
    if held is None:
        return db.ObservedAccessList(enabled=False)
    entries = sorted(held.addresses, key=lambda e: cidr(e.address))
    return db.ObservedAccessList(
        enabled=held.enabled,
        addresses=tuple(
            db.ObservedAddress(
                address=e.address, enabled=bool(e.enabled), description=e.description or ""
            )
            for e in entries
        ),
    )


def plan(desired: db.AccessList, held: db.ObservedAccessList, *, removals: bool = True) -> Plan:
    """What to call so that Astra holds ``desired``; ``removals=False`` keeps extra entries
    (an adopted database whose removals are not confirmed)."""
    have = {cidr(e.address): e for e in held.addresses}
    want = {cidr(a.address): a for a in desired.addresses}
    add = tuple(
        models.AddressRequest(address=key, enabled=a.enabled, description=a.description)
        for key, a in sorted(want.items())
        if key not in have
    )
    update = tuple(
        models.AddressRequest(
            address=have[key].address, enabled=a.enabled, description=a.description
        )
        for key, a in sorted(want.items())
        if key in have and (have[key].enabled, have[key].description) != (a.enabled, a.description)
    )
    remove = tuple(e.address for key, e in sorted(have.items()) if key not in want)
    return Plan(
        add=add,
        update=update,
        enable=desired.enabled if desired.enabled != held.enabled else None,
        remove=remove if removals else (),
    )


def held_back(desired: db.AccessList, held: db.ObservedAccessList) -> list[str]:
    """The removals an unconfirmed adoption holds back, in words."""
    return [f"access-list address {a}" for a in plan(desired, held).remove]
