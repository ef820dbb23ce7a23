"""AstraRole models: what the operator parses from a body and writes back as status.

Pure: pydantic only. The CEL rules are exercised against a real apiserver in
tests/integration/test_role_crd_validation.py; here only what the models themselves check,
and what the generated CRD promises a user.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from astra_operator.resources import common, crdgen, permissions, role
from astra_operator.simulator import catalog

REPO = Path(__file__).resolve().parents[2]
MINIMAL: dict[str, Any] = {"permissions": ["db-cql"], "resources": [{"organization": True}]}
DB_ID = "8d770448-20c1-47f0-bb76-96d0d1a66b7f"
ROLE_ID = "0b5e2c39-6a8f-4d2e-9a51-1c3f5e7d9b20"
T0 = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
PENDING = common.CreatePending(requested_at=T0, name="readers", existing_ids=("x",))


def test_minimal_spec_gets_python_defaults() -> None:
    spec = role.AstraRoleSpec.model_validate(MINIMAL)
    assert spec.name is None
    assert spec.description is None
    assert spec.permissions == ("db-cql",)
    assert spec.resources == (role.RoleScope(organization=True),)
    assert spec.drns == ()
    assert spec.deletion_policy is None
    assert spec.role_id is None


def test_full_camel_case_spec_parses() -> None:
    spec = role.AstraRoleSpec.model_validate(
        {
            "name": "R/W app (orders)",
            "description": "Orders service",
            "permissions": ["db-cql", "db-table-select", "db-table-modify"],
            "resources": [
                {"databaseRef": {"name": "orders"}, "keyspace": "shop", "table": "*"},
                {"databaseID": DB_ID, "keyspace": "*"},
                {"databaseID": "*"},
                {"organization": True},
            ],
            "drns": [f"drn:astra:org:{DB_ID}:db:*"],
            "deletionPolicy": "Delete",
            "roleID": ROLE_ID,
            "credentials": {"secretRef": {"name": "astra-credentials", "key": "token"}},
        }
    )
    ref, by_id, every_db, org = spec.resources
    assert ref.database_ref == role.DatabaseReference(name="orders")
    assert (ref.keyspace, ref.table) == ("shop", "*")
    assert by_id.database_id == DB_ID
    assert every_db.database_id == role.ANY
    assert org.organization is True
    assert spec.role_id == ROLE_ID


def test_read_only_mapping_is_accepted() -> None:
    """kopf hands handlers a read-only Mapping view of the spec, not a dict."""
    spec = role.AstraRoleSpec.model_validate(MappingProxyType(dict(MINIMAL)))
    assert spec.permissions == ("db-cql",)


def test_every_permission_of_astra_builtin_roles_is_accepted() -> None:
    """A user copying a built-in role's permissions into an AstraRole is never refused."""
    used = sorted({a for actions in catalog.BUILTIN_ROLES.values() for a in actions})
    spec = role.AstraRoleSpec.model_validate({**MINIMAL, "permissions": used})
    assert set(spec.permissions) == set(used) <= permissions.ALL


def test_the_crd_offers_exactly_the_known_permissions() -> None:
    crd = crdgen.build_crd(role.DEFINITION)
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    enum = spec["properties"]["permissions"]["items"]["enum"]
    assert enum == sorted(enum), "sorted, so kubectl's list of supported values is scannable"
    assert set(enum) == permissions.ALL


@pytest.mark.parametrize("path", sorted((REPO / "examples").glob("role-*.yaml")), ids=str)
def test_examples_parse(path: Path) -> None:
    body = yaml.safe_load(path.read_text())
    assert body["apiVersion"] == role.API_VERSION
    assert body["kind"] == role.KIND
    role.AstraRoleSpec.model_validate(body["spec"])


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("readers", id="plain"),
        pytest.param("R/W readers (shop)", id="punctuation"),
        pytest.param("Équipe données", id="non-ascii"),
        pytest.param("n" * 100, id="longest"),
    ],
)
def test_role_names_users_write_are_accepted(name: str) -> None:
    assert role.AstraRoleSpec.model_validate({**MINIMAL, "name": name}).name == name


