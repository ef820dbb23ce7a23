"""The AstraRole kind: one Astra custom role (a named policy of permissions on resources).

``AstraRoleSpec`` is the user's desire; ``AstraRoleStatus`` is what the operator observed (it
never writes spec). The CEL rules here are enforced by the kube-apiserver at ``kubectl apply``
time; the models themselves check types, patterns and ranges only, so the operator can still
read objects stored before a rule was added.

Decisions the rules encode (also in docs/resources.md):

* ``name`` defaults, at run time, to metadata.name and, unlike a database's, may change: Astra
  updates a role by a full replace, so a rename keeps the role's ID and its tokens. The
  effective name may not be one of Astra's built-in role names.
* ``resources`` are scopes, not raw resource names: each is exactly one of the organization,
  an AstraDatabase of this namespace (``databaseRef``) or a database ID, optionally narrowed
  to a keyspace and then a table. The operator compiles them to Astra resource names (DRNs),
  adding the parents Astra needs (spec.resources' description says how); ``drns`` adds raw
  ones verbatim, but never with the ``__ORG_ID__`` placeholder of Astra's built-in roles, so
  that a built-in name or that placeholder always means a built-in role.
* ``roleID`` may be added after creation (to adopt, or to pin the role the operator created)
  but never changed or removed; when status already records a role, the added value must be
  that one.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import ConfigDict, Field

from astra_operator import config
from astra_operator.resources import common, crd
from astra_operator.resources import permissions as perms

GROUP: Final = common.GROUP
VERSION: Final = common.VERSION
API_VERSION: Final = common.API_VERSION
KIND: Final = "AstraRole"
PLURAL: Final = "astraroles"
SHORT_NAME: Final = "arole"

DRN_PREFIX: Final = "drn:astra:org:"
"""Every Astra resource name starts with this, followed by the organization ID."""
ORG_ID_PLACEHOLDER: Final = "__ORG_ID__"
"""What Astra's built-in roles write instead of an organization ID in their resources."""
ANY: Final = "*"
"""The wildcard of a database ID, keyspace or table: every one of them."""

BUILTIN_ROLE_NAMES: Final[frozenset[str]] = frozenset(
    {
        "Organization Administrator",
        "Database Administrator",
        "Admin User",
        "API Admin User",
        "Admin Svc Acct",
        "RO User",
        "R/W User",
        "RO Svc Acct",
        "R/W Svc Acct",
        "API RO User",
        "API RO Svc Acct",
        "API R/W User",
        "API R/W Svc Acct",
        "UI View Only",
        "Billing Admin",
    }
)
"""Names of the roles every Astra organization ships with; custom roles cannot take them."""

NAME_MAX: Final = 100
UUID_PATTERN: Final = common.UUID_PATTERN
DATABASE_ID_PATTERN: Final = common.readable(
    r"^(\*|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$",
    "must be an Astra database ID (a lower-case UUID) or * for every database",
)
SCOPE_NAME_PATTERN: Final = common.readable(
    r"^(\*|[a-zA-Z0-9_]{1,48})$",
    "must be a keyspace or table name (letters, digits and '_', at most 48) or * for all",
)

RoleName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=NAME_MAX,
        json_schema_extra=crd.validations(
            crd.rule(
                "!self.startsWith(' ') && !self.endsWith(' ')",
                "the role name cannot start or end with a space",
            ),
            crd.rule(
                r"!self.matches('\\p{Cc}')",  # CEL's '\\p' is the regex \p
                "the role name cannot contain control characters (line breaks, tabs, ...)",
            ),
            crd.rule(
                f"!(self in {sorted(BUILTIN_ROLE_NAMES)!r})",
                "this is the name of an Astra built-in role: choose another name",
            ),
        ),
    ),
]
RoleID = Annotated[str, Field(min_length=36, max_length=36, pattern=UUID_PATTERN)]
ScopeDatabaseID = Annotated[str, Field(min_length=1, max_length=36, pattern=DATABASE_ID_PATTERN)]
ScopeName = Annotated[str, Field(min_length=1, max_length=48, pattern=SCOPE_NAME_PATTERN)]
Drn = Annotated[
    str,
    Field(
        min_length=1,
        max_length=512,
        json_schema_extra=crd.validations(
            crd.rule(
                f"self.startsWith('{DRN_PREFIX}')",
                f"each drns entry must start with {DRN_PREFIX} (an Astra resource name such as"
                f" {DRN_PREFIX}<orgID>:db:<databaseID>)",
            ),
            crd.rule(
                f"!self.contains('{ORG_ID_PLACEHOLDER}')",
                f"drns entries cannot use {ORG_ID_PLACEHOLDER}, which only Astra's built-in"
                " roles use: write the organization ID, or use organization: true in resources",
            ),
        ),
    ),
]


