"""``astra-operator export``: Astra databases and roles (from the API or a Terraform state) to
manifests the operator adopts without a write. Table-driven, one reason per case."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from astra_operator.astra import models
from astra_operator.logic import changes
from astra_operator.logic import database as db_logic
from astra_operator.logic import role as role_logic
from astra_operator.onboard import command, mapping, names, specs, terraform
from astra_operator.resources import common
from astra_operator.resources import database as db
from astra_operator.resources import role as rl

ORG = "8c731576-345b-4bd9-bde1-798dcca0e5f8"
OTHER_ORG = "0f0e0d0c-0b0a-4909-8807-060504030201"
DB1 = "1b2c3d4e-0000-4000-8000-00000000abcd"
DB2 = "5b06ae0a-af87-433f-99ac-62e6e0c59028"
ROLE1 = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"
ORG_DRN = f"drn:astra:org:{ORG}"
D1 = f"{ORG_DRN}:db:{DB1}"
STATE = Path(__file__).parent / "data" / "astra.tfstate"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
OPTIONS = specs.Options(namespace="team-a")


def database(
    db_id: str = DB1,
    name: str = "orders",
    *,
    status: str = "ACTIVE",
    created: str | None = None,
    dcs: tuple[tuple[str, str], ...] | None = None,
    **info: Any,
) -> models.Database:
    """A database as the API answers it; ``dcs`` are (region, provider) after the primary."""
    body_info: dict[str, Any] = {
        "name": name,
        "cloudProvider": "GCP",
        "region": "us-east1",
        "tier": "serverless",
        "capacityUnits": 1,
        "keyspace": "default_keyspace",
        "keyspaces": ["default_keyspace"],
        **info,
    }
    regions = [(body_info["region"], body_info["cloudProvider"]), *(dcs or ())]
    body_info["datacenters"] = [
        {"id": f"{db_id}-{n}", "region": r, "cloudProvider": p, "status": ""}
        for n, (r, p) in enumerate(regions, start=1)
    ]
    body = {"id": db_id, "orgId": ORG, "status": status, "info": body_info}
    if created:
        body["creationTime"] = created
    return models.Database.model_validate(body)


def role(
    role_id: str = ROLE1,
    name: str = "readers",
    *,
    actions: tuple[str, ...] = ("db-cql",),
    resources: tuple[str, ...] = (D1,),
    description: str = "",
    effect: str = "allow",
) -> models.Role:
    """A role as the API answers it (PascalCase top level)."""
    policy = {
        "description": description,
        "effect": effect,
        "resources": list(resources),
        "actions": list(actions),
    }
    return models.Role.model_validate({"ID": role_id, "Name": name, "Policy": policy})


def spec_of(m: mapping.Manifest) -> dict[str, Any]:
    spec = m.body["spec"]
    assert isinstance(spec, dict)
    return spec


# --- databases ------------------------------------------------------------------------------

BASE = {
    "name": "orders",
    "cloudProvider": "GCP",
    "region": "us-east1",
    "tier": "serverless",
    "keyspace": "default_keyspace",
    "deletionPolicy": "Retain",
    "databaseID": DB1,
}


@pytest.mark.parametrize(
    ("astra", "expected"),
    [
        pytest.param(database(), BASE, id="serverless: tier and keyspace spelled out"),
        pytest.param(
            database(tier="C10", capacityUnits=3, cloudProvider="AWS", region="us-east-2"),
            {
                **BASE,
                "cloudProvider": "AWS",
                "region": "us-east-2",
                "tier": "C10",
                "capacityUnits": 3,
            },
            id="classic with capacity: capacityUnits",
        ),
        pytest.param(
            database(tier="C10", capacityUnits=1),
            {**BASE, "tier": "C10"},
            id="classic with one unit: capacityUnits omitted (1 is its default)",
        ),
        pytest.param(
            database(dbType="vector"),
            {**BASE, "dbType": "vector"},
            id="vector: dbType",
        ),
        pytest.param(
            database(dbType=""),
            BASE,
            id="an empty dbType is a non-vector database",
        ),
        pytest.param(
            database(dcs=(("us-west1", "GCP"), ("europe-west1", "GCP"))),
            {**BASE, "additionalRegions": ["europe-west1", "us-west1"]},
            id="multi-region: the other datacenters, sorted, primary left out",
        ),
        pytest.param(
            database(keyspace="app", keyspaces=["zeta", "app", "audit"]),
            {**BASE, "keyspace": "app", "additionalKeyspaces": ["audit", "zeta"]},
            id="keyspaces: the initial one, the others sorted",
        ),
        pytest.param(
            database(cloudProvider="gcp"),
            BASE,
            id="a lower-case provider is written as the enum spells it",
        ),
        pytest.param(
            database(name="Orders_(EU).v2"),
            {**BASE, "name": "Orders_(EU).v2"},
            id="spec.name is the Astra name, whatever metadata.name becomes",
        ),
    ],
)
def test_database_specs_say_what_astra_has(
    astra: models.Database, expected: dict[str, Any]
) -> None:
    spec = specs.database_spec(astra, specs.Options())
    assert spec.model_dump(mode="json", by_alias=True, exclude_unset=True) == expected
    # The operator, adopting it, refuses nothing and finds nothing to change.
    assert db_logic.identity_mismatches(spec, "whatever", astra) == []
    assert changes.plan(spec, astra) == []
    assert changes.next_change(spec, astra) is None


def test_options_credentials_and_observe_and_terraform_protection() -> None:
    options = specs.Options(credentials_secret="team-token", observe=True)
    spec = specs.database_spec(database(), options, protected=True)
    dumped = spec.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert dumped["credentials"] == {"secretRef": {"name": "team-token"}}
    assert dumped["managementPolicy"] == "Observe"
    assert dumped["deletionProtection"] is True
    plain = specs.database_spec(database(), specs.Options())
    assert "managementPolicy" not in plain.model_dump(by_alias=True, exclude_unset=True)


@pytest.mark.parametrize(
    ("astra", "reason"),
    [
        pytest.param(database(name="orders db"), "its name cannot be a spec.name", id="space"),
        pytest.param(database(name="x" * 51), "its name cannot be a spec.name", id="too long"),
        pytest.param(database(name=""), "no name", id="no name"),
        pytest.param(database(tier="cloudnative"), "tier 'cloudnative'", id="unknown tier"),
        pytest.param(database(tier="C10", dbType="vector"), "dbType 'vector'", id="classic vec"),
        pytest.param(database(dbType="graph"), "dbType 'graph'", id="unknown dbType"),
        pytest.param(database(cloudProvider="IBM"), "cloud provider 'IBM'", id="provider"),
        pytest.param(database(dcs=(("eu-west-1", "AWS"),)), "is on AWS, not GCP", id="multi-cloud"),
        pytest.param(database(region=None), "no primary region", id="no region"),
        pytest.param(database(region="US East 1"), "region name", id="bad region"),
        pytest.param(database(keyspace=None), "no initial keyspace", id="no keyspace"),
        pytest.param(
            database(keyspaces=["default_keyspace", "bad-name"]),
            "spec.additionalKeyspaces.0 'bad-name': must be a keyspace name",
            id="bad keyspace",
        ),
        pytest.param(
            database(keyspaces=["default_keyspace", "system_auth"]),
            "names Cassandra reserves",
            id="reserved keyspace",
        ),
        pytest.param(database(tier="A5", capacityUnits=101), "capacityUnits", id="capacity"),
        pytest.param(database("not-a-uuid"), "databaseID", id="bad id"),
    ],
)
def test_a_database_the_spec_cannot_express_is_skipped_with_the_reason(
    astra: models.Database, reason: str
) -> None:
    with pytest.raises(specs.UnexpressibleError, match=re.escape(reason)):
        specs.database_spec(astra, specs.Options())
    result = mapping.export([astra], [], org_id=ORG, options=OPTIONS)
    assert result.manifests == ()
    (skipped,) = result.skipped
    assert reason in str(skipped)
    assert str(skipped).startswith(f"not exported: database {astra.info.name!r} ({astra.id})")


def test_terminating_and_terminated_databases_are_skipped_and_said_so() -> None:
    result = mapping.export(
        [database(DB1, status="TERMINATING"), database(DB2, status="TERMINATED")],
        [],
        org_id=ORG,
        options=OPTIONS,
    )
    assert result.manifests == ()
    assert [s.reason for s in result.skipped] == ["it is TERMINATING", "it is TERMINATED"]


def test_a_database_listed_twice_is_exported_once() -> None:
    result = mapping.export([database(), database()], [], org_id=ORG, options=OPTIONS)
    assert [m.astra_id for m in result.manifests] == [DB1]
    assert [s.reason for s in result.skipped] == ["listed twice; exported once"]


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("astra_name", "expected"),
    [
        pytest.param("orders", "orders", id="already valid"),
        pytest.param("Orders_EU (prod)", "orders-eu-prod", id="lower case, runs to one dash"),
        pytest.param("--a..b--", "a-b", id="trimmed"),
        pytest.param("x" * 70, "x" * 63, id="at most 63"),
        pytest.param("a" * 62 + "_b", "a" * 62, id="no dash left at the cut"),
        pytest.param("___", "db-1b2c3d4e", id="nothing left: prefix and the ID"),
        pytest.param("Über", "ber", id="non-ASCII letters are invalid"),
    ],
)
def test_names_are_dns_labels(astra_name: str, expected: str) -> None:
    assigned = names.assign([(astra_name, DB1)], "db")
    assert assigned == {DB1: expected}
    assert DNS_LABEL.match(expected)


def test_colliding_names_get_the_id_and_the_oldest_keeps_the_plain_one() -> None:
    newer = database(DB1, "Orders", created="2026-06-01T00:00:00Z")
    older = database(DB2, "orders", created="2025-01-01T00:00:00Z")
    long_a = role("aaaaaaaa-0000-4000-8000-000000000001", "Y" * 60)
    long_b = role("bbbbbbbb-0000-4000-8000-000000000002", "y" * 60)
    result = mapping.export([newer, older], [long_b, long_a], org_id=ORG, options=OPTIONS)
    by_id = {m.astra_id: m.name for m in result.manifests}
    assert by_id[DB2] == "orders"
    assert by_id[DB1] == "orders-1b2c3d4e"
    assert by_id[long_a.id] == "y" * 60
    assert by_id[long_b.id] == "y" * 54 + "-bbbbbbbb"
    assert all(DNS_LABEL.match(n) for n in by_id.values())
    assert [spec_of(m)["name"] for m in result.manifests] == [
        "orders",
        "Orders",
        "y" * 60,  # y*54-bbbbbbbb sorts before y*60
        "Y" * 60,
    ]


def test_a_plain_name_equal_to_a_suffixed_one_still_gets_a_unique_name() -> None:
    assigned = names.assign([("a", DB1), ("a", DB1.replace("1b", "1c")), ("a-1b2c3d4e", DB2)], "db")
    assert len(set(assigned.values())) == 3


# --- roles ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drns", "resources", "verbatim"),
    [
        pytest.param([ORG_DRN], [{"organization": True}], [], id="organization"),
        pytest.param([D1], [{"databaseID": DB1}], [], id="database"),
        pytest.param(
            [f"{ORG_DRN}:db:*", f"{ORG_DRN}:db:*:keyspace:*", f"{ORG_DRN}:db:*:keyspace:*:table:*"],
            [{"databaseID": "*", "keyspace": "*", "table": "*"}],
            [],
            id="wildcards: one entry, the parents are implied",
        ),
        pytest.param(
            [D1, f"{D1}:keyspace:shop"],
            [{"databaseID": DB1, "keyspace": "shop"}],
            [],
            id="keyspace: the database DRN is its parent, no entry of its own",
        ),
        pytest.param(
            [D1, f"{D1}:keyspace:shop", f"{D1}:keyspace:shop:table:orders"],
            [{"databaseID": DB1, "keyspace": "shop", "table": "orders"}],
            [],
            id="table: keyspace and database implied",
        ),
        pytest.param(
            [D1, f"{D1}:keyspace:shop", f"{D1}:keyspace:shop:table:a", f"{D1}:keyspace:b"],
            [
                {"databaseID": DB1, "keyspace": "b"},
                {"databaseID": DB1, "keyspace": "shop", "table": "a"},
            ],
            [],
            id="two keyspaces of one database",
        ),
        pytest.param(
            [ORG_DRN, D1, f"{ORG_DRN}:db:{DB2}"],
            [{"organization": True}, {"databaseID": DB1}, {"databaseID": DB2}],
            [],
            id="the organization is no database's parent: its own entry",
        ),
        pytest.param(
            [D1, f"{D1}:keyspace:shop:table:orders"],
            [{"databaseID": DB1}],
            [f"{D1}:keyspace:shop:table:orders"],
            id="a table without its keyspace: verbatim in drns",
        ),
        pytest.param(
            [D1, f"drn:astra:org:{OTHER_ORG}:db:{DB2}"],
            [{"databaseID": DB1}],
            [f"drn:astra:org:{OTHER_ORG}:db:{DB2}"],
            id="another organization: verbatim",
        ),
        pytest.param(
            [D1, f"{D1}:keyspace:bad-name", f"{ORG_DRN}:stream:t1"],
            [{"databaseID": DB1}],
            [f"{D1}:keyspace:bad-name", f"{ORG_DRN}:stream:t1"],
            id="forms no scope has: verbatim",
        ),
    ],
)
def test_role_resources_map_back_to_scopes_and_compile_to_the_same_drns(
    drns: list[str], resources: list[dict[str, Any]], verbatim: list[str]
) -> None:
    astra = role(resources=tuple(reversed(drns)), description="reads", actions=("db-cql",))
    spec = specs.role_spec(astra, ORG, specs.Options())
    dumped = spec.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert dumped["resources"] == resources
    assert dumped.get("drns", []) == sorted(verbatim)
    compiled = role_logic.compile_drns(spec, org_id=ORG, database_ids={})
    assert compiled == tuple(sorted(drns))
    assert (
        role_logic.differences(
            name=role_logic.astra_name(spec, "x"),
            description=spec.description or "",
            permissions=spec.permissions,
            drns=compiled,
            observed=astra,
        )
        == ()
    )


def test_role_spec_fields() -> None:
    astra = role(actions=("db-table-select", "db-cql", "db-cql"), description="reads orders")
    options = specs.Options(credentials_secret="team-token", observe=True)
    dumped = specs.role_spec(astra, ORG, options).model_dump(
        mode="json", by_alias=True, exclude_unset=True
    )
    assert dumped == {
        "name": "readers",
        "description": "reads orders",
        "permissions": ["db-cql", "db-table-select"],
        "resources": [{"databaseID": DB1}],
        "deletionPolicy": "Retain",
        "managementPolicy": "Observe",
        "roleID": ROLE1,
        "credentials": {"secretRef": {"name": "team-token"}},
    }


def test_without_an_organization_the_roles_own_is_used() -> None:
    spec = specs.role_spec(role(resources=(ORG_DRN, D1)), None, specs.Options())
    assert [s.organization for s in spec.resources] == [True, None]


@pytest.mark.parametrize(
    ("astra", "reason"),
    [
        pytest.param(
            role(actions=("db-cql", "db-frobnicate")),
            "permission(s) db-frobnicate are not among",
            id="a permission the operator does not know",
        ),
        pytest.param(role(actions=()), "spec.permissions", id="no permissions"),
        pytest.param(role(effect="deny"), "effect is 'deny'", id="deny"),
        pytest.param(role(resources=()), "none of its resources", id="no resources"),
        pytest.param(
            role(resources=(f"drn:astra:org:{OTHER_ORG}",)),
            "none of its resources",
            id="only another organization's",
        ),
        pytest.param(role(resources=("arn:aws:x",)), "do not start with", id="not a DRN"),
        pytest.param(role(name="readers "), "its name", id="trailing space"),
        pytest.param(role(name="a\tb"), "its name", id="control character"),
        pytest.param(role(description="x" * 1001), "spec.description", id="long description"),
    ],
)
def test_a_role_the_spec_cannot_express_is_skipped_with_the_reason(
    astra: models.Role, reason: str
) -> None:
    result = mapping.export([], [astra], org_id=ORG, options=OPTIONS)
    assert result.manifests == ()
    (skipped,) = result.skipped
    assert skipped.what == f"role {astra.name!r} ({astra.id})"
    assert reason in skipped.reason


def test_builtin_roles_are_left_out_with_one_note() -> None:
    builtin = role("b-1", "RO User", resources=(f"drn:astra:org:{rl.ORG_ID_PLACEHOLDER}",))
    placeholder = role("b-2", "Custom-looking", resources=("drn:astra:org:__ORG_ID__:db:*",))
    result = mapping.export([], [builtin, placeholder, role()], org_id=ORG, options=OPTIONS)
    assert [m.astra_id for m in result.manifests] == [ROLE1]
    assert result.skipped == ()
    assert any(n.startswith("2 built-in role(s) not exported") for n in result.notes)


def test_verbatim_resources_are_noted() -> None:
    astra = role(resources=(D1, f"drn:astra:org:{OTHER_ORG}"))
    result = mapping.export([], [astra], org_id=ORG, options=OPTIONS)
    assert any("kept verbatim in spec.drns" in n for n in result.notes)


# --- Terraform state ------------------------------------------------------------------------


def test_terraform_state_maps_to_the_same_manifests() -> None:
    state = terraform.load(STATE.read_text(), str(STATE))
    assert state.org_id == ORG
    assert state.terraform_version == "1.9.8"
    result = mapping.export(
        state.databases,
        state.roles,
        org_id=state.org_id,
        options=OPTIONS,
        protected=state.protected,
    )
    specs = {m.name: spec_of(m) for m in result.manifests}
    assert specs["orders"] == {
        **BASE,
        "keyspace": "orders",
        "additionalKeyspaces": ["audit", "reports"],  # reports: an astra_keyspace resource
        "additionalRegions": ["europe-west1"],  # us-east1 holds datacenter -1: the primary
        "deletionProtection": True,
    }
    assert specs["search-vectors"] == {
        **BASE,
        "name": "search_vectors",
        "cloudProvider": "AWS",
        "region": "us-east-2",
        "dbType": "vector",
        "databaseID": DB2,
    }
    assert specs["orders-readers"] == {
        "name": "Orders readers",
        "description": "read the orders tables",
        "permissions": ["db-cql", "db-table-select"],
        "resources": [{"databaseID": DB1, "keyspace": "orders", "table": "*"}],
        "deletionPolicy": "Retain",
        "roleID": ROLE1,
    }
    skipped = "\n".join(str(s) for s in result.skipped)
    assert "database 'scratch db'" in skipped
    assert "db-manage-backups" in skipped
    notes = "\n".join(state.notes)
    assert "data.astra_available_regions.all: a data source" in notes
    assert "astra_token.app: astra_token is not a kind this exports" in notes
    assert "astra_access_list.orders" in notes
    assert state.addresses[DB1] == ("astra_database.orders", "astra_keyspace.reports")
    assert state.addresses[DB2] == ("module.search.astra_database.vectors",)
    assert state.addresses["9e8d7c6b-1111-4222-8333-444455556666"] == ("astra_database.scratch[0]",)


def _state(*resources: dict[str, Any], version: object = 4) -> str:
    return json.dumps({"version": version, "resources": list(resources)})


def _resource(kind: str, attributes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "mode": "managed",
        "type": kind,
        "name": "x",
        "instances": [{"attributes": attributes, **extra}],
    }


def test_terraform_state_is_read_leniently() -> None:
    minimal = {"id": DB1, "name": "bare", "cloud_provider": "azure", "regions": ["westus2"]}
    unmapped = {"id": DB2, "name": "two", "cloud_provider": "gcp", "regions": ["b1", "a1"]}
    state = terraform.load(
        _state(
            _resource("astra_database", minimal),
            _resource("astra_database", unmapped),
            _resource("astra_database", {"name": "no id"}),
            _resource(
                "astra_role",
                {"id": ROLE1, "role_name": "r", "policy": ["db-cql"], "resources": [D1]},
            ),
            _resource("astra_keyspace", {"database_id": "elsewhere", "name": "k"}),
            _resource("astra_database", {"id": "old"}, deposed="00000001"),
        ),
        "t.tfstate",
    )
    bare = specs.database_spec(state.databases[0], specs.Options())
    assert (bare.cloud_provider, bare.region, bare.keyspace) == (
        "AZURE",
        "westus2",
        "default_keyspace",
    )
    two = specs.database_spec(state.databases[1], specs.Options())
    assert (two.region, two.additional_regions) == ("b1", ("a1",))  # no map: the first listed
    assert state.roles[0].policy is not None
    assert state.roles[0].policy.effect == "allow"
    assert state.org_id is None
    assert specs.role_spec(state.roles[0], state.org_id, specs.Options()).resources
    assert "astra_database.x: cannot read id from its attributes" in "\n".join(state.notes)
    assert "not exported: astra_keyspace.x: its database elsewhere is not in this state" in (
        state.notes
    )
    assert "astra_database.x: a deposed object" in "\n".join(state.notes)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("{", "is not JSON", id="not JSON"),
        pytest.param("[]", "is not a Terraform state", id="not an object"),
        pytest.param(_state(version=3), "state format version 3", id="old format"),
    ],
)
def test_unreadable_state_files_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(terraform.StateError, match=message):
        terraform.load(text, "t.tfstate")


# --- the stream -----------------------------------------------------------------------------


def _stream(result: mapping.Export, options: specs.Options = OPTIONS) -> str:
    when = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    lines = mapping.header(
        source=f"Astra organization {ORG}", when=when, result=result, options=options
    )
    return mapping.render(result, lines)


def test_the_stream_parses_as_yaml_and_every_manifest_validates() -> None:
    databases = [
        database(),
        database(DB2, "vec", dbType="vector", dcs=(("us-west1", "GCP"),)),
        database("aaaaaaaa-0000-4000-8000-000000000001", "big", tier="C20", capacityUnits=4),
        database("aaaaaaaa-0000-4000-8000-000000000002", "bad name"),
    ]
    roles = [role(description="line one\nline two: 'quoted'"), role("b", "RO User")]
    options = specs.Options(namespace="team-a", credentials_secret="tok", observe=True)
    result = mapping.export(databases, roles, org_id=ORG, options=options)
    text = _stream(result, options)
    assert text.startswith("# astra-operator export: 3 AstraDatabase and 1 AstraRole")
    assert f"# from Astra organization {ORG}" in text
    assert "# at 2026-12-01T12:00:00Z" in text
    assert "writes nothing to Astra" in text
    assert "# not exported: database 'bad name'" in text
    documents = [d for d in yaml.safe_load_all(text) if d is not None]
    assert len(documents) == 4
    for document in documents:
        assert document["apiVersion"] == common.API_VERSION
        assert document["metadata"]["namespace"] == "team-a"
        assert DNS_LABEL.match(document["metadata"]["name"])
        model = db.AstraDatabaseSpec if document["kind"] == db.KIND else rl.AstraRoleSpec
        parsed = model.model_validate(document["spec"])
        assert parsed.deletion_policy == "Retain"
        assert document["spec"]["managementPolicy"] == "Observe"
    assert [d["kind"] for d in documents] == [db.KIND] * 3 + [rl.KIND]
    assert documents[3]["spec"]["description"] == "line one\nline two: 'quoted'"


def test_an_empty_export_is_only_the_header() -> None:
    text = _stream(mapping.export([], [], org_id=ORG, options=OPTIONS))
    assert all(line.startswith("#") for line in text.splitlines())
    assert list(yaml.safe_load_all(text)) == []


# --- the command ----------------------------------------------------------------------------


def test_export_from_terraform_state_needs_no_token(capsys: pytest.CaptureFixture[str]) -> None:
    status = command.main(["--terraform-state", str(STATE), "--namespace", "team-a"], env={})
    out, err = capsys.readouterr()
    assert status == 0
    documents = [d for d in yaml.safe_load_all(out) if d]
    assert [d["metadata"]["name"] for d in documents] == [
        "orders",
        "search-vectors",
        "orders-readers",
    ]
    assert "terraform state rm 'astra_database.orders'" in out
    assert "terraform state rm 'astra_keyspace.reports'" in out
    assert "scratch" not in out.split("Hand over")[1]  # skipped: Terraform keeps it
    for line in ("not exported: astra_token.app", "not exported: database 'scratch db'"):
        assert line in err


def test_kind_limits_the_export(capsys: pytest.CaptureFixture[str]) -> None:
    assert command.main(["--terraform-state", str(STATE), "--kind", "roles"], env={}) == 0
    out, _ = capsys.readouterr()
    assert [d["kind"] for d in yaml.safe_load_all(out) if d] == [rl.KIND]


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        pytest.param([], {}, "no Astra token: set ASTRA_TOKEN", id="no token"),
        pytest.param(["--token-env", "T"], {}, "environment variable T is not set", id="unset"),
        pytest.param(["--token-env", "T"], {"T": " "}, "variable T is empty", id="empty"),
        pytest.param(
            ["--token-env", "T"], {"T": "AstraCS:a b"}, "contains whitespace", id="bad value"
        ),
        pytest.param(["--terraform-state", "/nonexistent.tfstate"], {}, "cannot read", id="file"),
    ],
)
def test_errors_are_one_line_and_never_show_the_token(
    argv: list[str], env: dict[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert command.main(argv, env=env) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert message in err
    assert err.count("\n") == 1
    assert "AstraCS:a" not in err


def test_a_refused_or_unreachable_api_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {"T": "AstraCS:abc:0123456789abcdef"}
    argv = ["--token-env", "T", "--api-url", "http://127.0.0.1:9"]
    assert command.main(argv, env=env) == 1
    _, err = capsys.readouterr()
    assert err.startswith(
        "astra-operator export: cannot reach the DevOps API at http://127.0.0.1:9"
    )
    assert err.count("\n") == 1
    assert "0123456789abcdef" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--token-secret", "no-slash"], "is not NAMESPACE/NAME[:KEY]", id="ref"),
        pytest.param(["--namespace", "Team_A"], "is not a namespace name", id="namespace"),
        pytest.param(["--credentials-secret", "Bad"], "not a Kubernetes object name", id="secret"),
        pytest.param(["--token-env", "A", "--token-secret", "a/b"], "not allowed with", id="both"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        command.main(argv, env={})
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_secret_refs_parse() -> None:
    assert command._secret_ref("astra-operator/astra-credentials") == command.SecretRef(
        "astra-operator", "astra-credentials", None
    )
    assert command._secret_ref("team-a/tok.v2:api_token") == command.SecretRef(
        "team-a", "tok.v2", "api_token"
    )


def test_help_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        command.main(["--help"])
    text = capsys.readouterr().out
    for option in (
        "--namespace",
        "--token-secret",
        "--token-env",
        "--api-url",
        "--credentials-secret",
        "--observe",
        "--kind",
        "--terraform-state",
    ):
        assert option in text
    assert "ASTRA_TOKEN" in text
    assert "ASTRA_API_URL" in text
