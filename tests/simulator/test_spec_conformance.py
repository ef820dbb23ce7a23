"""Every simulator answer, for every implemented endpoint, checked against the spec over real HTTP.

One scenario drives every route the simulator serves (and a range of its errors) through real
HTTP; every answer is recorded and checked against the vendored spec (``spec.PATH``):

- its status must be one the spec declares for the operation;
- its body must validate against the schema the spec declares for that status and content type,
  or be empty where the spec declares none;
- objects may carry no field the spec does not declare (the spec is made strict: every object
  schema gets ``additionalProperties: false``), so a field that is null where the spec says
  string, or a field nobody documented, cannot slip through.

Where the real API is known to differ from the spec (the fact sheet real clients were written
from), the simulator follows the real API, and the spec is patched below: each patch says where
and why. Nothing else is exempt.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30ReadValidator

from astra_operator.simulator import Simulator, server, wire
from tests.simulator import spec
from tests.simulator.helpers import CLASSIC, SERVERLESS, Clock, bearer, mint

Json = dict[str, Any]
STRING: Json = {"type": "string"}

# --- the patches: where the real API differs from the spec, and why ------------------------------

# Fields real responses carry that the spec's schema does not declare.
EXTRA_FIELDS: dict[str, dict[str, tuple[Json, str]]] = {
    "Database": {
        "lastUsageTime": (STRING, "in real responses, not in the spec (fact sheet: Database)"),
        "observedStatus": (STRING, "in real responses, not in the spec (fact sheet: Database)"),
    },
    "DatabaseInfo": {
        "keyspaces": (
            {"type": "array", "items": STRING},
            "every keyspace; in real responses, not in the spec (fact sheet: Database)",
        ),
        "engineType": (
            {"type": "string", "nullable": True},
            "in real responses, not in the spec; a real answer shows null (fact sheet: Database)",
        ),
    },
    "Datacenter": {
        "dateCreated": (STRING, "in real responses, not in the spec (fact sheet: Database)"),
    },
    "AvailableRegionCombination": {
        "regionDisplay": (STRING, "read by the Java client (fact sheet: regions catalogues)"),
        "regionContinent": (STRING, "read by the Java client (fact sheet: regions catalogues)"),
    },
    "Organization": {
        "name": (STRING, "the spec lists only id; the wire has name too (fact sheet: currentOrg)"),
    },
    "ClientRole": {
        "generatedOn": (STRING, "real token listings carry it (fact sheet: tokens)"),
        "description": (STRING, "real token listings carry it (fact sheet: tokens)"),
        "tokenExpiry": (
            {"type": "string", "nullable": True},
            "real token listings carry it, null for a token that never expires (fact sheet)",
        ),
    },
    "GenerateTokenResponse": {
        "generatedOn": (STRING, "the real create-token answer carries it (fact sheet: tokens)"),
    },
}

# Enum values the real API uses that the spec's enums lack.
ENUM_EXTRAS: dict[str, tuple[list[str], str]] = {
    "StatusEnum": (
        [
            "ASSOCIATING",
            "DECOMMISSIONING",
            "DEGRADED",
            "HIBERNATED",
            "HIBERNATING",
            "RESUMING",
            "SYNCHRONIZING",
            "PLACING",
            "SUSPENDING",
        ],
        "statuses real clients know and the spec does not: an open set (fact sheet: statuses)",
    ),
    "PolicyAction": (
        [
            "accesslist-read",
            "accesslist-write",
            "db-data-import",
            "db-manage-privateendpoint",
            "db-manage-region",
            "db-manage-thirdpartymetrics",
            "org-cmk-read",
            "org-cmk-write",
            "org-integrations-read",
            "org-integrations-write",
            "org-stream-manage",
        ],
        "actions real built-in roles grant that the enum lacks (fact sheet: roles)",
    ),
}

ROLE_REASON = (
    "the real API writes roles with PascalCase keys (ID, Name, Policy; the create answer also "
    "OrgID, LastUpdateDateTime, LastUpdateUserID) where the spec says id, name, policy, "
    "last_update_*; Policy's own keys stay lower case (fact sheet: roles)"
)
ERROR_REASON = (
    "the spec's Error requires `id` but names the property `ID`: the wire key is ID "
    "(fact sheet: error body format)"
)


def _pascal_role(role: Json) -> Json:
    """The spec's ``Role`` with the wire's PascalCase keys."""
    props = role["properties"]
    return {
        "type": "object",
        "required": ["ID", "Name", "Policy"],
        "properties": {
            "ID": props["id"],
            "Name": props["name"],
            "Policy": props["policy"],
            "OrgID": STRING,
            "LastUpdateDateTime": STRING,
            "LastUpdateUserID": props["last_update_userid"],
        },
    }


def _strict(node: object) -> None:
    """Every object schema with declared properties accepts no other property."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _strict(value)
    elif isinstance(node, list):
        for value in node:
            _strict(value)


