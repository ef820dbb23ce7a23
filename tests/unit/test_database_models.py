"""AstraDatabase models: what the operator parses from a body and writes back as status.

Pure: pydantic only. The CEL rules are exercised against a real apiserver in
tests/integration/test_crd_validation.py; here only what the models themselves check.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from astra_operator.resources import common, database, role

REPO = Path(__file__).resolve().parents[2]
MINIMAL = {"cloudProvider": "GCP", "region": "us-east1"}
T0 = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)


def test_minimal_spec_gets_python_defaults() -> None:
    spec = database.AstraDatabaseSpec.model_validate(MINIMAL)
    assert spec.cloud_provider == "GCP"
    assert spec.tier == database.SERVERLESS
    assert spec.keyspace == database.DEFAULT_KEYSPACE
    assert spec.name is None
    assert spec.deletion_policy is None
    assert spec.deletion_protection is False
    assert spec.additional_keyspaces == ()


def test_full_camel_case_spec_parses() -> None:
    spec = database.AstraDatabaseSpec.model_validate(
        {
            **MINIMAL,
            "name": "rag-prod_(v2.0)@eu",
            "dbType": "vector",
            "keyspace": "documents",
            "additionalKeyspaces": ["chat_history"],
            "additionalRegions": ["europe-west1"],
            "deletionPolicy": "Delete",
            "deletionProtection": True,
            "databaseID": "8d770448-20c1-47f0-bb76-96d0d1a66b7f",
            "credentials": {"secretRef": {"name": "astra-credentials", "key": "token"}},
            "connectionSecret": {"name": "rag-connection"},
        }
    )
    assert spec.additional_keyspaces == ("chat_history",)
    assert spec.database_id == "8d770448-20c1-47f0-bb76-96d0d1a66b7f"
    assert spec.credentials is not None
    assert spec.credentials.secret_ref.name == "astra-credentials"
    assert spec.connection_secret == common.LocalSecretReference(name="rag-connection")


def test_read_only_mapping_is_accepted() -> None:
    """kopf hands handlers a read-only Mapping view of the spec, not a dict."""
    spec = database.AstraDatabaseSpec.model_validate(MappingProxyType(dict(MINIMAL)))
    assert spec.region == "us-east1"


def test_classic_spec_parses() -> None:
    spec = database.AstraDatabaseSpec.model_validate(
        {**MINIMAL, "tier": "C10", "capacityUnits": 3, "parked": True}
    )
    assert spec.tier in database.CLASSIC_TIERS
    assert spec.capacity_units == 3
    assert spec.parked is True


@pytest.mark.parametrize("path", sorted((REPO / "examples").glob("database-*.yaml")), ids=str)
def test_examples_parse(path: Path) -> None:
    body = yaml.safe_load(path.read_text())
    assert body["apiVersion"] == database.API_VERSION
    assert body["kind"] == database.KIND
    database.AstraDatabaseSpec.model_validate(body["spec"])


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"cloudProvider": "aws"}, id="provider-case"),
        pytest.param({"tier": "cloudnative"}, id="tier"),
        pytest.param({"region": ""}, id="region-empty"),
        pytest.param({"region": "US East"}, id="region-pattern"),
        pytest.param({"keyspace": "bad-name"}, id="keyspace-pattern"),
        pytest.param({"keyspace": "k" * 49}, id="keyspace-length"),
        pytest.param({"name": "-leading-dash"}, id="name-pattern"),
        pytest.param({"name": "n" * 51}, id="name-length"),
        pytest.param({"capacityUnits": 0}, id="capacity-min"),
        pytest.param({"capacityUnits": 101}, id="capacity-max"),
        pytest.param({"capacityUnits": "5"}, id="strict-int"),
        pytest.param({"deletionProtection": "true"}, id="strict-bool"),
        pytest.param({"dbType": "nonvector"}, id="dbtype"),
        pytest.param({"deletionPolicy": "Orphan"}, id="policy"),
        pytest.param({"databaseID": "8D770448-20C1-47F0-BB76-96D0D1A66B7F"}, id="id-case"),
        pytest.param({"additionalKeyspaces": "one"}, id="list-type"),
        pytest.param({"credentials": {"secretRef": {"key": "token"}}}, id="secret-name"),
        pytest.param({"cloud": "GCP"}, id="unknown-field"),
    ],
)
def test_bad_spec_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        database.AstraDatabaseSpec.model_validate({**MINIMAL, **change})


def test_spec_is_frozen() -> None:
    spec = database.AstraDatabaseSpec.model_validate(MINIMAL)
    with pytest.raises(ValidationError):
        spec.region = "us-west1"  # type: ignore[misc]


def _status() -> database.AstraDatabaseStatus:
    return database.AstraDatabaseStatus(
        database_id="8d770448-20c1-47f0-bb76-96d0d1a66b7f",
        org_id="8c731576-345b-4bd9-bde1-798dcca0e5f8",
        phase="ACTIVE",
        observed_generation=2,
        conditions=(
            common.Condition(
                type=common.ConditionType.READY,
                status="True",
                reason=database.DatabaseReadyReason.AVAILABLE,
                last_transition_time=T0,
                observed_generation=2,
            ),
        ),
        endpoints=database.DatabaseEndpoints(data_api="https://x.apps.astra.datastax.com"),
        regions=(database.ObservedRegion(region="us-east1", datacenter_id="x-1"),),
        last_observed_time=T0.astimezone(timezone(timedelta(hours=2))),
        create_pending=database.CreatePending(
            requested_at=T0, name="db", cloud_provider="GCP", region="us-east1"
        ),
    )


def test_status_dumps_camel_case_wire_json() -> None:
    wire = _status().model_dump(by_alias=True, exclude_none=True)
    assert wire == {
        "databaseID": "8d770448-20c1-47f0-bb76-96d0d1a66b7f",
        "orgID": "8c731576-345b-4bd9-bde1-798dcca0e5f8",
        "phase": "ACTIVE",
        "observedGeneration": 2,
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Available",
                "message": "",
                "lastTransitionTime": "2026-11-23T10:00:00Z",
                "observedGeneration": 2,
            }
        ],
        "endpoints": {"dataAPI": "https://x.apps.astra.datastax.com"},
        "regions": [{"region": "us-east1", "datacenterID": "x-1"}],
        "lastObservedTime": "2026-11-23T10:00:00Z",
        "createPending": {
            "requestedAt": "2026-11-23T10:00:00Z",
            "name": "db",
            "existingIDs": [],
            "cloudProvider": "GCP",
            "region": "us-east1",
        },
    }


def test_status_round_trips_from_the_wire() -> None:
    wire = _status().model_dump(exclude_none=True)  # by_alias is the default
    parsed = database.AstraDatabaseStatus.model_validate({**wire, "kopf": {"progress": {}}})
    assert parsed.model_dump(exclude_none=True) == wire  # kopf's field is never written back
    ready = parsed.condition(common.ConditionType.READY)
    assert ready is not None
    assert ready.last_transition_time == T0
    assert parsed.condition(common.ConditionType.SYNCED) is None


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValidationError):
        common.Condition(
            type="Ready",
            status="True",
            reason="Available",
            last_transition_time=datetime(2026, 1, 1),
        )


def test_condition_reason_must_be_camel_case() -> None:
    with pytest.raises(ValidationError):
        common.Condition(
            type="Ready", status="False", reason="not a reason", last_transition_time=T0
        )


def _reasons(vocabulary: type) -> dict[str, str]:
    return {name: getattr(vocabulary, name) for name in dir(vocabulary) if name.isupper()}


@pytest.mark.parametrize(
    ("vocabulary", "shared"),
    [
        (database.DatabaseReadyReason, common.ReadyReason),
        (database.DatabaseSyncedReason, common.SyncedReason),
    ],
    ids=["Ready", "Synced"],
)
def test_reason_vocabularies_extend_the_shared_ones(vocabulary: type, shared: type) -> None:
    reasons = _reasons(vocabulary)
    assert _reasons(shared).items() <= reasons.items(), "a shared reason was redefined"
    values = sorted(reasons.values())
    assert len(set(values)) == len(values), f"two names for one reason: {values}"
    for reason in values:  # each one can be written into a condition
        common.Condition(type="Ready", status="False", reason=reason, last_transition_time=T0)


def _readme_examples() -> list[dict[str, Any]]:
    text = (REPO / "README.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.+?)```", text, re.S) if "kind:" in b]
    return [yaml.safe_load(b) for b in blocks]


def test_readme_examples_are_valid_objects() -> None:
    specs = {"AstraDatabase": database.AstraDatabaseSpec, "AstraRole": role.AstraRoleSpec}
    bodies = _readme_examples()
    assert sorted(b["kind"] for b in bodies) == sorted(specs)
    for body in bodies:
        assert body["apiVersion"] == database.API_VERSION
        specs[body["kind"]].model_validate(body["spec"])


def test_classic_tiers_are_the_tier_literal_without_serverless() -> None:
    assert database.SERVERLESS not in database.CLASSIC_TIERS
    for tier in (database.SERVERLESS, *database.CLASSIC_TIERS):
        spec = database.AstraDatabaseSpec.model_validate({**MINIMAL, "tier": tier})
        assert spec.tier == tier
