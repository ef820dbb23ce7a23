"""Typed, lenient pydantic models of the DevOps API v2 wire format (requests and replies).

Replies ignore unknown fields, keep unknown status strings as plain strings, and default every
field except an object's id, so a new or missing field never breaks the operator. Attributes are
snake_case; the wire's camelCase, PascalCase and misspelled keys are read through aliases.
Secrets in replies (a new token's ``secret`` and ``token``) are ``SecretStr``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr
from pydantic.alias_generators import to_camel

ACTIVE = "ACTIVE"
ERROR = "ERROR"
MAINTENANCE = "MAINTENANCE"
PARKED = "PARKED"
HIBERNATED = "HIBERNATED"
TERMINATING = "TERMINATING"
TERMINATED = "TERMINATED"

#: Statuses a database leaves by itself; poll again later.
TRANSITIONAL_STATUSES = frozenset(
    {
        "PENDING", "PREPARING", "INITIALIZING", "ASSOCIATING", "PLACING", "MAINTENANCE",
        "RESIZING", "PARKING", "UNPARKING", "HIBERNATING", "RESUMING", "SYNCHRONIZING",
        "DEGRADED", "DECOMMISSIONING", "TERMINATING", "SUSPENDING",
    }
)  # fmt: skip
#: Statuses after which the database is gone (a TERMINATED record may still be readable).
GONE_STATUSES = frozenset({TERMINATING, TERMINATED})


def _none_as_empty(value: object) -> object:
    return [] if value is None else value


def _none_as_empty_str(value: object) -> object:
    return "" if value is None else value


def _none_as_empty_dict(value: object) -> object:
    return {} if value is None else value


StrList = Annotated[list[str], BeforeValidator(_none_as_empty)]
Text = Annotated[str, BeforeValidator(_none_as_empty_str)]


class WireModel(BaseModel):
    """Base of every wire model: camelCase aliases, unknown fields ignored, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
        extra="ignore",
        frozen=True,
    )


class Datacenter(WireModel):
    """One region of a database (``info.datacenters[]`` and ``GET .../datacenters``)."""

    id: str | None = None
    name: str | None = None
    tier: str | None = None
    status: str | None = None
    cloud_provider: str | None = None
    region: str | None = None
    region_zone: str | None = None
    region_classification: str | None = None
    capacity_units: int | None = None
    date_created: str | None = None
    grafana_url: str | None = None
    cqlsh_url: str | None = None
    graphql_url: str | None = None
    data_endpoint_url: str | None = None
    secure_bundle_url: str | None = None
    secure_bundle_internal_url: str | None = None


class DatabaseInfo(WireModel):
    """The user-facing description of a database (``Database.info``)."""

    name: str | None = None
    keyspace: str | None = None
    keyspaces: StrList = []
    additional_keyspaces: StrList = []
    db_type: str | None = None
    cloud_provider: str | None = None
    region: str | None = None
    tier: str | None = None
    capacity_units: int | None = None
    datacenters: Annotated[list[Datacenter], BeforeValidator(_none_as_empty)] = []


class Storage(WireModel):
    """Node count and storage figures of a database."""

    node_count: int | None = None
    replication_factor: int | None = None
    total_storage: int | None = None
    used_storage: int | None = None


class Database(WireModel):
    """A database as ``GET /v2/databases[/{id}]`` returns it.

    Times are kept as the API's strings (a live database's ``terminationTime`` is Go's zero time).
    """

    id: str
    org_id: str | None = None
    owner_id: str | None = None
    creation_time: str | None = None
    termination_time: str | None = None
    last_usage_time: str | None = None
    status: Text = ""
    observed_status: str | None = None
    message: str | None = None
    info: Annotated[DatabaseInfo, BeforeValidator(_none_as_empty_dict)] = DatabaseInfo()
    storage: Storage | None = None
    available_actions: StrList = []
    studio_url: str | None = None
    grafana_url: str | None = None
    cqlsh_url: str | None = None
    graphql_url: str | None = None
    data_endpoint_url: str | None = None

    @property
    def keyspaces(self) -> list[str]:
        """Every keyspace: ``info.keyspaces``, else the default plus the additional ones."""
        if self.info.keyspaces:
            return list(self.info.keyspaces)
        default = [self.info.keyspace] if self.info.keyspace else []
        return default + [k for k in self.info.additional_keyspaces if k not in default]


class DatabaseCreate(WireModel):
    """The body of ``POST /v2/databases``. Serverless databases use tier ``serverless``, 1 CU."""

    name: str
    cloud_provider: str
    region: str
    tier: str = "serverless"
    capacity_units: int = 1
    keyspace: str | None = None
    db_type: str | None = None
    pcu_group_uuid: str | None = Field(default=None, alias="pcuGroupUUID")


class DatacenterCreate(WireModel):
    """One item of the ``POST /v2/databases/{id}/datacenters`` body."""

    cloud_provider: str
    region: str
    tier: str = "serverless"
    capacity_units: int | None = None


class CustomDomainBundle(WireModel):
    """A secure connect bundle for a custom domain."""

    download_url: str | None = Field(default=None, alias="downloadURL")
    api_fqdn: str | None = Field(default=None, alias="apiFQDN")
    cql_fqdn: str | None = Field(default=None, alias="cqlFQDN")
    dashboard_fqdn: str | None = Field(default=None, alias="dashboardFQDN")
    domain: str | None = None