def _patched() -> Json:
    patched = copy.deepcopy(spec.load())
    schemas = patched["components"]["schemas"]
    for name, fields in EXTRA_FIELDS.items():
        schemas[name]["properties"].update({field: s for field, (s, _) in fields.items()})
    for name, (values, _) in ENUM_EXTRAS.items():
        schemas[name]["enum"] = [*schemas[name]["enum"], *values]
    schemas["Role"] = _pascal_role(schemas["Role"])
    schemas["Error"]["required"] = ["ID", "message"]
    _strict(patched)
    return patched


PATCHED = _patched()


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


@dataclasses.dataclass(frozen=True)
class Deviation:
    """An answer of the real API the spec does not describe: what the body is instead, and why.

    ``body`` is the schema of the body (JSON), ``"text"`` for a text/plain string, or None for an
    empty body; ``when`` narrows it to some requests of the operation.
    """

    method: str
    path: str  # the spec's path template
    statuses: str  # a regex matched against the status, e.g. "200" or "4..|5.."
    body: Json | str | None
    reason: str
    when: Callable[[httpx.Request], bool] = lambda request: True

    def applies(self, request: httpx.Request, status: int) -> bool:
        return re.fullmatch(self.statuses, str(status)) is not None and self.when(request)


_DB = "/v2/databases/{databaseId}"
_STYLE_REASON = (
    "roles and tokens write their errors as a bare JSON string, access lists as text/plain and "
    "the serverless region catalogue as null, whatever the spec declares (fact sheet: error "
    "body format)"
)


def _style_deviations() -> list[Deviation]:
    """Error bodies in the style each endpoint family really uses."""
    bodies: dict[wire.Style, Json | str] = {
        wire.Style.STRING: STRING,
        wire.Style.TEXT: "text",
        wire.Style.NULL: {"enum": [None], "nullable": True},
    }
    return [
        Deviation(route.method, route.template, "4..|5..", bodies[route.style], _STYLE_REASON)
        for route in server.ROUTES
        if route.style in bodies
    ]