class RoleSyncedReason(common.SyncedReason):
    """Reasons of the Synced condition of an AstraRole (Ready uses common.ReadyReason)."""

    WAITING_FOR_DATABASE: Final = "WaitingForDatabase"
    """Synced=False: a databaseRef names an AstraDatabase of this namespace that does not exist
    or has no status.databaseID yet; the role is written to Astra once every one has an ID."""


class DatabaseReference(common.SpecModel):
    """An AstraDatabase in the same namespace as this object."""

    name: Annotated[str, Field(min_length=1, max_length=253, pattern=common.DNS_SUBDOMAIN_PATTERN)]
    """metadata.name of the AstraDatabase. Its status.databaseID is used; until it has one,
    the role waits (Synced=False, reason WaitingForDatabase)."""


_SCOPE_RULES: Final = (
    crd.rule(
        "has(self.organization) || has(self.databaseRef) || has(self.databaseID)",
        "a resources entry needs one of organization: true, databaseRef or databaseID",
        reason="FieldValueRequired",
    ),
    crd.rule(
        "(has(self.organization) ? 1 : 0) + (has(self.databaseRef) ? 1 : 0)"
        " + (has(self.databaseID) ? 1 : 0) <= 1",
        "a resources entry can name only one of organization, databaseRef and databaseID:"
        " write one entry per scope",
    ),
    crd.rule(
        "!has(self.organization) || self.organization",
        "organization: false scopes nothing: write organization: true, or remove the entry",
        field_path=".organization",
    ),
    crd.rule(
        "!has(self.organization) || !has(self.keyspace)",
        "keyspace narrows a database scope: it cannot be used with organization (use"
        " databaseRef or databaseID, with databaseID: '*' for every database)",
        field_path=".keyspace",
        reason="FieldValueForbidden",
    ),
    crd.rule(
        "!has(self.table) || has(self.keyspace)",
        "table needs a keyspace: set keyspace in the same entry ('*' for every keyspace)",
        field_path=".table",
        reason="FieldValueRequired",
    ),
)


class RoleScope(common.SpecModel):
    """One scope the role's permissions apply to: the organization, or a database optionally
    narrowed to a keyspace and a table. Exactly one of organization, databaseRef and
    databaseID."""

    model_config = ConfigDict(json_schema_extra=crd.validations(*_SCOPE_RULES))

    organization: bool | None = None
    """true: the organization itself (drn:astra:org:<orgID>). Cannot be combined with keyspace
    or table; false is refused."""
    database_ref: DatabaseReference | None = None
    """An AstraDatabase in this namespace; the operator uses its status.databaseID."""
    database_id: ScopeDatabaseID | None = Field(default=None, alias="databaseID")
    """ID (UUID) of an Astra database, for one this namespace does not manage, or '*' for every
    database of the organization."""
    keyspace: ScopeName | None = None
    """Narrows a database scope to one keyspace (letters, digits and _, at most 48 characters),
    or '*' for every keyspace. System keyspaces (system, system_schema, ...) may be named: CQL
    drivers read them."""
    table: ScopeName | None = None
    """Narrows a keyspace scope to one table (letters, digits and _, at most 48 characters), or
    '*' for every table. Needs keyspace."""


_SPEC_RULES: Final = (
    crd.rule(
        "!has(self.managementPolicy) || self.managementPolicy != 'Observe' || has(self.roleID)",
        "managementPolicy Observe watches an existing role: set spec.roleID to its ID",
        field_path=".roleID",
        reason="FieldValueRequired",
    ),
    crd.rule(
        "!has(oldSelf.roleID) || (has(self.roleID) && self.roleID == oldSelf.roleID)",
        "roleID cannot be changed or removed once set",
        field_path=".roleID",
    ),
)