def _bad(case_id: str, **change: object) -> Any:
    return pytest.param(change, id=case_id)


@pytest.mark.parametrize(
    "change",
    [
        _bad("name-empty", name=""),
        _bad("name-length", name="n" * 101),
        _bad("description-length", description="d" * 1001),
        _bad("permission-unknown", permissions=["db-everything"]),
        _bad("permission-case", permissions=["DB-CQL"]),
        _bad("permissions-empty", permissions=[]),
        _bad("permissions-string", permissions="db-cql"),
        _bad("resources-empty", resources=[]),
        _bad("resources-too-many", resources=[{"databaseID": "*"}] * 51),
        _bad("database-id-case", resources=[{"databaseID": DB_ID.upper()}]),
        _bad("database-id-format", resources=[{"databaseID": "orders"}]),
        _bad("keyspace-pattern", resources=[{"databaseID": "*", "keyspace": "my-keyspace"}]),
        _bad("keyspace-length", resources=[{"databaseID": "*", "keyspace": "k" * 49}]),
        _bad("table-pattern", resources=[{"databaseID": "*", "keyspace": "*", "table": "a.b"}]),
        _bad("ref-name", resources=[{"databaseRef": {"name": "Orders"}}]),
        _bad("organization-string", resources=[{"organization": "true"}]),
        _bad("scope-unknown-field", resources=[{"database": "orders"}]),
        _bad("drn-empty", drns=[""]),
        _bad("role-id-format", roleID="not-a-uuid"),
        _bad("policy", deletionPolicy="Orphan"),
        _bad("unknown-field", actions=["db-cql"]),
    ],
)
def test_bad_spec_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        role.AstraRoleSpec.model_validate({**MINIMAL, **change})


def test_spec_is_frozen() -> None:
    spec = role.AstraRoleSpec.model_validate(MINIMAL)
    with pytest.raises(ValidationError):
        spec.name = "other"  # type: ignore[misc]


def _status() -> role.AstraRoleStatus:
    return role.AstraRoleStatus(
        role_id=ROLE_ID,
        role_name="readers",
        org_id="8c731576-345b-4bd9-bde1-798dcca0e5f8",
        drns=("drn:astra:org:o", "drn:astra:org:o:db:d"),
        observed_generation=2,
        conditions=(
            common.Condition(
                type=common.ConditionType.SYNCED,
                status="False",
                reason=role.RoleSyncedReason.WAITING_FOR_DATABASE,
                last_transition_time=T0,
                observed_generation=2,
            ),
        ),
        last_observed_time=T0,
        create_pending=PENDING,
    )


def test_status_dumps_camel_case_wire_json() -> None:
    wire = _status().model_dump(by_alias=True, exclude_none=True)
    assert wire == {
        "roleID": ROLE_ID,
        "roleName": "readers",
        "orgID": "8c731576-345b-4bd9-bde1-798dcca0e5f8",
        "drns": ["drn:astra:org:o", "drn:astra:org:o:db:d"],
        "observedGeneration": 2,
        "conditions": [
            {
                "type": "Synced",
                "status": "False",
                "reason": "WaitingForDatabase",
                "message": "",
                "lastTransitionTime": "2026-11-23T10:00:00Z",
                "observedGeneration": 2,
            }
        ],
        "lastObservedTime": "2026-11-23T10:00:00Z",
        # common.CreatePending's wire shape is tested with the shared models
        "createPending": PENDING.model_dump(exclude_none=True),
    }


def test_status_round_trips_from_the_wire() -> None:
    wire = _status().model_dump(exclude_none=True)
    parsed = role.AstraRoleStatus.model_validate({**wire, "kopf": {"progress": {}}})
    assert parsed.model_dump(exclude_none=True) == wire  # kopf's field is never written back
    assert parsed.condition(common.ConditionType.READY) is None