DEVIATIONS = [
    Deviation(
        "POST",
        f"{_DB}/secureBundleURL",
        "200",
        _ref("CredsURL"),
        "without all=true the real API answers one CredsURL object, not an array (fact sheet: "
        "secure connect bundle)",
        when=lambda request: request.url.params.get("all", "").lower() != "true",
    ),
    Deviation(
        "GET",
        "/v2/clientIdSecrets",
        "200",
        _ref("ClientRoleList"),
        "the spec wraps ClientRoleList in an untyped `items`, which checks nothing; the wire is "
        'one {"clients": [...]} object (fact sheet: tokens)',
    ),
    *(
        Deviation(
            "POST",
            path,
            "200",
            _ref("GenerateTokenResponse"),
            "the spec wraps GenerateTokenResponse in an untyped `items`, which checks nothing; "
            "the wire is one object (fact sheet: tokens)",
        )
        for path in ("/v2/tokens", "/v2/clientIdSecrets")
    ),
    Deviation(
        "POST",
        f"{_DB}/keyspaces/{{keyspaceName}}",
        "409",
        _ref("Errors"),
        "the real API answers 409 for concurrent modifications (fact sheet: keyspaces)",
    ),
    Deviation(
        "DELETE",
        f"{_DB}/keyspaces/{{keyspaceName}}",
        "409",
        _ref("Errors"),
        "the real API answers 409 for concurrent modifications (fact sheet: keyspaces)",
    ),
    Deviation(
        "POST",
        f"{_DB}/datacenters",
        "409|422",
        _ref("Errors"),
        "a bad datacenter body is a 422 with several Errors (a real example in the fact sheet), "
        "and region changes are refused in MAINTENANCE (fact sheet: regions)",
    ),
    *_style_deviations(),
]

# --- checking one answer ------------------------------------------------------------------------


@dataclasses.dataclass
class Answer:
    request: httpx.Request
    status: int
    content_type: str
    content: bytes

    @property
    def where(self) -> str:
        return f"{self.request.method} {self.request.url.path} -> {self.status}"


def _template(method: str, path: str) -> str | None:
    """The spec's path template for a request path (the most literal match)."""
    best: tuple[int, str] | None = None
    for op_method, template in spec.operations():
        if op_method != method:
            continue
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            literal = len(re.sub(r"\{[^}]+\}", "", template))
            if best is None or literal > best[0]:
                best = (literal, template)
    return None if best is None else best[1]


def _resolve(node: Json) -> Json:
    while "$ref" in node:
        target: Any = PATCHED
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _declared(operation: Json, status: int) -> Json | None:
    responses = {str(code): value for code, value in operation["responses"].items()}
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in responses:
            return _resolve(responses[key])
    return None


def _validate(schema: Json, instance: object) -> None:
    OAS30ReadValidator({"allOf": [schema], "components": PATCHED["components"]}).validate(instance)


def _check_body(answer: Answer, body: Json | str | None) -> None:
    if body is None:
        assert answer.content == b"", f"{answer.where}: the spec declares no body"
    elif body == "text":
        assert answer.content_type.startswith("text/plain"), answer.where
    else:
        assert isinstance(body, dict)
        assert answer.content_type.startswith("application/json"), answer.where
        _validate(body, httpx.Response(200, content=answer.content).json())


def _spec_body(answer: Answer, response: Json) -> Json | str | None:
    content = response.get("content") or {}
    if not content:
        return None
    media = answer.content_type.split(";")[0].strip()
    assert media in content, f"{answer.where}: {media} not declared ({sorted(content)})"
    schema = content[media].get("schema", {})
    return "text" if media == "text/plain" else schema


def check(answer: Answer) -> None:
    """Raise unless ``answer`` is what the spec (patched as above) declares."""
    method, path = answer.request.method, answer.request.url.path
    template = _template(method, path)
    assert template is not None, f"{answer.where}: no operation of the spec"
    operation = spec.operations()[(method, template)]
    deviation = next(
        (
            d
            for d in DEVIATIONS
            if (d.method, spec.shape(d.path)) == (method, spec.shape(template))
            and d.applies(answer.request, answer.status)
        ),
        None,
    )
    if deviation is not None:
        _check_body(answer, deviation.body)
        return
    response = _declared(operation, answer.status)
    assert response is not None, f"{answer.where}: status not declared by the spec"
    _check_body(answer, _spec_body(answer, response))


# --- the scenario ---------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.answers: list[Answer] = []

    async def __call__(self, response: httpx.Response) -> None:
        await response.aread()
        self.answers.append(
            Answer(
                response.request,
                response.status_code,
                response.headers.get("content-type", ""),
                response.content,
            )
        )


