"""The AstraDatabase kind: one DataStax Astra DB database (serverless or classic).

``AstraDatabaseSpec`` is the user's desire; ``AstraDatabaseStatus`` is what the operator
observed (it never writes spec). The CEL rules here are enforced by the kube-apiserver at
``kubectl apply`` time; the models themselves check types, patterns and ranges only, so the
operator can still read objects stored before a rule was added.

Decisions the rules encode (also in docs/resources.md):

* ``tier`` accepts ``serverless`` and the classic tiers. ``cloudnative`` (in the API's enum,
  undocumented elsewhere) is left out; adding an enum value later is backward compatible.
* ``name`` defaults, at run time, to metadata.name; the *effective* name is immutable, so a
  user may write ``name: <metadata.name>`` later but never another name.
* ``databaseID`` may be added after creation (to adopt, or to pin the database the operator
  created) but never changed or removed; when status already records a database, the added
  value must be that one.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args

from pydantic import ConfigDict, Field

from astra_operator import config
from astra_operator.resources import common, crd

GROUP: Final = common.GROUP
VERSION: Final = common.VERSION
API_VERSION: Final = common.API_VERSION
KIND: Final = "AstraDatabase"
PLURAL: Final = "astradatabases"
SHORT_NAME: Final = "adb"

CloudProvider = Literal["AWS", "GCP", "AZURE"]
ClassicTier = Literal[
    "developer", "A5", "A10", "A20", "A40", "C10", "C20", "C40", "D10", "D20", "D40"
]
Tier = Literal["serverless", ClassicTier]
SERVERLESS: Final = "serverless"
CLASSIC_TIERS: Final[tuple[str, ...]] = get_args(ClassicTier)
DEFAULT_KEYSPACE: Final = "default_keyspace"

NAME_PATTERN: Final = common.readable(
    r"^[a-zA-Z0-9]([a-zA-Z0-9&+_()<>.,@-]{0,48}[a-zA-Z0-9])?$",
    "must be 1-50 characters: letters, digits and & + - _ ( ) < > . , @, starting and ending "
    "with a letter or digit",
)
KEYSPACE_PATTERN: Final = common.readable(
    r"^[a-zA-Z0-9][a-zA-Z0-9_]{0,47}$",
    "must be a keyspace name: letters, digits and '_', at most 48, not starting with '_'",
)
REGION_PATTERN: Final = common.readable(
    r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$",
    "must be a region name as the cloud provider writes it: lower-case letters, digits and "
    "'-' (e.g. us-east1, us-east-2, westus2)",
)
UUID_PATTERN: Final = common.UUID_PATTERN
_OCTET: Final = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
ADDRESS_PATTERN: Final = common.readable(
    rf"^({_OCTET}\.){{3}}{_OCTET}(/([0-9]|[12][0-9]|3[0-2]))?$",
    "must be an IPv4 address (a /32) or CIDR such as 203.0.113.7 or 198.51.100.0/24: Astra "
    "access lists take IPv4 only",
)

DatabaseName = Annotated[str, Field(min_length=1, max_length=50, pattern=NAME_PATTERN)]
Region = Annotated[str, Field(min_length=1, max_length=64, pattern=REGION_PATTERN)]
DatabaseID = Annotated[str, Field(min_length=36, max_length=36, pattern=UUID_PATTERN)]
KeyspaceName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=48,
        pattern=KEYSPACE_PATTERN,
        json_schema_extra=crd.validations(
            crd.rule(
                "!(self in ['system', 'dse']) && !self.startsWith('system_')",
                "keyspace names system, dse and system_* are reserved by Cassandra",
            )
        ),
    ),
]


def _immutable(field: str) -> common.JsonDict:
    return crd.validations(
        crd.rule("self == oldSelf", f"{field} is immutable: it cannot change after creation")
    )


def _cidr(address: str) -> str:
    """CEL: the address as a CIDR (a bare address is its /32)."""
    return f"({address}.contains('/') ? {address} : {address} + '/32')"


class AccessAddress(common.SpecModel):
    """One address the database may be reached from."""

    address: Annotated[str, Field(min_length=7, max_length=18, pattern=ADDRESS_PATTERN)]
    """IPv4 address or CIDR (203.0.113.7 or 198.51.100.0/24); a bare address means its /32."""
    description: Annotated[str, Field(max_length=255)] = ""
    """What the address is, shown in Astra."""
    enabled: bool = True
    """false keeps the entry in Astra but does not allow traffic from it."""


class AccessList(common.SpecModel):
    """The database's IP access list. The operator makes Astra hold exactly these addresses
    (a bare address and its /32 are the same); entries added in Astra are removed."""

    enabled: bool = True
    """Whether Astra enforces the list: with true, only the enabled addresses may connect."""
    addresses: common.Items[AccessAddress] = Field(
        default=(),
        max_length=100,
        json_schema_extra=crd.validations(
            crd.rule(
                f"self.all(a, self.exists_one(b, {_cidr('b.address')} == {_cidr('a.address')}))",
                "each address may be listed once (a bare address is the same as its /32)",
            )
        ),
    )
    """The allowed addresses (at most 100)."""


class DatabaseReadyReason(common.ReadyReason):
    """Reasons of the Ready condition of an AstraDatabase."""

    UPDATING: Final = "Updating"
    """Astra is applying a change (MAINTENANCE, RESIZING, PARKING, UNPARKING, ...)."""
    PARKED: Final = "Parked"
    """Ready=False: the classic database is parked, as spec.parked asks."""
    HIBERNATED: Final = "Hibernated"
    """Ready=False: Astra hibernated the idle database; a Data API request resumes it."""
    SUSPENDED: Final = "Suspended"
    """Ready=False: Astra suspended the database (e.g. Free plan credits exhausted)."""
    TERMINATED: Final = "Terminated"
    """Ready=False: the database was terminated or no longer exists in Astra."""


class DatabaseSyncedReason(common.SyncedReason):
    """Reasons of the Synced condition of an AstraDatabase."""

    CONNECTION_SECRET_CONFLICT: Final = "ConnectionSecretConflict"
    """Synced=False: spec.connectionSecret names a Secret another object (or someone) owns."""
    DATABASE_NOT_FOUND: Final = "DatabaseNotFound"
    """Synced=False: the database this object manages is gone; it is never re-created."""
    ACCESS_LIST_NOT_ALLOWED: Final = "AccessListNotAllowed"
    """Synced=False: the token may not read or write the access list (accesslist-read,
    accesslist-write); the rest of the database is still managed."""


_SPEC_RULES: Final = (
    crd.rule(
        "self.tier != 'serverless' || !has(self.capacityUnits)",
        "capacityUnits applies to classic tiers only: serverless databases scale by themselves",
        field_path=".capacityUnits",
        reason="FieldValueForbidden",
    ),
    crd.rule(
        "self.tier != 'serverless' || !has(self.parked)",
        "parked applies to classic tiers only: serverless databases cannot be parked",
        field_path=".parked",
        reason="FieldValueForbidden",
    ),
    crd.rule(
        "self.tier == 'serverless' || !has(self.dbType)",
        "dbType applies to serverless databases only: remove it for classic tiers",
        field_path=".dbType",
        reason="FieldValueForbidden",
    ),
    crd.rule(
        "!has(self.additionalRegions) || !(self.region in self.additionalRegions)",
        "additionalRegions must not contain the primary region (spec.region)",
        field_path=".additionalRegions",
    ),
    crd.rule(
        "!has(self.additionalKeyspaces) || !(self.keyspace in self.additionalKeyspaces)",
        "additionalKeyspaces must not contain the initial keyspace (spec.keyspace)",
        field_path=".additionalKeyspaces",
    ),
    crd.rule(
        "has(self.dbType) == has(oldSelf.dbType)"
        " && (!has(self.dbType) || self.dbType == oldSelf.dbType)",
        "dbType is immutable: it cannot be added, changed or removed after creation",
        field_path=".dbType",
    ),
    crd.rule(
        "!has(oldSelf.capacityUnits) || has(self.capacityUnits)",
        "capacityUnits cannot be removed once set",
        field_path=".capacityUnits",
        reason="FieldValueRequired",
    ),
    crd.rule(
        "!has(self.managementPolicy) || self.managementPolicy != 'Observe' || has(self.databaseID)",
        "managementPolicy Observe watches an existing database: set spec.databaseID to its ID",
        field_path=".databaseID",
        reason="FieldValueRequired",
    ),
    crd.rule(
        "!has(oldSelf.databaseID)"
        " || (has(self.databaseID) && self.databaseID == oldSelf.databaseID)",
        "databaseID cannot be changed or removed once set",
        field_path=".databaseID",
    ),
)


class AstraDatabaseSpec(common.SpecModel):
    """Desired state of an Astra database. Identity fields (name, cloudProvider, region, tier,
    dbType, keyspace, databaseID) are fixed at creation."""

    model_config = ConfigDict(json_schema_extra=crd.validations(*_SPEC_RULES))

    name: DatabaseName | None = None
    """Name of the database in Astra (1-50 characters: letters, digits and & + - _ ( ) < > . , @,
    starting and ending with a letter or digit). Defaults to metadata.name. Astra names are
    not unique; the operator tracks the database by status.databaseID. Immutable."""
    cloud_provider: CloudProvider = Field(json_schema_extra=_immutable("cloudProvider"))
    """Cloud provider hosting the primary region: AWS, GCP or AZURE. Immutable."""
    region: Region = Field(json_schema_extra=_immutable("region"))
    """Primary region, in the provider's naming (e.g. us-east-2 on AWS, us-east1 on GCP,
    westus2 on Azure). Immutable."""
    tier: Tier = Field(default=SERVERLESS, json_schema_extra=_immutable("tier"))
    """serverless (the default) or a classic tier: developer, A5, A10, A20, A40, C10, C20,
    C40, D10, D20, D40. Immutable."""
    capacity_units: Annotated[int, Field(ge=1, le=100)] | None = Field(
        default=None,
        json_schema_extra=crd.validations(
            crd.rule("self >= oldSelf", "capacityUnits cannot decrease: Astra only adds capacity")
        ),
    )
    """Classic tiers only: capacity units, 1-100 (1 when omitted). Can only grow; the operator
    resizes by at most 3 units per step."""
    db_type: Literal["vector"] | None = None
    """Serverless only: vector for a vector-search database; omit for a non-vector one.
    Immutable."""
    keyspace: KeyspaceName = Field(
        default=DEFAULT_KEYSPACE, json_schema_extra=_immutable("keyspace")
    )
    """Initial keyspace created with the database (letters, digits and _, at most 48
    characters). Immutable."""
    additional_keyspaces: common.Items[KeyspaceName] = Field(
        default=(), max_length=100, json_schema_extra=crd.validations(list_type="set")
    )
    """More keyspaces the operator creates. Removing a name here does not drop the keyspace
    (the operator never deletes data); drop it in Astra yourself."""
    additional_regions: common.Items[Region] = Field(
        default=(), max_length=16, json_schema_extra=crd.validations(list_type="set")
    )
    """Secondary regions (same cloud provider), added one at a time. Removing a region here
    terminates that region's datacenter."""
    parked: bool | None = None
    """Classic tiers only: true parks the database (no compute, lower cost), false unparks
    it. DataStax has deprecated parking."""
    deletion_policy: config.DeletionPolicy | None = None
    """What happens to the Astra database when this object is deleted: Delete terminates it,
    Retain leaves it running and only stops managing it. When omitted, the operator's default
    applies (ASTRA_DEFAULT_DELETION_POLICY, Retain unless configured)."""
    deletion_protection: bool = False
    """When true, the operator refuses to terminate the database: with deletionPolicy Delete,
    deleting this object waits (Synced=False, reason DeletionProtected) until this is set back
    to false. No effect with Retain."""
    management_policy: common.ManagementPolicy = "Full"
    """Full (the default): the operator makes the database match this spec. Observe: it only
    reads the database (spec.databaseID is required) and reports, in the Synced condition
    (reason DriftObserved), each difference Full would change, like a plan; it never writes to
    Astra, and deleting this object leaves the database as it is. Switching to Full applies
    the plan."""
    database_id: DatabaseID | None = Field(default=None, alias="databaseID")
    """ID (UUID) of an existing Astra database to adopt instead of creating one. Once set it
    cannot be changed or removed; added later, it must equal status.databaseID."""
    credentials: common.Credentials | None = None
    """Astra application token to use. Defaults to the operator's configured Secret."""
    connection_secret: common.LocalSecretReference | None = None
    """Secret (in this namespace) the operator writes the database's connection details into
    (ID, region, endpoints; never a token). No Secret is written when omitted."""
    access_list: AccessList | None = None
    """The IP access list the operator keeps in Astra (needs the accesslist-read and
    accesslist-write permissions). Omitted: the operator leaves Astra's access list alone."""


