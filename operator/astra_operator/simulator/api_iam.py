"""Custom roles and application tokens: PascalCase roles, one-time secrets, JSON-string errors."""

from __future__ import annotations

from aiohttp import web

from astra_operator.simulator import guards, iam, wire
from astra_operator.simulator.pipeline import Call, Route

# --- roles ----------------------------------------------------------------------------------------


def _role_input(raw: object) -> tuple[str, iam.Policy]:
    body = guards.json_object(raw)
    name = guards.text(body, "name")
    policy = iam.parse_policy(body.get("policy"))
    if isinstance(policy, str):
        raise wire.ApiError(400, policy)
    return name, policy


def _role(call: Call) -> iam.Role:
    role_id = call.param("roleID")
    role = call.world.iam.roles.get(role_id)
    if role is None:
        raise wire.ApiError(404, f"role {role_id} not found")
    return role


async def list_roles(call: Call) -> web.StreamResponse:
    """``GET /v2/organizations/roles``: built-in roles first, then custom ones."""
    directory = call.world.iam
    return wire.ok([directory.role_json(role) for role in directory.roles.values()])


async def create_role(call: Call) -> web.StreamResponse:
    """``POST /v2/organizations/roles``: 201 with ID, Name, Policy, OrgID, LastUpdate*."""
    name, policy = _role_input(await call.body())
    directory = call.world.iam
    if directory.name_taken(name):
        raise wire.ApiError(409, f"a role named {name!r} already exists")
    role = directory.create_role(name, policy, call.token.client_id)
    return wire.ok(directory.role_json(role, created=True), 201)


async def get_role(call: Call) -> web.StreamResponse:
    """``GET /v2/organizations/roles/{roleID}``."""
    return wire.ok(call.world.iam.role_json(_role(call)))


async def update_role(call: Call) -> web.StreamResponse:
    """``PUT /v2/organizations/roles/{roleID}``: full replace, 200 with no body."""
    role = _role(call)
    name, policy = _role_input(await call.body())
    directory = call.world.iam
    if role.builtin:
        raise wire.ApiError(400, "default roles cannot be modified")
    if directory.name_taken(name, exclude=role.id):
        raise wire.ApiError(409, f"a role named {name!r} already exists")
    directory.update_role(role, name, policy, call.token.client_id)
    return wire.empty(200)


async def delete_role(call: Call) -> web.StreamResponse:
    """``DELETE /v2/organizations/roles/{roleID}``: 204. Tokens bound to it lose its rights."""
    role = _role(call)
    if role.builtin:
        raise wire.ApiError(400, "default roles cannot be deleted")
    del call.world.iam.roles[role.id]
    return wire.empty(204)


# --- tokens ---------------------------------------------------------------------------------------


async def create_token(call: Call) -> web.StreamResponse:
    """``POST /v2/tokens`` and ``POST /v2/clientIdSecrets``: 200 with the secret, shown once.

    Roles are role ids; anything else is accepted and grants nothing (as in the real API).
    """
    body = guards.json_object(await call.body())
    roles = body.get("roles")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise wire.ApiError(400, "roles must be a non-empty array of role ids")
    org_id = body.get("orgId") or call.world.org_id
    if org_id != call.world.org_id:
        raise wire.ApiError(404, f"organization {org_id} not found")
    description = body.get("description")
    token, secret = call.world.iam.issue(
        roles, description=description if isinstance(description, str) else ""
    )
    return wire.ok(
        {
            "clientId": token.client_id,
            "orgId": org_id,
            "secret": secret,
            "token": token.token,
            "generatedOn": token.generated_on,
            "roles": list(token.roles),
        }
    )


async def list_tokens(call: Call) -> web.StreamResponse:
    """``GET /v2/clientIdSecrets``: ``{"clients": [...]}`` without any secret."""
    clients = [
        {
            "clientId": t.client_id,
            "roles": list(t.roles),
            "generatedOn": t.generated_on,
            "description": t.description,
            "tokenExpiry": None,
        }
        for t in call.world.iam.tokens.values()
    ]
    return wire.ok({"clients": clients})


async def delete_token(call: Call) -> web.StreamResponse:
    """``DELETE /v2/clientIdSecrets/{clientId}``: 200; the token stops working at once."""
    client_id = call.param("clientId")
    if not call.world.iam.revoke(client_id):
        raise wire.ApiError(400, f"client id {client_id} not found")
    return wire.empty(200)


_ROLES = "/v2/organizations/roles"
_S = wire.Style.STRING
ROUTES = [
    Route("GET", _ROLES, list_roles, "org-role-read", _S),
    Route("POST", _ROLES, create_role, "org-role-write", _S),
    Route("GET", f"{_ROLES}/{{roleID}}", get_role, "org-role-read", _S),
    Route("PUT", f"{_ROLES}/{{roleID}}", update_role, "org-role-write", _S),
    Route("DELETE", f"{_ROLES}/{{roleID}}", delete_role, "org-role-delete", _S),
    Route("POST", "/v2/tokens", create_token, "org-token-write", _S),
    Route("POST", "/v2/clientIdSecrets", create_token, "org-token-write", _S),
    Route("GET", "/v2/clientIdSecrets", list_tokens, "org-token-read", _S),
    Route("DELETE", "/v2/clientIdSecrets/{clientId}", delete_token, "org-token-write", _S),
]