def _routes_answered(answers: list[Answer]) -> set[tuple[str, str]]:
    """Routes (method, template) that gave at least one 2xx answer."""
    by_shape = {(r.method, spec.shape(r.template)): (r.method, r.template) for r in server.ROUTES}
    done = set()
    for answer in answers:
        template = _template(answer.request.method, answer.request.url.path)
        key = (answer.request.method, spec.shape(template or ""))
        if answer.status < 300 and key in by_shape:
            done.add(by_shape[key])
    return done


async def _ok(call: Any, status: int | None = None) -> httpx.Response:
    response: httpx.Response = await call
    if status is None:
        assert response.is_success, f"{response.request.method} {response.request.url}: {response}"
    else:
        assert response.status_code == status, (response.request.url, response.text)
    return response


async def _databases(api: httpx.AsyncClient, admin: httpx.AsyncClient, clock: Clock) -> str:
    """Database endpoints; returns an ACTIVE serverless database's id."""
    await _ok(api.get("/v2/currentOrg"))
    for params in ({}, {"region-type": "all"}, {"filter-by-org": "disabled"}):
        await _ok(api.get("/v2/regions/serverless", params=params))
    await _ok(api.get("/v2/availableRegions"))
    await _ok(api.post("/v2/databases", json={**SERVERLESS, "region": "nowhere"}), 422)
    db_id = (await _ok(api.post("/v2/databases", json=SERVERLESS))).headers["Location"]
    await _ok(api.post("/v2/databases", json={**SERVERLESS, "dbType": "vector"}))
    await _ok(api.get(f"/v2/databases/{db_id}"))  # PENDING
    clock.advance(1.0)
    await _ok(api.get("/v2/databases"))
    await _ok(api.get(f"/v2/databases/{db_id}"))
    await _ok(api.get("/v2/databases/no-such-database"), 404)
    await _ok(api.get("/v2/databases", params={"include": "bogus"}), 400)

    ks = f"/v2/databases/{db_id}/keyspaces"
    await _ok(api.post(f"{ks}/extra"), 201)
    await _ok(api.get(f"/v2/databases/{db_id}"))  # MAINTENANCE
    await _ok(api.post(f"{ks}/other"), 409)
    await _ok(api.post(f"/v2/databases/{db_id}/terminate"), 409)
    clock.advance(1.0)
    await _ok(api.post(f"{ks}/extra"), 201)  # exists: a no-op
    await _ok(api.post(f"{ks}/bad-name!"), 422)
    await _ok(api.delete(f"{ks}/extra"), 202)
    clock.advance(1.0)
    await _ok(api.delete(f"{ks}/extra"), 204)

    dcs = f"/v2/databases/{db_id}/datacenters"
    region = {"tier": "serverless", "cloudProvider": "GCP", "region": "europe-west1"}
    await _ok(api.post(dcs, json=[{"region": "x"}]), 422)
    await _ok(api.post(dcs, json=[region]), 201)
    await _ok(api.get(dcs))
    clock.advance(1.0)
    await _ok(api.get(f"/v2/databases/{db_id}"))  # two datacenters
    await _ok(api.post(f"/v2/databases/{db_id}/secureBundleURL"))
    await _ok(api.post(f"/v2/databases/{db_id}/secureBundleURL", params={"all": "true"}))
    await _ok(api.post(f"{dcs}/{db_id}-2/terminate"), 202)
    clock.advance(1.0)
    await _ok(api.get(dcs, params={"all": "true"}))
    await _ok(api.post(f"/v2/databases/{db_id}/park"), 409)  # serverless

    classic = (await _ok(api.post("/v2/databases", json=CLASSIC))).headers["Location"]
    await _ok(api.post(f"/v2/databases/{classic}/secureBundleURL"), 409)  # not ACTIVE yet
    clock.advance(1.0)
    await _ok(api.get(f"/v2/databases/{classic}"))
    await _ok(api.post(f"/v2/databases/{classic}/resize", json={"capacityUnits": 3}), 202)
    clock.advance(1.0)
    await _ok(api.post(f"/v2/databases/{classic}/resize", json={"capacityUnits": 1}), 400)
    password = {"username": "admin", "password": "s3cret!"}
    await _ok(api.post(f"/v2/databases/{classic}/resetPassword", json=password), 202)
    await _ok(api.post(f"/v2/databases/{classic}/park"), 202)
    clock.advance(1.0)
    await _ok(api.get(f"/v2/databases/{classic}"))  # PARKED
    await _ok(api.post(f"/v2/databases/{classic}/unpark"), 202)
    clock.advance(1.0)
    await _ok(admin.post(f"/_sim/databases/{classic}/external", json={"action": "hibernate"}))
    clock.advance(1.0)
    await _ok(api.get(f"/v2/databases/{classic}"))  # HIBERNATED, not in the spec's enum
    await _ok(api.post(f"/v2/databases/{classic}/terminate"), 202)
    clock.advance(1000.0)
    await _ok(api.get(f"/v2/databases/{classic}"), 404)  # the TERMINATED record expired
    return db_id


