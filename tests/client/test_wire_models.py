"""The wire models read real-world replies leniently: unknown fields and statuses, both casings."""

from __future__ import annotations

import httpx

from astra_operator.astra import models
from tests.client.conftest import ClientFactory

REAL_DATABASE = {
    "id": "8d770448-20c1-47f0-bb76-96d0d1a66b7f",
    "orgId": "8c731576-345b-4bd9-bde1-798dcca0e5f8",
    "ownerId": "BOjPpMRcaWergiKIyHXEAymP",
    "creationTime": "2025-06-17T02:28:00Z",
    "terminationTime": "0001-01-01T00:00:00Z",
    "lastUsageTime": "2025-08-21T20:40:56Z",
    "info": {
        "name": "hi", "keyspace": "default_keyspace", "dbType": "vector",
        "keyspaces": ["other_keyspace", "default_keyspace"],
        "additionalKeyspaces": ["other_keyspace"],
        "datacenters": [{
            "id": "8d770448-20c1-47f0-bb76-96d0d1a66b7f-1", "name": "dc-1", "tier": "serverless",
            "status": "", "dateCreated": "2025-06-17T02:28:00Z", "cloudProvider": "GCP",
            "region": "us-east1", "regionZone": "na", "regionClassification": "standard",
            "capacityUnits": 1, "secureBundleUrl": "https://s3/b.zip", "someNewField": {"x": 1},
        }],
        "cloudProvider": "GCP", "tier": "serverless", "capacityUnits": 1, "region": "us-east1",
        "engineType": None,
    },
    "status": "ACTIVE",
    "observedStatus": "ACTIVE",
    "storage": {"nodeCount": 3, "replicationFactor": 1, "totalStorage": 5, "usedStorage": 0},
    "cost": {"costPerMinCents": 0.0},
    "metrics": {"writeRequestsTotalCount": 0},
    "availableActions": ["suspend", "setEngineType", "addKeyspace", "terminate", "migrate"],
    "studioUrl": None,
    "grafanaUrl": "https://g", "cqlshUrl": "https://c", "graphqlUrl": "https://q",
    "dataEndpointUrl": "https://d",
}  # fmt: skip


def test_real_database_reply() -> None:
    db = models.Database.model_validate(REAL_DATABASE)
    assert db.org_id == "8c731576-345b-4bd9-bde1-798dcca0e5f8"
    assert db.status == db.observed_status == models.ACTIVE
    assert db.info.datacenters[0].region_zone == "na"
    assert db.info.datacenters[0].secure_bundle_url == "https://s3/b.zip"
    assert db.storage is not None
    assert db.storage.node_count == 3
    assert "migrate" in db.available_actions
    assert db.data_endpoint_url == "https://d"
    assert db.keyspaces == ["other_keyspace", "default_keyspace"]


async def test_unknown_status_and_fields_are_kept_not_rejected(make_client: ClientFactory) -> None:
    body = {"id": "db", "status": "QUANTUM_FLUX", "newTopLevel": [1, 2], "info": None,
            "availableActions": None, "storage": None}  # fmt: skip
    db = await make_client(lambda r: httpx.Response(200, json=body)).get_database("db")
    assert db.status == "QUANTUM_FLUX"
    assert db.status not in models.TRANSITIONAL_STATUSES
    assert db.info.keyspaces == []
    assert db.available_actions == []


def test_null_status_and_minimal_database() -> None:
    db = models.Database.model_validate({"id": "x", "status": None})
    assert db.status == ""
    assert db.keyspaces == []
    db = models.Database.model_validate(
        {"id": "x", "info": {"keyspace": "main", "additionalKeyspaces": ["b", "main"]}}
    )
    assert db.keyspaces == ["main", "b"]


def test_role_pascal_and_lower_case() -> None:
    pascal = {
        "ID": "r1", "Name": "ops", "OrgID": "o", "LastUpdateDateTime": "t",
        "LastUpdateUserID": "u",
        "Policy": {"description": "d", "effect": "allow", "resources": ["drn:astra:org:o"],
                   "actions": ["org-db-view"]},
    }  # fmt: skip
    lower = {
        "id": "r1", "name": "ops", "last_update_datetime": "t", "last_update_userid": "u",
        "policy": {"Description": "d", "Effect": "allow", "Resources": ["drn:astra:org:o"],
                   "Actions": ["org-db-view"]},
    }  # fmt: skip
    a, b = models.Role.model_validate(pascal), models.Role.model_validate(lower)
    assert a.id == b.id == "r1"
    assert a.name == b.name == "ops"
    assert a.policy == b.policy
    assert a.policy is not None
    assert a.policy.actions == ["org-db-view"]
    assert a.last_update_user_id == b.last_update_user_id == "u"


def test_creds_url_reads_both_datacenter_spellings() -> None:
    good = models.CredsURL.model_validate({"datacenterID": "a-1", "downloadURL": "u"})
    typo = models.CredsURL.model_validate({"datcenterID": "a-2", "customDomainBundles": None})
    assert good.datacenter_id == "a-1"
    assert good.download_url == "u"
    assert typo.datacenter_id == "a-2"
    assert typo.custom_domain_bundles == []


def test_regions_organization_tokens_access_lists() -> None:
    region = models.ServerlessRegion.model_validate(
        {"cloudProvider": "AWS", "name": "us-east-2", "displayName": "Ohio", "zone": "na",
         "classification": "standard", "region_type": "vector", "enabled": True,
         "reservedForQualifiedUsers": False, "pcu_types": ["x"]}
    )  # fmt: skip
    assert region.region_type == "vector"
    assert region.reserved_for_qualified_users is False
    avail = models.AvailableRegion.model_validate(
        {"tier": "C10", "cloudProvider": "GCP", "region": "us-east1", "cost": {},
         "defaultStoragePerCapacityUnitGb": 500, "regionDisplay": "Iowa"}
    )  # fmt: skip
    assert avail.default_storage_per_capacity_unit_gb == 500
    assert avail.region_display == "Iowa"
    assert models.Organization.model_validate({"id": "o", "name": "n"}).name == "n"
    info = models.TokenInfo.model_validate({"clientId": "c", "roles": None, "tokenExpiry": None})
    assert info.roles == []
    acl = models.AccessList.model_validate(
        {"organizationId": "o", "databaseId": "d",
         "addresses": [{"address": "1.2.3.4/32", "enabled": True, "description": "",
                        "lastUpdateDateTime": "2021-01-21 17:32:28 +0000 UTC"}],
         "configurations": {"accessListEnabled": True}}
    )  # fmt: skip
    assert acl.enabled
    assert acl.addresses[0].last_update_date_time is not None
    assert not models.AccessList.model_validate({"addresses": None}).enabled


def test_create_bodies_serialise_camel_case() -> None:
    spec = models.DatabaseCreate(
        name="n", cloud_provider="AWS", region="us-east-2", tier="C10", capacity_units=2,
        keyspace="ks", db_type="vector", pcu_group_uuid="p",
    )  # fmt: skip
    assert spec.model_dump(mode="json", exclude_none=True) == {
        "name": "n", "cloudProvider": "AWS", "region": "us-east-2", "tier": "C10",
        "capacityUnits": 2, "keyspace": "ks", "dbType": "vector", "pcuGroupUUID": "p",
    }  # fmt: skip