class CredsURL(WireModel):
    """Short-lived (about 5 minutes) download links for one datacenter's secure connect bundle."""

    datacenter_id: str | None = Field(
        default=None, validation_alias=AliasChoices("datacenterID", "datcenterID", "datacenter_id")
    )
    download_url: str | None = Field(default=None, alias="downloadURL")
    download_url_internal: str | None = Field(default=None, alias="downloadURLInternal")
    download_url_migration_proxy: str | None = Field(
        default=None, alias="downloadURLMigrationProxy"
    )
    download_url_migration_proxy_internal: str | None = Field(
        default=None, alias="downloadURLMigrationProxyInternal"
    )
    custom_domain_bundles: Annotated[list[CustomDomainBundle], BeforeValidator(_none_as_empty)] = []


class ServerlessRegion(WireModel):
    """An entry of ``GET /v2/regions/serverless``."""

    name: str
    cloud_provider: str | None = None
    display_name: str | None = None
    zone: str | None = None
    classification: str | None = None
    region_type: str | None = Field(default=None, alias="region_type")
    enabled: bool | None = None
    reserved_for_qualified_users: bool | None = None


class AvailableRegion(WireModel):
    """An entry of ``GET /v2/availableRegions`` (the classic tier/provider/region catalogue)."""

    tier: str | None = None
    cloud_provider: str | None = None
    region: str | None = None
    description: str | None = None
    region_display: str | None = None
    region_continent: str | None = None
    database_count_used: int | None = None
    database_count_limit: int | None = None
    capacity_units_used: int | None = None
    capacity_units_limit: int | None = None
    default_storage_per_capacity_unit_gb: int | None = None


class Organization(WireModel):
    """The organization of the calling token (``GET /v2/currentOrg``)."""

    id: str
    name: str | None = None


class Policy(WireModel):
    """A role's policy: which actions are allowed on which resources (DRNs)."""

    description: Text = Field(
        default="", validation_alias=AliasChoices("description", "Description")
    )
    resources: StrList = Field(default=[], validation_alias=AliasChoices("resources", "Resources"))
    actions: StrList = Field(default=[], validation_alias=AliasChoices("actions", "Actions"))
    effect: str = Field(default="allow", validation_alias=AliasChoices("effect", "Effect"))


class Role(WireModel):
    """A role; the API answers PascalCase (``ID``, ``Name``, ``Policy``), the spec lower case."""

    id: str = Field(validation_alias=AliasChoices("ID", "id", "Id"))
    name: str | None = Field(default=None, validation_alias=AliasChoices("Name", "name"))
    policy: Policy | None = Field(default=None, validation_alias=AliasChoices("Policy", "policy"))
    org_id: str | None = Field(
        default=None, validation_alias=AliasChoices("OrgID", "orgId", "orgID", "org_id")
    )
    last_update_date_time: str | None = Field(
        default=None,
        validation_alias=AliasChoices("LastUpdateDateTime", "last_update_datetime"),
    )
    last_update_user_id: str | None = Field(
        default=None, validation_alias=AliasChoices("LastUpdateUserID", "last_update_userid")
    )


class RoleRequest(WireModel):
    """The body of role create (``POST``) and update (``PUT``, a full replace)."""

    name: str
    policy: Policy


class TokenRequest(WireModel):
    """The body of ``POST /v2/tokens``: role ids (not names), optionally the org id and a
    description (which ``GET /v2/clientIdSecrets`` lists)."""

    roles: list[str]
    org_id: str | None = None
    description: str | None = None


class CreatedToken(WireModel):
    """A newly minted application token; ``secret`` and ``token`` are only ever shown once."""

    client_id: str
    org_id: str | None = None
    roles: StrList = []
    generated_on: str | None = None
    secret: SecretStr | None = None
    token: SecretStr | None = None


class TokenInfo(WireModel):
    """An existing token as ``GET /v2/clientIdSecrets`` lists it (never with its secret)."""

    client_id: str
    roles: StrList = []
    generated_on: str | None = None
    description: str | None = None
    token_expiry: str | None = None


class AccessListAddress(WireModel):
    """One address of a database access list."""

    address: str
    enabled: bool | None = None
    description: str | None = None
    last_update_date_time: str | None = None


class AccessListConfigurations(WireModel):
    """Access-list settings: whether the list is enforced."""

    access_list_enabled: bool | None = None


class AccessList(WireModel):
    """``GET /v2/databases/{id}/access-list``."""

    organization_id: str | None = None
    database_id: str | None = None
    addresses: Annotated[list[AccessListAddress], BeforeValidator(_none_as_empty)] = []
    configurations: AccessListConfigurations | None = None

    @property
    def enabled(self) -> bool:
        """Whether the access list is enforced (false when the API says nothing)."""
        return bool(self.configurations and self.configurations.access_list_enabled)


class AddressRequest(WireModel):
    """An address to allow: IPv4 address or CIDR, enabled flag and description."""

    address: str
    enabled: bool = True
    description: str = ""


class AccessListRequest(WireModel):
    """The body of ``PUT /v2/databases/{id}/access-list`` (replaces the whole list)."""

    addresses: list[AddressRequest]
    configurations: AccessListConfigurations