async def _access_lists(api: httpx.AsyncClient, db_id: str) -> None:
    path = f"/v2/databases/{db_id}/access-list"
    entry = {"address": "10.1.0.0/16", "enabled": True, "description": "office"}
    await _ok(api.get(path))
    await _ok(api.post(path, json=[entry]), 204)
    await _ok(api.post(path, json=[{**entry, "address": "nope"}]), 400)
    body = {"addresses": [entry], "configurations": {"accessListEnabled": True}}
    await _ok(api.put(path, json=body), 204)
    await _ok(api.patch(path, json=body), 204)
    await _ok(api.get(path))
    await _ok(api.get("/v2/access-lists"))
    await _ok(api.delete(path, params={"addresses": "10.1.0.0/16"}), 204)
    await _ok(api.get("/v2/databases/no-such-database/access-list"), 404)
    template = (await _ok(api.post("/v2/access-list/template"))).json()
    await _ok(api.post("/v2/access-list/validate", json=template))
    await _ok(api.post("/v2/access-list/validate", json={"addresses": [{"address": "x"}]}))


async def _iam(api: httpx.AsyncClient) -> None:
    org_id = (await _ok(api.get("/v2/currentOrg"))).json()["id"]
    policy = {
        "description": "test",
        "effect": "allow",
        "resources": [f"drn:astra:org:{org_id}"],
        "actions": ["org-db-view"],
    }
    await _ok(api.get("/v2/organizations/roles"))
    role = await _ok(api.post("/v2/organizations/roles", json={"name": "r", "policy": policy}))
    role_id = role.json()["ID"]
    await _ok(api.post("/v2/organizations/roles", json={"name": "r", "policy": policy}), 409)
    await _ok(api.post("/v2/organizations/roles", json={"name": "bad"}), 400)
    await _ok(api.get(f"/v2/organizations/roles/{role_id}"))
    await _ok(api.get("/v2/organizations/roles/no-such-role"), 404)
    await _ok(api.put(f"/v2/organizations/roles/{role_id}", json={"name": "r2", "policy": policy}))
    token = (await _ok(api.post("/v2/tokens", json={"roles": [role_id]}))).json()
    await _ok(api.post("/v2/clientIdSecrets", json={"roles": [role_id]}))
    await _ok(api.post("/v2/tokens", json={"roles": "nope"}), 400)
    await _ok(api.get("/v2/clientIdSecrets"))
    await _ok(api.delete(f"/v2/clientIdSecrets/{token['clientId']}"), 200)
    await _ok(api.delete("/v2/clientIdSecrets/no-such-client"), 400)
    await _ok(api.delete(f"/v2/organizations/roles/{role_id}"), 204)


