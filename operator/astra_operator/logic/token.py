"""Pure decisions for AstraToken: the marker, durations, the Secret's content, when to rotate.

Everything here is a function of its arguments: the reconciler reads the referenced AstraRoles,
the organization's role and token lists and the output Secret, and asks this module what they
mean. No token value is ever returned in anything but the Secret's data.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import re
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Final

from astra_operator.astra import models
from astra_operator.logic import conditions
from astra_operator.resources import common
from astra_operator.resources import token as tk

SYNCED: Final = common.ConditionType.SYNCED
S = tk.TokenSyncedReason
MARKER_PREFIX: Final = "astra-operator"
FINGERPRINT_ANNOTATION: Final = "astra.operator.dev/token-fingerprint"
"""On the output Secret: a SHA-256 of the data the operator wrote, to notice hand edits."""
LABELS: Final = {"app.kubernetes.io/managed-by": "astra-operator"}
TOKEN_LABEL: Final = "astra.operator.dev/astratoken"
"""On the output Secret: metadata.name of the AstraToken that wrote it."""
_DURATION: Final = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def marker(namespace: str, name: str, uid: str) -> str:
    """The text every token of one object carries in its description (the uid makes it unique
    to this object, also across a delete and re-create with the same name)."""
    return f"{MARKER_PREFIX} {namespace}/{name} {uid}"


def description(spec: tk.AstraTokenSpec, mark: str) -> str:
    """The description sent to Astra: spec.description followed by the marker."""
    return f"{spec.description} [{mark}]" if spec.description else f"[{mark}]"


def carries(token: models.TokenInfo, mark: str) -> bool:
    """Whether ``token`` was issued for the object whose marker is ``mark``."""
    return (token.description or "").endswith(f"[{mark}]")


def secret_name(spec: tk.AstraTokenSpec, metadata_name: str) -> str:
    """The output Secret: spec.secretName, or <metadata.name>-token."""
    return spec.secret_name or f"{metadata_name}{tk.SECRET_SUFFIX}"


def duration(text: str) -> timedelta:
    """A duration as spec writes it (``720h``, ``1h30m``, ``90s``); ValueError otherwise."""
    found = _DURATION.match(text)
    if not text or found is None:
        raise ValueError(f"not a duration: {text!r}")
    hours, minutes, seconds = (int(g) if g else 0 for g in found.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def grace_period(spec: tk.AstraTokenSpec) -> timedelta:
    """How long a previous token keeps working after a rotation."""
    rotation = spec.rotation or tk.Rotation()
    return duration(rotation.grace_period)


def rotation_every(spec: tk.AstraTokenSpec) -> timedelta | None:
    """The scheduled rotation interval, if any."""
    every = spec.rotation.every if spec.rotation else None
    return duration(every) if every else None


def next_rotation(spec: tk.AstraTokenSpec, issued_at: datetime | None) -> datetime | None:
    """When the token issued at ``issued_at`` is due for its scheduled rotation."""
    every = rotation_every(spec)
    return issued_at + every if every is not None and issued_at is not None else None


def role_refs(spec: tk.AstraTokenSpec) -> tuple[str, ...]:
    """Names of the AstraRoles the roles reference, sorted, each once."""
    return tuple(sorted({r.role_ref.name for r in spec.roles if r.role_ref}))


def builtin_names(spec: tk.AstraTokenSpec) -> tuple[str, ...]:
    """Names of the built-in roles the spec asks for, sorted, each once."""
    return tuple(sorted({r.builtin_role for r in spec.roles if r.builtin_role}))


def resolve_builtin(
    names: Iterable[str], roles: Iterable[models.Role]
) -> tuple[dict[str, str], list[str]]:
    """The IDs of the built-in roles named, from the organization's role list; and the names
    not found there. Custom roles cannot take a built-in name, so a name is enough."""
    by_name = {r.name: r.id for r in roles if r.name}
    found = {n: by_name[n] for n in names if n in by_name}
    return found, sorted(n for n in names if n not in by_name)


def role_ids(
    spec: tk.AstraTokenSpec, refs: Mapping[str, str], builtin: Mapping[str, str]
) -> tuple[str, ...]:
    """Every role of the spec as an ID (``refs``: AstraRole name -> roleID, ``builtin``:
    built-in name -> ID), sorted, each once. KeyError when one is missing."""
    found = set()
    for role in spec.roles:
        if role.role_ref is not None:
            found.add(refs[role.role_ref.name])
        elif role.builtin_role is not None:
            found.add(builtin[role.builtin_role])
        elif role.role_id is not None:
            found.add(role.role_id)
    return tuple(sorted(found))


def waiting_for_roles(missing: Collection[str], without_id: Collection[str]) -> conditions.Update:
    """Synced=False while referenced AstraRoles are absent or have no status.roleID yet."""
    parts = [f"{name} (not found in this namespace)" for name in sorted(missing)]
    parts += [f"{name} (no status.roleID yet)" for name in sorted(without_id)]
    message = (
        f"Waiting for AstraRole {', '.join(parts)}: the token is issued once every role in "
        "spec.roles has an ID."
    )
    return conditions.Update(SYNCED, "False", S.WAITING_FOR_ROLE, message)


def builtin_missing(names: Collection[str]) -> conditions.Update:
    """Synced=False: built-in roles the organization's role list does not have."""
    message = (
        f"The organization has no built-in role named {', '.join(repr(n) for n in names)}: "
        "check spec.roles[].builtinRole (the names are case-sensitive)."
    )
    return conditions.Update(SYNCED, "False", S.ROLE_NOT_FOUND, message)


