"""The AstraToken manager: what the engine asks of application tokens.

References: every ``roleRef`` is resolved from the AstraRole's status in this namespace; until
each has an ID the token waits (Synced=False WaitingForRole) and nothing is issued. The engine
wakes the token when a referenced role's recorded ID changes. ``builtinRole`` names are looked
up in the organization's role list.

Astra shows a token's secret once, in the create reply, so the output Secret is written in the
same pass, right after the create. Every token carries a marker in its description naming this
object (``logic.token.marker``), and a new token's clientId is written to status (as a
revocation due at once) before the Secret write: a pass that dies between the create and the
Secret leaves a token the next pass finds, by either, and revokes. Tokens are never adopted.

Rotation (schedule, the rotate annotation, a deleted or hand-edited Secret, changed roles)
issues the new token, writes it, and keeps the old one in status.pendingRevocations until its
grace period ends. A token revoked outside the cluster is issued again (the engine's
``Missing``), with a Warning event.

No token value is ever put in status, an event, a log line or an exception: values read or
issued are registered with ``astra.redaction`` (which scrubs every log record) and travel as
``SecretStr`` until they are written to the Secret.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Final

from astra_operator.astra import errors, models, redaction
from astra_operator.kube import api as kube_api
from astra_operator.logic import conditions
from astra_operator.logic import token as logic
from astra_operator.reconcilers import engine
from astra_operator.resources import common
from astra_operator.resources import role as rl
from astra_operator.resources import token as tk

READY: Final = common.ConditionType.READY
R = common.ReadyReason
S = tk.TokenSyncedReason
TOKEN_PREFIX: Final = "astracs:"

Obj = engine.Managed[tk.AstraTokenSpec, tk.AstraTokenStatus]
Pass = engine.Pass[tk.AstraTokenSpec, tk.AstraTokenStatus]
Outcome = engine.Outcome[tk.AstraTokenStatus]


def parse(body: object) -> Obj:
    """An AstraToken from its raw body (pydantic.ValidationError on a refused spec)."""
    return engine.parse(engine.as_mapping(body), tk.PLURAL, tk.AstraTokenSpec, tk.AstraTokenStatus)


def register(client_id: str, *values: str) -> None:
    """Scrub token values from every log record. A token's clientId segment stays readable
    (it is the token's ID, shown in status and events); every other segment goes."""
    for value in values:
        if not value:
            continue
        if value.lower().startswith(TOKEN_PREFIX) and client_id in value.split(":")[1:]:
            for segment in value.split(":")[1:]:
                if segment != client_id:
                    redaction.register_secret(segment)
        else:
            redaction.register_secret(value)


def _mark(p: Pass) -> str:
    return logic.marker(p.obj.ref.namespace, p.obj.ref.name, p.obj.uid)


def _secret_name(p: Pass) -> str:
    return logic.secret_name(p.obj.spec, p.obj.ref.name)


def _roles(p: Pass) -> tuple[str, ...]:
    value = p.scratch.get("roles")
    return value if isinstance(value, tuple) else ()


def _secret(p: Pass) -> logic.SecretView | None:
    value = p.scratch.get("secret")
    return value if isinstance(value, logic.SecretView) else None


def _rotate_request(p: Pass) -> str | None:
    return p.obj.annotations.get(tk.ROTATE_ANNOTATION) or None


def _pending_without(p: Pass, *client_ids: str | None) -> tuple[tk.PendingRevocation, ...]:
    return tuple(r for r in logic.pending(p.status) if r.client_id not in client_ids)


async def _secret_view(p: Pass) -> logic.SecretView | None:
    """The output Secret, as far as the decisions need it (values only as a digest)."""
    secret = await p.deps.kube.read_secret(p.obj.ref.namespace, _secret_name(p))
    if secret is None:
        return None
    data = {k: v.get_secret_value() for k, v in secret.data.items()}
    client_id = data.get("clientId", "")
    register(client_id, *(v for k, v in data.items() if k != "clientId"))
    recorded = secret.annotations.get(logic.FINGERPRINT_ANNOTATION)
    return logic.SecretView(
        owned=p.obj.uid in secret.owner_uids,
        client_id=client_id,
        fingerprint_ok=recorded == logic.fingerprint(data),
    )


async def _write_secret(p: Pass, client_id: str, client_secret: str, value: str) -> None:
    data = logic.secret_data(client_id, client_secret, value)
    await p.deps.kube.write_owned_secret(
        p.obj.ref.namespace,
        _secret_name(p),
        kube_api.Owner(tk.KIND, p.obj.ref.name, p.obj.uid),
        data,
        labels={**logic.LABELS, logic.TOKEN_LABEL: p.obj.ref.name},
        annotations={logic.FINGERPRINT_ANNOTATION: logic.fingerprint(data)},
    )


async def _issue(p: Pass, token: str) -> str:
    """Create a token and write it to the Secret; returns its clientId. Until the Secret holds
    it, status lists it as a revocation due now, so a pass that dies in between leaves a token
    the next one revokes."""
    p.action = "create"
    created: models.CreatedToken = await p.astra.create_token(
        list(_roles(p)),
        org_id=str(p.scratch.get("org") or "") or None,
        description=logic.description(p.obj.spec, _mark(p)),
        token=token,
    )
    new = created.client_id
    client_secret = created.secret.get_secret_value() if created.secret else ""
    value = created.token.get_secret_value() if created.token else ""
    register(new, client_secret, value)
    unconfirmed = tk.PendingRevocation(client_id=new, revoke_at=p.now, unconfirmed=True)
    p.update(pending_revocations=(*logic.pending(p.status), unconfirmed))
    await p.save()
    try:
        await _write_secret(p, new, client_secret, value)
    except Exception:
        with contextlib.suppress(errors.AstraError):
            p.action, p.what = "revoke", f"revoke token {new}"
            await p.astra.revoke_token(new, token=token)
            p.update(pending_revocations=_pending_without(p, new))
        raise
    return new


def _issued(p: Pass) -> dict[str, object]:
    """Status fields for a token issued (or found in the Secret) in this pass."""
    return {
        "roles": _roles(p),
        "issued_at": p.now,
        "next_rotation_at": logic.next_rotation(p.obj.spec, p.now),
        "rotate_request": _rotate_request(p) or p.status.rotate_request,
        "last_observed_time": p.now,
    }


def _available(p: Pass) -> conditions.Update:
    return conditions.Update(
        READY,
        "True",
        R.AVAILABLE,
        f"The token {p.status.client_id} is in Secret {_secret_name(p)}.",
    )


def _done(p: Pass) -> Outcome:
    return p.outcome([_available(p), engine.SYNCED_OK], _next_pass(p))


def _next_pass(p: Pass) -> float:
    return logic.next_pass(p.status, p.now, p.config.poll_interval, floor=1.0)


def _nothing_to_do(p: Pass, live: dict[str, models.TokenInfo]) -> bool:
    """The token list shows the current token alive, and nothing is due: no revocation, no
    stray, no rotation, no rotation left half done."""
    current, view = p.status.client_id, _secret(p)
    due, waiting = logic.due(p.status, p.now)
    keep = {c for c in (current, *(r.client_id for r in waiting)) if c}
    return (
        current in live
        and not due
        and all(r.client_id in live for r in waiting)
        and not logic.strays(live.values(), _mark(p), keep)
        and (view is None or view.client_id in ("", current))
        and not logic.rotation_reasons(
            p.status,
            roles=_roles(p),
            rotate_request=_rotate_request(p),
            secret=view,
            now=p.now,
        )
    )


async def _revoke(p: Pass, token: str, client_id: str) -> None:
    p.action, p.what = "revoke", f"revoke token {client_id}"
    with contextlib.suppress(errors.NotFound):
        await p.astra.revoke_token(client_id, token=token)
    p.what = ""


async def _clean(p: Pass, token: str, live: dict[str, models.TokenInfo]) -> None:
    """Revoke the tokens status.pendingRevocations says are due (previous tokens whose grace
    period ended; tokens a pass issued but did not see into the Secret) and the strays (tokens
    with this object's marker that it neither holds nor waits to revoke); keep status in step."""
    current = p.status.client_id
    due, waiting = logic.due(p.status, p.now)
    keep = {c for c in (current, *due, *(r.client_id for r in waiting)) if c}
    unconfirmed = {r.client_id for r in logic.pending(p.status) if r.unconfirmed}
    for client_id in sorted((set(due) & live.keys()) - {current} - unconfirmed):
        await _revoke(p, token, client_id)
        p.event("Revoked", f"Revoked the previous token {client_id}: its grace period ended.")
    strays = logic.strays(live.values(), _mark(p), keep - unconfirmed)
    for client_id in sorted(set(strays) | ((unconfirmed & set(due) & live.keys()) - {current})):
        await _revoke(p, token, client_id)
        p.event(
            "RevokedStray",
            f"Revoked token {client_id}, issued for this object by a pass that ended before a "
            "Secret held it (a token no Secret holds is never kept).",
        )
    kept = tuple(r for r in waiting if r.client_id in live and r.client_id != current)
    p.update(pending_revocations=kept or None)


def _complete_rotation(p: Pass, live: dict[str, models.TokenInfo]) -> None:
    """The Secret holds the live token a rotation issued (status lists it as unconfirmed) but
    status still names the old one: that pass ended after the Secret write. Take the Secret's
    token as current; the old one goes after the grace period."""
    view, current = _secret(p), p.status.client_id
    if view is None or not view.fingerprint_ok or view.client_id in ("", current):
        return
    held = live.get(view.client_id)
    unconfirmed = {r.client_id for r in logic.pending(p.status) if r.unconfirmed}
    if held is None or view.client_id not in unconfirmed:
        return
    revoke_at = p.now + logic.grace_period(p.obj.spec)
    kept = _pending_without(p, view.client_id, current)
    previous = (tk.PendingRevocation(client_id=current, revoke_at=revoke_at),) if current else ()
    p.update(
        client_id=view.client_id,
        pending_revocations=(*kept, *previous),
        **{**_issued(p), "roles": tuple(sorted(set(held.roles)))},
    )
    p.deps.owners.claim(tk.PLURAL, view.client_id, p.obj.claimant)
    p.event(
        "RotationCompleted",
        f"Secret {_secret_name(p)} holds token {view.client_id}, written by a rotation whose pass "
        f"ended early; it replaces {current}, which is revoked at {_when(revoke_at)}.",
    )


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _rotate(p: Pass, token: str, reasons: list[str]) -> None:
    old = p.status.client_id
    new = await _issue(p, token)
    p.deps.owners.claim(tk.PLURAL, new, p.obj.claimant)
    grace = logic.grace_period(p.obj.spec)
    revoke_at = p.now + grace
    previous = (tk.PendingRevocation(client_id=old, revoke_at=revoke_at),) if old else ()
    p.update(
        client_id=new, pending_revocations=(*_pending_without(p, new, old), *previous), **_issued(p)
    )
    await p.save()
    p.event(
        "Rotated",
        f"Issued token {new} and wrote it to Secret {_secret_name(p)} ({'; '.join(reasons)}); "
        f"the previous token {old} keeps working for {_duration(grace)}, until {_when(revoke_at)}.",
    )


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = "".join(f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (seconds, "s")) if n)
    return text or "0s"