async def _pcus(api: httpx.AsyncClient, clock: Clock, db_id: str) -> None:
    group = {
        "title": "capacity",
        "cloudProvider": "GCP",
        "region": "us-east1",
        "instanceType": "standard",
        "provisionType": "shared",
        "min": 1,
        "max": 2,
        "reserved": 0,
    }
    await _ok(api.post("/v2/pcus/actions/get", json={}))  # the empty default list
    first = (await _ok(api.post("/v2/pcus", json=[group]), 201)).json()[0]["uuid"]
    second = (await _ok(api.post("/v2/pcus", json=[group]), 201)).json()[0]["uuid"]
    await _ok(api.post("/v2/pcus", json=[{**group, "provisionType": "x"}]), 400)
    clock.advance(1.0)
    await _ok(api.post("/v2/pcus/actions/get", json={"pcuGroupUUIDs": [first]}))
    await _ok(api.put("/v2/pcus", json=[{**group, "pcuGroupUUID": first, "title": "t"}]))
    await _ok(api.put("/v2/pcus", json=[{**group, "pcuGroupUUID": "nope"}]), 404)
    dc = f"{db_id}-1"
    await _ok(api.post(f"/v2/pcus/association/{first}/{dc}"), 201)
    await _ok(api.post(f"/v2/pcus/association/{first}/{db_id}-9"), 404)
    await _ok(api.get(f"/v2/pcus/association/{first}"))
    await _ok(api.get("/v2/pcus/association/nope"), 404)
    await _ok(api.post(f"/v2/pcus/park/{first}"), 200)
    clock.advance(1.0)
    await _ok(api.get(f"/v2/databases/{db_id}"))  # HIBERNATED
    await _ok(api.post("/v2/pcus/actions/get", json={}))  # one PARKED
    await _ok(api.post(f"/v2/pcus/unpark/{first}"), 200)
    await _ok(api.post(f"/v2/pcus/unpark/{first}"), 400)
    clock.advance(1.0)
    move = {"fromPCUGroupUUID": first, "toPCUGroupUUID": second, "datacenterUUID": dc}
    await _ok(api.post("/v2/pcus/association/transfer", json=move), 202)
    await _ok(api.post("/v2/pcus/association/transfer", json=move), 400)
    await _ok(api.delete(f"/v2/pcus/{second}"), 400)  # not empty
    await _ok(api.delete(f"/v2/pcus/association/{second}/{dc}"), 200)
    await _ok(api.delete(f"/v2/pcus/association/{second}/{dc}"), 404)
    await _ok(api.delete(f"/v2/pcus/{second}"), 200)
    await _ok(api.delete(f"/v2/pcus/{second}"), 404)


async def _refusals(sim: Simulator, admin: httpx.AsyncClient, recorder: Recorder) -> None:
    """Permission errors in every family's style, and a bad token."""
    reader = await mint(admin, "UI View Only")  # no org-db-create, no role or token writes
    async with httpx.AsyncClient(
        base_url=sim.url, headers=bearer(reader), event_hooks={"response": [recorder]}
    ) as ro:
        await _ok(ro.post("/v2/databases", json=SERVERLESS), 401)
        await _ok(ro.get("/v2/regions/serverless"), 401)
        await _ok(ro.post("/v2/organizations/roles", json={}), 403)
        await _ok(ro.get("/v2/clientIdSecrets"), 403)
        await _ok(ro.get("/v2/access-lists"), 403)
        await _ok(ro.post("/v2/pcus", json=[]), 403)
    async with httpx.AsyncClient(
        base_url=sim.url, headers=bearer("AstraCS:nobody:00"), event_hooks={"response": [recorder]}
    ) as stranger:
        await _ok(stranger.get("/v2/databases"), 401)


