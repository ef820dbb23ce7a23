"""One owner per external resource: which object manages which Astra ID, across namespaces.

Ownership is derived from the objects' status (the ID an object recorded), as the handlers see
it in their index of every watched object, plus the claims made in this process since (an ID
is claimed, synchronously, before it is written to status, so two passes can never both take
it). When two objects record the same ID, the older object (creation time, then namespace/name)
is the owner; the other one never writes to it and never deletes it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable


@dataclasses.dataclass(frozen=True, order=True)
class Claimant:
    """An object that manages, or wants to manage, an Astra resource."""

    created: str
    """metadata.creationTimestamp (RFC 3339 sorts by time)."""
    namespace: str
    name: str
    uid: str = dataclasses.field(compare=False)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


Recorded = Callable[[str, str], Iterable[Claimant]]
"""(plural, external ID) -> the objects whose status records that ID."""


def _nothing(plural: str, external_id: str) -> Iterable[Claimant]:
    return ()


@dataclasses.dataclass
class Owners:
    """The owner registry of one operator process."""

    recorded: Recorded = _nothing
    claims: dict[tuple[str, str], Claimant] = dataclasses.field(default_factory=dict)

    def owner(self, plural: str, external_id: str) -> Claimant | None:
        """Who manages ``external_id`` now, if anyone."""
        found = list(self.recorded(plural, external_id))
        claim = self.claims.get((plural, external_id))
        if claim is not None and all(c.uid != claim.uid for c in found):
            found.append(claim)
        return min(found) if found else None

    def other_owner(self, plural: str, external_id: str, me: Claimant) -> Claimant | None:
        """The owner of ``external_id`` when it is not ``me``."""
        owner = self.owner(plural, external_id)
        return owner if owner is not None and owner.uid != me.uid else None

    def claim(self, plural: str, external_id: str, me: Claimant) -> Claimant | None:
        """Take ``external_id`` for ``me``; returns the other owner instead if there is one."""
        other = self.other_owner(plural, external_id, me)
        if other is None:
            self.claims[(plural, external_id)] = me
        return other

    def owned_elsewhere(self, plural: str, ids: Iterable[str], me: Claimant) -> set[str]:
        """Those of ``ids`` that another object manages."""
        return {i for i in ids if self.other_owner(plural, i, me) is not None}

    def release(self, plural: str, uid: str) -> None:
        """Forget every in-process claim of the object ``uid`` (it was deleted)."""
        for key in [k for k, c in self.claims.items() if k[0] == plural and c.uid == uid]:
            del self.claims[key]
