"""Static reference data the simulated organisation offers: tiers, regions, permissions, roles."""

from __future__ import annotations

import dataclasses
import uuid

SERVERLESS_TIER = "serverless"
CLASSIC_TIERS = frozenset(
    {"developer", "A5", "A10", "A20", "A40", "C10", "C20", "C40", "D10", "D20", "D40"}
)
PROVIDERS = ("AWS", "GCP", "AZURE")

# Every status a list may be filtered on with ``include`` (lower case on the wire).
INCLUDE_STATUSES = frozenset(
    {
        "active",
        "pending",
        "preparing",
        "prepared",
        "initializing",
        "parked",
        "parking",
        "unparking",
        "terminating",
        "terminated",
        "resizing",
        "error",
        "maintenance",
        "hibernating",
        "hibernated",
        "resuming",
        "suspended",
        "suspending",
    }
)


@dataclasses.dataclass(frozen=True)
class Region:
    """One cloud region and how the catalogue describes it."""

    provider: str
    name: str
    display: str
    zone: str
    classification: str = "standard"


REGIONS: tuple[Region, ...] = (
    Region("AWS", "us-east-2", "US East (Ohio)", "na"),
    Region("AWS", "us-east-1", "US East (N. Virginia)", "na"),
    Region("AWS", "us-west-2", "US West (Oregon)", "na"),
    Region("AWS", "eu-west-1", "Europe (Ireland)", "emea"),
    Region("AWS", "eu-central-1", "Europe (Frankfurt)", "emea", "premium"),
    Region("AWS", "ap-south-1", "Asia Pacific (Mumbai)", "apac", "premium"),
    Region("GCP", "us-east1", "Moncks Corner, South Carolina", "na"),
    Region("GCP", "us-central1", "Council Bluffs, Iowa", "na"),
    Region("GCP", "europe-west1", "St. Ghislain, Belgium", "emea"),
    Region("GCP", "asia-south1", "Mumbai, India", "apac", "premium"),
    Region("AZURE", "eastus", "Virginia, US", "na"),
    Region("AZURE", "westus2", "Washington, US", "na"),
    Region("AZURE", "westeurope", "Netherlands", "emea", "premium"),
    Region("AZURE", "australiaeast", "New South Wales, Australia", "apac", "premium_plus"),
)


def find_region(provider: str, name: str) -> Region | None:
    """The catalogue entry for ``name`` on ``provider`` (exact, case-sensitive region name)."""
    for region in REGIONS:
        if region.provider == provider and region.name == name:
            return region
    return None


# --- permissions --------------------------------------------------------------------------------

DB_ACTIONS = (
    "db-all-keyspace-create",
    "db-all-keyspace-describe",
    "db-cql",
    "db-graphql",
    "db-keyspace-alter",
    "db-keyspace-authorize",
    "db-keyspace-create",
    "db-keyspace-describe",
    "db-keyspace-drop",
    "db-keyspace-grant",
    "db-keyspace-modify",
    "db-rest",
    "db-table-alter",
    "db-table-authorize",
    "db-table-create",
    "db-table-describe",
    "db-table-drop",
    "db-table-grant",
    "db-table-modify",
    "db-table-select",
    "db-manage-region",
    "db-manage-privateendpoint",
    "db-manage-thirdpartymetrics",
    "db-data-import",
    "accesslist-read",
    "accesslist-write",
)
ORG_DB_ACTIONS = (
    "org-db-addpeering",
    "org-db-create",
    "org-db-expand",
    "org-db-managemigratorproxy",
    "org-db-passwordreset",
    "org-db-suspend",
    "org-db-terminate",
    "org-db-view",
)
ORG_ACTIONS = (
    "org-audits-read",
    "org-billing-read",
    "org-billing-write",
    "org-external-auth-read",
    "org-external-auth-write",
    "org-notification-write",
    "org-read",
    "org-role-delete",
    "org-role-read",
    "org-role-write",
    "org-token-read",
    "org-token-write",
    "org-user-read",
    "org-user-write",
    "org-write",
    "org-cmk-read",
    "org-cmk-write",
    "org-integrations-read",
    "org-integrations-write",
    "org-stream-manage",
)
ALL_ACTIONS = DB_ACTIONS + ORG_DB_ACTIONS + ORG_ACTIONS

_READ_ONLY = (
    "org-read",
    "org-db-view",
    "org-user-read",
    "org-role-read",
    "org-token-read",
    "accesslist-read",
    "db-cql",
    "db-rest",
    "db-graphql",
    "db-table-select",
    "db-table-describe",
    "db-keyspace-describe",
    "db-all-keyspace-describe",
)
_READ_WRITE = (
    *_READ_ONLY,
    "db-table-create",
    "db-table-alter",
    "db-table-drop",
    "db-table-modify",
    "db-keyspace-modify",
)
_DB_ADMIN = (*DB_ACTIONS, *ORG_DB_ACTIONS, "org-read", "org-user-read", "org-role-read")
_ADMIN = tuple(a for a in ALL_ACTIONS if not a.startswith("org-billing"))

ORG_ADMIN = "Organization Administrator"
BUILTIN_ROLES: dict[str, tuple[str, ...]] = {
    ORG_ADMIN: ALL_ACTIONS,
    "Database Administrator": _DB_ADMIN,
    "Admin User": _ADMIN,
    "API Admin User": _ADMIN,
    "Admin Svc Acct": _ADMIN,
    "RO User": _READ_ONLY,
    "R/W User": _READ_WRITE,
    "RO Svc Acct": _READ_ONLY,
    "R/W Svc Acct": _READ_WRITE,
    "API RO User": _READ_ONLY,
    "API RO Svc Acct": _READ_ONLY,
    "API R/W User": _READ_WRITE,
    "API R/W Svc Acct": _READ_WRITE,
    "UI View Only": ("org-read", "org-db-view", "org-user-read", "org-role-read"),
    "Billing Admin": ("org-read", "org-db-view", "org-billing-read", "org-billing-write"),
}

_ROLE_NAMESPACE = uuid.UUID("6f1f2f4e-2b1c-4f7e-9d55-0c0ffee0a571")


def builtin_role_id(name: str) -> str:
    """A stable id for a built-in role, the same in every simulator run."""
    return str(uuid.uuid5(_ROLE_NAMESPACE, name))