class DatabaseEndpoints(common.CRModel):
    """URLs of the database's primary region, as Astra reports them."""

    data_api: str | None = Field(default=None, alias="dataAPI")
    """Data API base URL (https://<id>-<region>.apps.astra.datastax.com)."""
    cqlsh: str | None = None
    """Web CQL shell."""
    graphql: str | None = None
    """GraphQL API."""
    rest: str | None = None
    """REST API."""
    grafana: str | None = None
    """Grafana dashboard (classic)."""


class ObservedRegion(common.CRModel):
    """One datacenter of the database, as observed."""

    region: str
    """Region name."""
    datacenter_id: str | None = Field(default=None, alias="datacenterID")
    """Astra datacenter ID (<databaseID>-<n>)."""
    status: str | None = None
    """Datacenter status as Astra reports it (often empty for serverless)."""


class ObservedAddress(common.CRModel):
    """One access-list entry as Astra holds it."""

    address: str
    """The address or CIDR, as Astra writes it."""
    enabled: bool
    """Whether the entry allows traffic."""
    description: str = ""
    """The entry's description."""


class ObservedAccessList(common.CRModel):
    """The database's access list as Astra holds it."""

    enabled: bool
    """Whether Astra enforces the list."""
    addresses: common.Items[ObservedAddress] = ()
    """The entries, in address order."""