def secret_data(client_id: str, client_secret: str, token: str) -> dict[str, str]:
    """The output Secret's data."""
    return dict(zip(tk.SECRET_KEYS, (client_id, client_secret, token), strict=True))


def fingerprint(data: Mapping[str, str]) -> str:
    """A digest of a Secret's data: equal data, equal digest. The data holds random secrets
    of 40+ characters, so the digest reveals nothing of them."""
    canonical = json.dumps(dict(sorted(data.items())), separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


class SecretState(enum.Enum):
    """What the output Secret holds, compared with what the operator wrote."""

    MISSING = "missing"
    FOREIGN = "foreign"
    """Exists, and this object does not own it."""
    EDITED = "edited"
    """Owned, but its data is not what the operator wrote."""
    INTACT = "intact"


@dataclasses.dataclass(frozen=True)
class SecretView:
    """The output Secret as the reconciler read it (the values only as a digest)."""

    owned: bool
    client_id: str
    """Its clientId key ("" when absent)."""
    fingerprint_ok: bool
    """Its data matches the digest the operator recorded on it."""


def secret_state(view: SecretView | None) -> SecretState:
    """What ``view`` (None: no Secret) means."""
    if view is None:
        return SecretState.MISSING
    if not view.owned:
        return SecretState.FOREIGN
    return SecretState.INTACT if view.fingerprint_ok else SecretState.EDITED


def rotation_reasons(
    status: tk.AstraTokenStatus,
    *,
    roles: tuple[str, ...],
    rotate_request: str | None,
    secret: SecretView | None,
    now: datetime,
) -> list[str]:
    """Why the current token must be replaced now, in words (empty: it stays)."""
    reasons = []
    if tuple(status.roles or ()) != roles:
        reasons.append("the roles changed (an Astra token cannot change its roles)")
    if rotate_request and rotate_request != status.rotate_request:
        reasons.append(f"the annotation {tk.ROTATE_ANNOTATION} asks for it")
    if status.next_rotation_at is not None and now >= status.next_rotation_at:
        reasons.append("spec.rotation.every is up")
    state = secret_state(secret)
    if state is SecretState.MISSING:
        reasons.append("the Secret was deleted")
    elif state is SecretState.EDITED or (
        secret is not None and secret.client_id != status.client_id
    ):
        reasons.append("the Secret was edited by hand")
    return reasons


def strays(listed: Iterable[models.TokenInfo], mark: str, keep: Collection[str]) -> list[str]:
    """clientIds of tokens carrying this object's marker that it does not keep: tokens issued
    by a pass that died before a Secret held them."""
    return sorted(t.client_id for t in listed if carries(t, mark) and t.client_id not in keep)


def pending(status: tk.AstraTokenStatus) -> tuple[tk.PendingRevocation, ...]:
    return tuple(status.pending_revocations or ())


def due(
    status: tk.AstraTokenStatus, now: datetime
) -> tuple[list[str], tuple[tk.PendingRevocation, ...]]:
    """The pending revocations due now (clientIds), and those still waiting."""
    ready = [r.client_id for r in pending(status) if r.revoke_at <= now]
    return ready, tuple(r for r in pending(status) if r.revoke_at > now)


def next_pass(status: tk.AstraTokenStatus, now: datetime, poll: float, *, floor: float) -> float:
    """Seconds until the next pass: the poll interval, or sooner for a revocation or a
    scheduled rotation that falls due before it (never less than ``floor``)."""
    moments = [r.revoke_at for r in pending(status)]
    if status.next_rotation_at is not None:
        moments.append(status.next_rotation_at)
    soonest = min([(m - now).total_seconds() for m in moments], default=poll)
    return max(min(poll, soonest), floor)


def pending_marker(mark: str, now: datetime, existing: Iterable[str]) -> common.CreatePending:
    """The record written before a create is sent; ``existing`` carried the marker before."""
    return common.CreatePending(requested_at=now, name=mark, existing_ids=tuple(sorted(existing)))
