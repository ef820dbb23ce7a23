"""Who may do what: the organisation's roles, its application tokens, and the permission check."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from astra_operator.simulator import catalog, ids

DRN_PREFIX = "drn:astra:org:"


@dataclasses.dataclass(slots=True)
class Policy:
    """What a role allows: ``actions`` on ``resources`` (DRNs)."""

    description: str
    resources: list[str]
    actions: list[str]
    effect: str = "allow"

    def as_json(self) -> dict[str, Any]:
        """The wire shape (lower-case keys inside ``Policy``)."""
        return {
            "description": self.description,
            "effect": self.effect,
            "resources": list(self.resources),
            "actions": list(self.actions),
        }


@dataclasses.dataclass(slots=True)
class Role:
    """A built-in or custom role."""

    id: str
    name: str
    policy: Policy
    builtin: bool
    updated: str
    updated_by: str


@dataclasses.dataclass(slots=True)
class Token:
    """An application token; only its clientId and roles are ever shown again."""

    client_id: str
    token: str
    roles: list[str]
    generated_on: str
    description: str = ""
    permanent: bool = False  # the admin token and --token ones survive a reset


def parse_policy(raw: object) -> Policy | str:
    """A Policy from a request body, or the reason it is unacceptable."""
    if not isinstance(raw, dict):
        return "policy is required"
    resources, actions = raw.get("resources"), raw.get("actions")
    if not _strings(resources) or not resources:
        return "policy.resources must be a non-empty list of strings"
    if not _strings(actions) or not actions:
        return "policy.actions must be a non-empty list of strings"
    if raw.get("effect") != "allow":
        return 'policy.effect must be "allow"'
    if not isinstance(raw.get("description", ""), str):
        return "policy.description must be a string"
    bad = [r for r in resources if not r.startswith(DRN_PREFIX)]
    if bad:
        return f"invalid resource {bad[0]!r}: resources must start with {DRN_PREFIX}"
    return Policy(str(raw.get("description", "")), list(resources), list(actions))


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _covers(resource: str, org_id: str, db_id: str | None) -> bool:
    """Does a DRN grant access at org level (db_id None) or to database ``db_id``?"""
    parts = resource.split(":")
    if len(parts) < 4 or parts[:3] != ["drn", "astra", "org"]:
        return False
    if parts[3] not in (org_id, "__ORG_ID__", "*"):
        return False
    if db_id is None or len(parts) == 4:
        return True
    return len(parts) >= 6 and parts[4] == "db" and parts[5] in (db_id, "*")


class Iam:
    """Roles and tokens of the one simulated organisation."""

    def __init__(self, org_id: str, idsrc: ids.IdSource, now: Callable[[], str]) -> None:
        self.org_id = org_id
        self._ids = idsrc
        self._now = now
        self.roles: dict[str, Role] = {}
        self.tokens: dict[str, Token] = {}
        self.reset()

    def reset(self) -> None:
        """Built-in roles as shipped; custom roles and non-permanent tokens gone."""
        self.roles = {}
        for name, actions in catalog.BUILTIN_ROLES.items():
            policy = Policy(name, [f"{DRN_PREFIX}__ORG_ID__"], list(actions))
            role_id = catalog.builtin_role_id(name)
            self.roles[role_id] = Role(role_id, name, policy, True, self._now(), "system")
        self.tokens = {t.token: t for t in self.tokens.values() if t.permanent}

    # --- tokens -------------------------------------------------------------------------------

    def authenticate(self, header: str | None) -> Token | None:
        """The token behind an ``Authorization: Bearer AstraCS:...`` header, if valid and known."""
        if not header:
            return None
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer" or ids.client_id_of(value.strip()) is None:
            return None
        return self.tokens.get(value.strip())

    def issue(
        self,
        roles: Iterable[str],
        *,
        token: str | None = None,
        description: str = "",
        permanent: bool = False,
    ) -> tuple[Token, str]:
        """A new token bound to ``roles`` (ids); returns it with its one-time secret."""
        secret = self._ids.secret()
        if token is None:
            client_id = self._ids.client_id()
            token = ids.token_for(client_id, secret)
        else:
            client_id = ids.client_id_of(token) or ""
            if not client_id:
                raise ValueError("token must look like AstraCS:<clientId>:<hex>")
        record = Token(client_id, token, list(roles), self._now(), description, permanent)
        self.tokens[token] = record
        return record, secret

    def revoke(self, client_id: str) -> bool:
        """Forget every token with this clientId; False if there was none."""
        doomed = [t.token for t in self.tokens.values() if t.client_id == client_id]
        for token in doomed:
            del self.tokens[token]
        return bool(doomed)

    def allows(self, token: Token, action: str, db_id: str | None = None) -> bool:
        """Is ``action`` granted to ``token`` (on database ``db_id`` when given)?

        Roles are looked up on every call, so a changed role takes effect immediately.
        """
        for role_id in token.roles:
            role = self.roles.get(role_id)
            if role is None or action not in role.policy.actions:
                continue
            if any(_covers(r, self.org_id, db_id) for r in role.policy.resources):
                return True
        return False

    # --- roles --------------------------------------------------------------------------------

    def find_role(self, ref: str) -> Role | None:
        """A role by id, else by exact name."""
        if ref in self.roles:
            return self.roles[ref]
        return next((r for r in self.roles.values() if r.name == ref), None)

    def name_taken(self, name: str, exclude: str | None = None) -> bool:
        """Is ``name`` used by another role?"""
        return any(r.name == name and r.id != exclude for r in self.roles.values())

    def create_role(self, name: str, policy: Policy, by: str) -> Role:
        """Store a new custom role."""
        role = Role(self._ids.uuid(), name, policy, False, self._now(), by)
        self.roles[role.id] = role
        return role

    def update_role(self, role: Role, name: str, policy: Policy, by: str) -> None:
        """Full replace of a role's name and policy."""
        role.name, role.policy, role.updated, role.updated_by = name, policy, self._now(), by

    def role_json(self, role: Role, *, created: bool = False) -> dict[str, Any]:
        """The PascalCase wire shape; the create answer also carries org and update stamps."""
        body: dict[str, Any] = {"ID": role.id, "Name": role.name, "Policy": role.policy.as_json()}
        if created:
            body.update(
                OrgID=self.org_id, LastUpdateDateTime=role.updated, LastUpdateUserID=role.updated_by
            )
        return body