class CreatePending(common.CreatePending):
    """A database create request whose result is not yet recorded."""

    cloud_provider: CloudProvider
    """Cloud provider in the create request."""
    region: str
    """Region in the create request."""


class AstraDatabaseStatus(common.ResourceStatus):
    """Observed state of the Astra database, written by the operator only."""

    database_id: str | None = Field(default=None, alias="databaseID")
    """ID of the Astra database this object manages (created or adopted)."""
    org_id: str | None = Field(default=None, alias="orgID")
    """Astra organization owning the database."""
    phase: str | None = None
    """Astra's status of the database as last observed (ACTIVE, PENDING, INITIALIZING,
    MAINTENANCE, PARKED, HIBERNATED, TERMINATING, ...; NOT_FOUND once Astra answers 404).
    Open-ended: Astra adds values."""
    endpoints: DatabaseEndpoints | None = None
    """Endpoints of the primary region."""
    keyspaces: common.Items[str] | None = None
    """All keyspaces the database has, as last observed."""
    regions: common.Items[ObservedRegion] | None = None
    """All datacenters of the database, primary included, as last observed."""
    capacity_units: int | None = None
    """Capacity units as last observed (1 for serverless)."""
    last_observed_time: common.Timestamp | None = None
    """When an observation of the database last changed this status (not a heartbeat: a
    steady database is not written)."""
    access_list: ObservedAccessList | None = None
    """The access list Astra holds, when spec.accessList manages it."""
    create_pending: CreatePending | None = None
    """Set only while the result of a create request is unknown. Astra names are not unique
    and a create is not idempotent, so the operator records this before sending the create
    and clears it once status.databaseID is persisted. Still set after a crash, it means a
    database may or may not have been created: the operator stops (Synced=False, reason
    CreatePendingUnresolved) only when several new databases could be the one: set
    spec.databaseID to the right one and remove this field (kubectl patch --subresource=status).
    When none shows up within ASTRA_CREATE_RETRY_GRACE seconds, the request made nothing and
    the operator creates the database."""
    kopf: dict[str, object] | None = Field(default=None, exclude=True)
    """Reserved for the kopf framework; not part of the API."""