async def test_every_answer_conforms_to_the_spec(
    sim: Simulator, admin: httpx.AsyncClient, clock: Clock
) -> None:
    recorder = Recorder()
    async with httpx.AsyncClient(
        base_url=sim.url,
        headers=bearer(sim.admin_token),
        event_hooks={"response": [recorder]},
        timeout=10.0,
    ) as api:
        db_id = await _databases(api, admin, clock)
        await _access_lists(api, db_id)
        await _iam(api)
        await _pcus(api, clock, db_id)
        await _ok(api.post(f"/v2/databases/{db_id}/terminate"), 202)
        clock.advance(1.0)
        await _ok(api.get(f"/v2/databases/{db_id}"))  # TERMINATED
        await _ok(api.get("/v2/databases", params={"include": "all"}))
    await _refusals(sim, admin, recorder)

    untried = {(r.method, r.template) for r in server.ROUTES} - _routes_answered(recorder.answers)
    assert not untried, f"routes the scenario never got a 2xx from: {sorted(untried)}"
    problems = []
    for answer in recorder.answers:
        try:
            check(answer)
        except AssertionError as failure:
            problems.append(str(failure).splitlines()[0])
        except ValidationError as failure:
            problems.append(f"{answer.where}: {failure.json_path}: {failure.message}")
    assert not problems, "\n".join(problems)


# --- the checker itself must be able to fail ------------------------------------------------------


def _answer(method: str, url: str, status: int, body: object, content_type: str = "") -> Answer:
    request = httpx.Request(method, f"http://sim{url}")
    if body is None:
        return Answer(request, status, content_type, b"")
    content = httpx.Response(200, json=body).content
    return Answer(request, status, content_type or "application/json", content)


DATABASE: Json = {
    "id": "d",
    "orgId": "o",
    "ownerId": "u",
    "status": "ACTIVE",
    "info": {"name": "n", "datacenters": []},
}


@pytest.mark.parametrize(
    "answer",
    [
        _answer("GET", "/v2/databases/d", 200, {**DATABASE, "studioUrl": None}),
        _answer("GET", "/v2/databases/d", 200, {**DATABASE, "surprise": 1}),
        _answer("GET", "/v2/databases/d", 200, {**DATABASE, "status": "DANCING"}),
        _answer("GET", "/v2/databases/d", 200, {k: v for k, v in DATABASE.items() if k != "id"}),
        _answer("GET", "/v2/databases/d", 418, {"errors": []}),
        _answer("POST", "/v2/databases", 201, {"id": "d"}),
        _answer("GET", "/v2/organizations/roles", 200, [{"id": "r", "name": "n"}]),
        _answer("GET", "/v2/databases/d", 404, {"errors": [{"id": 1, "message": "m"}]}),
        _answer("POST", "/v2/databases/d/secureBundleURL", 200, [{"downloadURL": "x"}]),
        _answer("GET", "/v2/nowhere", 200, {}),
    ],
    ids=[
        "null studioUrl",
        "undeclared field",
        "unknown status",
        "missing required id",
        "undeclared status",
        "body where none is declared",
        "lower-case role",
        "error with id not ID",
        "incomplete CredsURL",
        "not in the spec",
    ],
)
def test_the_check_refuses_what_the_spec_does_not_allow(answer: Answer) -> None:
    with pytest.raises((AssertionError, ValidationError)):
        check(answer)


def test_the_check_accepts_the_documented_deviations() -> None:
    check(_answer("GET", "/v2/databases/d", 200, {**DATABASE, "studioUrl": ""}))
    check(_answer("GET", "/v2/databases/d", 200, {**DATABASE, "status": "HIBERNATED"}))
    role = {"ID": "r", "Name": "n", "Policy": {"description": "", "effect": "allow"}}
    role["Policy"] |= {"resources": [], "actions": ["db-manage-region"]}
    check(_answer("GET", "/v2/organizations/roles", 200, [role]))
    check(_answer("GET", "/v2/organizations/roles/r", 403, "forbidden"))
    check(_answer("GET", "/v2/databases/d", 404, {"errors": [{"ID": 1, "message": "m"}]}))
    check(_answer("POST", "/v2/databases", 201, None))
