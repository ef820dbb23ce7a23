"""Pure decisions for AstraRole, table-driven, one reason per case."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from astra_operator.astra import models
from astra_operator.logic import conditions
from astra_operator.logic import role as logic
from astra_operator.resources import common
from astra_operator.resources import role as rl
from astra_operator.simulator import iam, ids

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ORG = "8c731576-345b-4bd9-bde1-798dcca0e5f8"
DB = "8d770448-20c1-47f0-bb76-96d0d1a66b7f"
OTHER_DB = "5b06ae0a-af87-433f-99ac-62e6e0c59028"
ORG_DRN = f"drn:astra:org:{ORG}"
D = f"{ORG_DRN}:db:{DB}"
IDS = {"orders": DB, "audit": OTHER_DB}


def spec(*resources: dict[str, Any], **kw: Any) -> rl.AstraRoleSpec:
    body: dict[str, Any] = {"permissions": ["db-cql"], "resources": list(resources), **kw}
    return rl.AstraRoleSpec.model_validate(body)


def astra_role(
    role_id: str = "r-1",
    name: str | None = "readers",
    *,
    description: str = "",
    actions: tuple[str, ...] = ("db-cql",),
    resources: tuple[str, ...] = (D,),
    effect: str = "allow",
    wire_policy: bool = True,
) -> models.Role:
    """A role as the API answers it (PascalCase top level, lower-case policy)."""
    body: dict[str, Any] = {"ID": role_id, "Name": name}
    if wire_policy:
        body["Policy"] = {
            "description": description,
            "effect": effect,
            "resources": list(resources),
            "actions": list(actions),
        }
    return models.Role.model_validate(body)


REF = {"databaseRef": {"name": "orders"}}


@pytest.mark.parametrize(
    ("resources", "drns", "expected"),
    [
        pytest.param([{"organization": True}], [], [ORG_DRN], id="organization"),
        pytest.param([REF], [], [D], id="database-ref-uses-its-id"),
        pytest.param(
            [{"databaseID": OTHER_DB}], [], [f"{ORG_DRN}:db:{OTHER_DB}"], id="database-id"
        ),
        pytest.param([{"databaseID": "*"}], [], [f"{ORG_DRN}:db:*"], id="every-database"),
        pytest.param(
            [{**REF, "keyspace": "shop"}], [], [D, f"{D}:keyspace:shop"], id="keyspace-adds-db"
        ),
        pytest.param(
            [{**REF, "keyspace": "shop", "table": "orders"}],
            [],
            [D, f"{D}:keyspace:shop", f"{D}:keyspace:shop:table:orders"],
            id="table-adds-keyspace-and-db",
        ),
        pytest.param(
            [{"databaseID": "*", "keyspace": "*", "table": "*"}],
            [],
            [f"{ORG_DRN}:db:*", f"{ORG_DRN}:db:*:keyspace:*", f"{ORG_DRN}:db:*:keyspace:*:table:*"],
            id="wildcards",
        ),
        pytest.param(
            [{**REF, "keyspace": "shop", "table": "a"}, {**REF, "keyspace": "shop", "table": "b"}],
            [],
            [D, f"{D}:keyspace:shop", f"{D}:keyspace:shop:table:a", f"{D}:keyspace:shop:table:b"],
            id="shared-parents-once",
        ),
        pytest.param([REF, {"databaseID": DB}], [], [D], id="same-database-two-ways-once"),
        pytest.param(
            [{"databaseRef": {"name": "audit"}}, {"organization": True}],
            [f"{ORG_DRN}:db:*:keyspace:system_schema"],
            [ORG_DRN, f"{ORG_DRN}:db:*:keyspace:system_schema", f"{ORG_DRN}:db:{OTHER_DB}"],
            id="raw-drns-added-and-all-sorted",
        ),
        pytest.param(
            [{"organization": True}], [ORG_DRN], [ORG_DRN], id="raw-drn-repeating-a-scope-once"
        ),
    ],
)
def test_scopes_compile_to_drns(
    resources: list[dict[str, Any]], drns: list[str], expected: list[str]
) -> None:
    got = logic.compile_drns(spec(*resources, drns=drns), org_id=ORG, database_ids=IDS)
    assert got == tuple(expected)


def test_database_ids_of_unreferenced_databases_are_ignored() -> None:
    got = logic.compile_drns(spec({"organization": True}), org_id=ORG, database_ids=IDS)
    assert got == (ORG_DRN,)


def test_every_unresolved_reference_is_named() -> None:
    wanted = spec(REF, {"databaseRef": {"name": "zeta"}}, {"databaseRef": {"name": "alpha"}})
    with pytest.raises(logic.UnresolvedDatabaseRefError) as raised:
        logic.compile_drns(wanted, org_id=ORG, database_ids={"orders": DB})
    assert raised.value.names == ("alpha", "zeta")
    assert str(raised.value) == (
        "no database ID known for the referenced AstraDatabase(s): alpha, zeta"
    )
    assert isinstance(raised.value, KeyError)  # callers may catch it as a failed look-up


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        pytest.param([{"organization": True}, {"databaseID": "*"}], (), id="none"),
        pytest.param(
            [{**REF, "keyspace": "a"}, REF, {"databaseRef": {"name": "audit"}}],
            ("audit", "orders"),
            id="sorted-each-once",
        ),
    ],
)  # fmt: skip
def test_database_refs(resources: list[dict[str, Any]], expected: tuple[str, ...]) -> None:
    assert logic.database_refs(spec(*resources)) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(None, "app-readers", id="defaults-to-metadata-name"),
        pytest.param("App readers", "App readers", id="spec-name-wins"),
    ],
)
def test_astra_name(name: str | None, expected: str) -> None:
    wanted = spec(REF, **({} if name is None else {"name": name}))
    assert logic.astra_name(wanted, "app-readers") == expected


def test_policy_is_sorted_and_allows() -> None:
    wanted = spec(REF, permissions=["db-table-select", "db-cql"], description="Readers")
    got = logic.policy(wanted, [f"{D}:keyspace:shop", D])
    assert got == models.Policy(
        description="Readers",
        resources=[D, f"{D}:keyspace:shop"],
        actions=["db-cql", "db-table-select"],
        effect="allow",
    )


def test_policy_without_description_sends_an_empty_one() -> None:
    assert logic.policy(spec(REF), [D]).description == ""


def test_role_request_carries_the_effective_name_and_policy() -> None:
    request = logic.role_request(spec(REF), "app-readers", [D])
    body = request.model_dump()
    assert body["name"] == "app-readers"
    assert body["policy"]["resources"] == [D]
    assert body["policy"]["actions"] == ["db-cql"]


WANT: dict[str, Any] = {
    "name": "readers",
    "description": "",
    "permissions": ("db-cql", "db-table-select"),
    "drns": (D, f"{D}:keyspace:shop"),
}
SAME = astra_role(actions=("db-table-select", "db-cql"), resources=(f"{D}:keyspace:shop", D))


@pytest.mark.parametrize(
    ("observed", "expected"),
    [
        pytest.param(SAME, (), id="equal-in-another-order"),
        pytest.param(
            astra_role(actions=("db-cql", "db-table-select", "db-cql"), resources=WANT["drns"]),
            (),
            id="repeats-do-not-count",
        ),
        pytest.param(
            SAME.model_copy(update={"name": "readers (edited)"}),
            ("name 'readers (edited)' (expected 'readers')",),
            id="renamed",
        ),
        pytest.param(
            astra_role(
                description="temp", actions=WANT["permissions"], resources=WANT["drns"]
            ),
            ("description 'temp' (expected '')",),
            id="description",
        ),
        pytest.param(
            astra_role(
                actions=("db-cql", "db-table-select", "db-table-drop", "db-table-modify"),
                resources=WANT["drns"],
            ),
            ("permission db-table-drop added", "permission db-table-modify added"),
            id="permissions-added",
        ),
        pytest.param(
            astra_role(actions=("db-cql",), resources=WANT["drns"]),
            ("permission db-table-select removed",),
            id="permission-removed",
        ),
        pytest.param(
            astra_role(actions=WANT["permissions"], resources=(D, f"{ORG_DRN}:db:*")),
            (f"resource {ORG_DRN}:db:* added", f"resource {D}:keyspace:shop removed"),
            id="resource-swapped",
        ),
        pytest.param(
            astra_role(
                actions=WANT["permissions"], resources=WANT["drns"], effect="deny"
            ),
            ("effect 'deny' (expected 'allow')",),
            id="effect",
        ),
        pytest.param(
            astra_role(name=None, wire_policy=False),
            (
                "name '' (expected 'readers')",
                "permission db-cql removed",
                "permission db-table-select removed",
                f"resource {D} removed",
                f"resource {D}:keyspace:shop removed",
            ),
            id="nothing-readable",
        ),
    ],
)  # fmt: skip
def test_differences_name_each_out_of_band_change(
    observed: models.Role, expected: tuple[str, ...]
) -> None:
    assert logic.differences(**WANT, observed=observed) == expected


def _simulated_builtin_roles() -> list[models.Role]:
    directory = iam.Iam(ORG, ids.IdSource(seed=1), lambda: "2026-11-23T12:00:00Z")
    return [
        models.Role.model_validate(directory.role_json(r))
        for r in directory.roles.values()
        if r.builtin
    ]


@pytest.mark.parametrize("builtin", _simulated_builtin_roles(), ids=lambda r: r.name)
def test_the_simulators_builtin_roles_are_recognised(builtin: models.Role) -> None:
    assert logic.is_builtin(builtin)
    assert logic.adoption_problem(builtin) is not None


@pytest.mark.parametrize("builtin", _simulated_builtin_roles(), ids=lambda r: r.name)
def test_builtin_roles_are_recognised_by_name_alone(builtin: models.Role) -> None:
    """Even if Astra wrote the organization ID instead of its placeholder."""
    assert logic.is_builtin(astra_role(builtin.id, builtin.name, resources=(ORG_DRN,)))


@pytest.mark.parametrize(
    ("candidate", "builtin"),
    [
        pytest.param(astra_role(), False, id="custom"),
        pytest.param(astra_role(name="RO User", resources=(ORG_DRN,)), True, id="builtin-name"),
        pytest.param(
            astra_role(name="Readers", resources=("drn:astra:org:__ORG_ID__",)),
            True,
            id="org-placeholder",
        ),
        pytest.param(astra_role(name=None, wire_policy=False), False, id="bare"),
    ],
)
def test_is_builtin(candidate: models.Role, builtin: bool) -> None:
    assert logic.is_builtin(candidate) is builtin
    assert (logic.adoption_problem(candidate) is None) is not builtin


def test_adoption_problem_names_the_role() -> None:
    problem = logic.adoption_problem(astra_role("r-9", "RO User", resources=(ORG_DRN,)))
    assert problem is not None
    assert "r-9" in problem
    assert "'RO User'" in problem
    assert "built-in" in problem


MARKER = common.CreatePending(requested_at=NOW, name="readers", existing_ids=("r-old",))


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        pytest.param([astra_role("r-new")], ["r-new"], id="new-one"),
        pytest.param([astra_role("r-old")], [], id="existed-before"),
        pytest.param([astra_role("r-new", "Readers")], [], id="name-case-differs"),
        pytest.param([astra_role("r-new", "readers ")], [], id="name-not-exact"),
        pytest.param(
            [astra_role("r-new", resources=("drn:astra:org:__ORG_ID__",))], [], id="builtin"
        ),
        pytest.param([astra_role("r-a"), astra_role("r-b")], ["r-a", "r-b"], id="several"),
    ],
)
def test_pending_matches(roles: list[models.Role], expected: list[str]) -> None:
    assert [r.id for r in logic.pending_matches(MARKER, roles)] == expected


def test_pending_marker_records_the_name_and_who_had_it() -> None:
    roles = [astra_role("r-2"), astra_role("r-1"), astra_role("r-3", "other")]
    existing = logic.same_name("app-readers", [*roles, astra_role("r-4", "app-readers")])
    marker = logic.pending_marker(spec(REF), "app-readers", NOW, existing)
    assert marker == common.CreatePending(
        requested_at=NOW, name="app-readers", existing_ids=("r-4",)
    )
    assert logic.pending_matches(marker, [astra_role("r-4", "app-readers")]) == []


def test_same_name_skips_builtin_roles() -> None:
    roles = [astra_role("b", "RO User", resources=(ORG_DRN,)), astra_role("c", "RO User")]
    assert logic.same_name("RO User", roles) == []


def test_waiting_for_databases_names_each_and_why() -> None:
    update = logic.waiting_for_databases(missing=["orders"], without_id=["audit"])
    assert update == conditions.Update(
        "Synced",
        "False",
        "WaitingForDatabase",
        "Waiting for AstraDatabase orders (not found in this namespace), audit (no "
        "status.databaseID yet): the role is written to Astra once every database in "
        "spec.resources has an ID.",
    )


def test_observed_records_what_astra_holds() -> None:
    before = rl.AstraRoleStatus(observed_generation=1)
    got = logic.observed(
        before, astra_role("r-1", "readers"), org_id=ORG, drns=[f"{D}:keyspace:x", D], now=NOW
    )
    assert (got.role_id, got.role_name, got.org_id) == ("r-1", "readers", ORG)
    assert got.drns == (D, f"{D}:keyspace:x")
    assert got.last_observed_time == NOW
    assert got.observed_generation == 1  # untouched