DEFINITION: Final = crd.KindDefinition(
    kind=KIND,
    plural=PLURAL,
    short_names=(SHORT_NAME,),
    description=(
        "AstraDatabase is a DataStax Astra DB database (serverless or classic) that the operator"
        " creates or adopts, keeps as the spec says, and terminates or releases on deletion"
        " according to spec.deletionPolicy."
    ),
    spec_model=AstraDatabaseSpec,
    status_model=AstraDatabaseStatus,
    printer_columns=(
        crd.PrinterColumn("PHASE", "string", ".status.phase", "Astra status of the database."),
        crd.condition_column(common.ConditionType.READY),
        crd.condition_column(common.ConditionType.SYNCED),
        crd.PrinterColumn("TIER", "string", ".spec.tier", "serverless or a classic tier."),
        crd.PrinterColumn("REGION", "string", ".spec.region", "Primary region."),
        crd.PrinterColumn("ID", "string", ".status.databaseID", "Astra database ID.", 1),
        crd.AGE_COLUMN,
    ),
    root_validations=(
        crd.rule(
            "has(self.spec.name) || size(self.metadata.name) <= 50",
            "metadata.name is longer than 50 characters, too long for an Astra database name:"
            " set spec.name",
            field_path=".spec.name",
            reason="FieldValueRequired",
        ),
        crd.rule(
            "(has(self.spec.name) ? self.spec.name : self.metadata.name)"
            " == (has(oldSelf.spec.name) ? oldSelf.spec.name : oldSelf.metadata.name)",
            "name is immutable: the Astra database name (spec.name, or metadata.name when"
            " omitted) cannot change after creation",
            field_path=".spec.name",
        ),
        crd.rule(
            "has(oldSelf.spec.databaseID) || !has(self.spec.databaseID) || !has(self.status)"
            " || !has(self.status.databaseID) || self.spec.databaseID == self.status.databaseID",
            "spec.databaseID can be added only with the ID in status.databaseID (the database"
            " this object already manages)",
            field_path=".spec.databaseID",
        ),
    ),
)