class TokenKind:
    """The engine's view of AstraToken."""

    info = engine.KindInfo(
        kind=tk.KIND,
        plural=tk.PLURAL,
        noun="token",
        id_field="client_id",
        id_label="clientId",
        wake_annotations=(tk.ROTATE_ANNOTATION,),
    )

    def adopt_id(self, spec: tk.AstraTokenSpec) -> str | None:
        return None  # a token's secret is shown once: one made elsewhere cannot be adopted

    def unknown_ready(self, p: Pass) -> conditions.Update:
        if p.status.client_id is None:
            return conditions.Update(READY, "False", R.CREATING, "No token yet.")
        return conditions.Update(READY, "Unknown", R.UNAVAILABLE, "Not observed yet.")

    async def prepare(self, p: Pass, token: str) -> Outcome | None:
        p.area = "token"
        found, missing, without = await p.referenced(
            rl.PLURAL, "roleID", logic.role_refs(p.obj.spec)
        )
        if missing or without:
            return p.outcome([logic.waiting_for_roles(missing, without)], p.config.poll_interval)
        p.scratch["org"] = await p.organization(token)
        builtin: dict[str, str] = {}
        names = logic.builtin_names(p.obj.spec)
        if names:
            p.area, p.action = "role", "list"
            listed = await p.listed("roles", lambda: p.astra.list_roles(token=token))
            if listed is None:
                listed = await p.astra.list_roles(token=token)
            p.area = "token"
            builtin, unknown = logic.resolve_builtin(names, listed)
            if unknown:
                update = logic.builtin_missing(unknown)
                return p.synced_false(update.reason, update.message, p.config.poll_interval)
        p.scratch["roles"] = logic.role_ids(p.obj.spec, found, builtin)
        view = await _secret_view(p)
        if view is not None and not view.owned:
            message = (
                f"Secret {_secret_name(p)} already exists and does not belong to this "
                "AstraToken: the operator will not overwrite it, so no token is issued. Set "
                "spec.secretName to another name, or remove that Secret."
            )
            return p.synced_false(S.SECRET_CONFLICT, message, p.config.poll_interval)
        p.scratch["secret"] = view
        return None

    async def same_name(self, p: Pass, token: str) -> list[str]:
        mark = _mark(p)
        return sorted(
            t.client_id for t in await p.astra.list_tokens(token=token) if logic.carries(t, mark)
        )

    def marker(self, p: Pass, existing: list[str]) -> common.CreatePending:
        return logic.pending_marker(_mark(p), p.now, existing)

    async def create(self, p: Pass, token: str) -> str:
        return await _issue(p, token)

    def created(self, p: Pass, new_id: str) -> Outcome:
        p.update(pending_revocations=_pending_without(p, new_id) or None, **_issued(p))
        p.event("Issued", f"Issued Astra token {new_id} and wrote it to Secret {_secret_name(p)}.")
        return _done(p)

    async def matching(self, p: Pass, token: str, marker: common.CreatePending) -> list[str]:
        """Never adopts: a token the pass did not see into a Secret is revoked (here, with
        every other stray), and the engine issues a fresh one."""
        listed = await p.astra.list_tokens(token=token)
        await _clean(p, token, {t.client_id: t for t in listed})
        await p.save()
        return []

    async def verify(self, p: Pass, token: str, external_id: str) -> tuple[str, str] | None:
        return None  # never asked: adopt_id is always None

    async def observe(self, p: Pass, token: str, external_id: str) -> Outcome:
        p.action = "list"
        listed = await p.listed("tokens", lambda: p.astra.list_tokens(token=token))
        if listed is not None and _nothing_to_do(p, {t.client_id: t for t in listed}):
            p.update(next_rotation_at=logic.next_rotation(p.obj.spec, p.status.issued_at))
            return p.quiet_outcome([_available(p), engine.SYNCED_OK], _next_pass(p))
        live = {t.client_id: t for t in await p.astra.list_tokens(token=token)}
        if external_id not in live:
            issued = p.status.issued_at
            if (
                issued is not None
                and (p.now - issued).total_seconds() < p.config.create_retry_grace
            ):
                return p.outcome([], p.config.busy_requeue)  # Astra's list may lag a create
            raise engine.Missing("was revoked outside Kubernetes")
        _complete_rotation(p, live)
        await _clean(p, token, live)
        reasons = logic.rotation_reasons(
            p.status,
            roles=_roles(p),
            rotate_request=_rotate_request(p),
            secret=_secret(p),
            now=p.now,
        )
        if reasons:
            await _rotate(p, token, reasons)
        else:
            p.update(
                next_rotation_at=logic.next_rotation(p.obj.spec, p.status.issued_at),
                last_observed_time=p.now,
            )
        return _done(p)

    def steady(self, p: Pass) -> bool:
        return True

    def protected(self, obj: Obj) -> str | None:
        return None

    async def delete(self, p: Pass, token: str, external_id: str) -> Outcome:
        p.action = "list"
        listed = await p.astra.list_tokens(token=token)
        live = {t.client_id for t in listed}
        ours = {external_id, *(r.client_id for r in logic.pending(p.status))}
        ours |= set(logic.strays(listed, _mark(p), ()))
        for client_id in sorted(ours & live):
            await _revoke(p, token, client_id)
        others = sorted((ours & live) - {external_id})
        also = f", and the previous or stray tokens {', '.join(others)}" if others else ""
        p.event("Revoked", f"Revoked Astra token {external_id}{also}.")
        return p.outcome([], 0, done=True)

    async def retain(self, p: Pass, external_id: str) -> Outcome | None:
        """deletionPolicy Retain: the token stays, and so does its Secret (released from this
        object, so deleting it does not delete the Secret); previous tokens still in their
        grace period are revoked, as they would have been."""
        name = _secret_name(p)
        if await p.deps.kube.release_secret(p.obj.ref.namespace, name, p.obj.uid):
            p.event("SecretKept", f"Secret {name} stays, holding token {external_id}.")
        previous = [r.client_id for r in logic.pending(p.status) if r.client_id != external_id]
        if not previous:
            return None
        try:
            token = await p.token()
        except engine.CredentialsProblem as exc:
            return p.synced_false(exc.reason, f"Cannot revoke previous tokens: {exc.message}", 5.0)
        p.action = "list"
        live = {t.client_id for t in await p.astra.list_tokens(token=token)}
        for client_id in sorted(set(previous) & live):
            await _revoke(p, token, client_id)
        return None


KIND: Final = TokenKind()