class AstraRoleSpec(common.SpecModel):
    """Desired state of an Astra custom role: its name, description, and the permissions it
    grants on which resources. Everything but roleID can change; the role keeps its ID."""

    model_config = ConfigDict(json_schema_extra=crd.validations(*_SPEC_RULES))

    name: RoleName | None = None
    """Name of the role in Astra (1-100 printable characters, no space at either end; not the
    name of a built-in role such as "RO User"). Defaults to metadata.name. May change: the
    operator renames the role in place, keeping its ID and the tokens bound to it."""
    description: Annotated[str, Field(max_length=1000)] | None = None
    """Description of the role's policy, shown in the Astra console (at most 1000
    characters). Empty when omitted."""
    permissions: common.Items[perms.Permission] = Field(
        min_length=1,
        max_length=len(perms.ALL),
        json_schema_extra=crd.validations(list_type="set"),
    )
    """Astra permissions the role grants on every resource below, each listed once: for
    example db-cql and db-table-select to read tables over CQL, org-db-view to list and read
    databases. An unknown permission is refused; the message lists the known ones."""
    resources: common.Items[RoleScope] = Field(min_length=1, max_length=50)
    """Where the permissions apply (1-50 scopes). Each entry compiles to Astra resource names
    (DRNs), which status.drns shows: organization: true gives drn:astra:org:<orgID>; a
    database (databaseRef or databaseID) gives drn:astra:org:<orgID>:db:<databaseID>; adding
    keyspace gives drn:astra:org:<orgID>:db:<databaseID>:keyspace:<keyspace> and the
    database's DRN too; adding table gives ...:keyspace:<keyspace>:table:<table> and the
    keyspace's and database's DRNs too (Astra needs a narrowed resource's parents). Table
    permissions such as db-table-select apply to tables: to read every table of a keyspace,
    write keyspace: <name> with table: '*'."""
    drns: common.Items[Drn] = Field(
        default=(), max_length=50, json_schema_extra=crd.validations(list_type="set")
    )
    """More Astra resource names, added to the policy verbatim (each starts with
    drn:astra:org:). For resources a scope cannot express; prefer resources."""
    deletion_policy: config.DeletionPolicy | None = None
    """What happens to the Astra role when this object is deleted: Delete deletes it (tokens
    bound to it lose its permissions), Retain leaves it and only stops managing it. When
    omitted, the operator's default applies (ASTRA_DEFAULT_DELETION_POLICY, Retain unless
    configured)."""
    management_policy: common.ManagementPolicy = "Full"
    """Full (the default): the operator makes the role match this spec. Observe: it only
    reads the role (spec.roleID is required) and reports, in the Synced condition (reason
    DriftObserved), each difference Full would change; it never writes to Astra, and deleting
    this object leaves the role as it is. Switching to Full applies the plan."""
    role_id: RoleID | None = Field(default=None, alias="roleID")
    """ID (UUID) of an existing Astra custom role to adopt instead of creating one; the
    operator then makes it match this spec. Once set it cannot be changed or removed; added
    later, it must equal status.roleID. Built-in roles cannot be adopted."""
    credentials: common.Credentials | None = None
    """Astra application token to use (its role needs org-role-read, org-role-write and, to
    delete, org-role-delete). Defaults to the operator's configured Secret."""


class AstraRoleStatus(common.ResourceStatus):
    """Observed state of the Astra role, written by the operator only."""

    role_id: str | None = Field(default=None, alias="roleID")
    """ID of the Astra role this object manages (created or adopted). Application tokens
    are bound to roles by this ID."""
    role_name: str | None = None
    """Name of the role in Astra, as last written or observed."""
    org_id: str | None = Field(default=None, alias="orgID")
    """Astra organization owning the role."""
    drns: common.Items[str] | None = None
    """The resources (DRNs) in the role's policy, exactly as last sent to Astra, sorted:
    spec.resources compiled (with their parents) plus spec.drns."""
    last_observed_time: common.Timestamp | None = None
    """When an observation of the role last changed this status (not a heartbeat: a steady
    role is not written)."""
    create_pending: common.CreatePending | None = None
    """Set only while the result of a create request is unknown: the operator records it
    before sending the create and clears it once status.roleID is persisted. Still set after
    a crash, the operator looks for a role with that name that did not exist before the
    request (and that no other object manages) and adopts it. When none shows up within
    ASTRA_CREATE_RETRY_GRACE seconds the request made nothing and the role is created; when
    several could be the one, it stops (Synced=False, reason CreatePendingUnresolved): set
    spec.roleID to the right one and remove this field (kubectl patch --subresource=status)."""
    kopf: dict[str, object] | None = Field(default=None, exclude=True)
    """Reserved for the kopf framework; not part of the API."""


DEFINITION: Final = crd.KindDefinition(
    kind=KIND,
    plural=PLURAL,
    short_names=(SHORT_NAME,),
    description=(
        "AstraRole is a DataStax Astra custom role (permissions on the organization, databases,"
        " keyspaces or tables) that the operator creates or adopts, keeps as the spec says,"
        " and deletes or releases on deletion according to spec.deletionPolicy. Bind"
        " application tokens to status.roleID."
    ),
    spec_model=AstraRoleSpec,
    status_model=AstraRoleStatus,
    printer_columns=(
        crd.condition_column(common.ConditionType.READY),
        crd.condition_column(common.ConditionType.SYNCED),
        crd.PrinterColumn("ROLE", "string", ".status.roleName", "Name of the role in Astra."),
        crd.PrinterColumn("ID", "string", ".status.roleID", "Astra role ID.", 1),
        crd.AGE_COLUMN,
    ),
    root_validations=(
        crd.rule(
            f"has(self.spec.name) || size(self.metadata.name) <= {NAME_MAX}",
            f"metadata.name is longer than {NAME_MAX} characters, too long for an Astra role"
            " name: set spec.name",
            field_path=".spec.name",
            reason="FieldValueRequired",
        ),
        crd.rule(
            "has(oldSelf.spec.roleID) || !has(self.spec.roleID) || !has(self.status)"
            " || !has(self.status.roleID) || self.spec.roleID == self.status.roleID",
            "spec.roleID can be added only with the ID in status.roleID (the role this object"
            " already manages)",
            field_path=".spec.roleID",
        ),
    ),
)
