"""The AstraToken kind: one Astra application token, kept in a Secret and rotated without a gap.

``AstraTokenSpec`` is the user's desire; ``AstraTokenStatus`` is what the operator observed (it
never writes spec). The token's values (client secret, token) are never in either: they live in
the output Secret only.

Decisions the rules encode (also in docs/resources.md and docs/operations.md):

* ``roles`` name each role exactly once as one of an AstraRole of this namespace
  (``roleRef``), a role ID, or the name of an Astra built-in role (``builtinRole``, one of
  the names every organization ships with). The operator resolves them to role IDs; an Astra
  token cannot change its roles, so a change of roles issues a new token (a rotation).
* Durations are written the way Kubernetes and Go write them: hours, minutes and seconds, in
  that order, each optional (``720h``, ``10m``, ``1h30m``, ``90s``); never zero.
* There is no adoption: an application token's secret is shown once, when it is created, so
  a token made elsewhere could never be written to the Secret.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import ConfigDict, Field

from astra_operator import config
from astra_operator.resources import common, crd
from astra_operator.resources import role as rl

GROUP: Final = common.GROUP
VERSION: Final = common.VERSION
API_VERSION: Final = common.API_VERSION
KIND: Final = "AstraToken"
PLURAL: Final = "astratokens"
SHORT_NAME: Final = "atoken"

ROTATE_ANNOTATION: Final = "astra.operator.dev/rotate"
"""Set (or change) to any new value, e.g. a timestamp, to rotate the token now."""
SECRET_SUFFIX: Final = "-token"
"""spec.secretName defaults to metadata.name plus this."""
DEFAULT_GRACE_PERIOD: Final = "10m"
SECRET_KEYS: Final = ("clientId", "clientSecret", "token")
"""The keys of the output Secret."""

DURATION_PATTERN: Final = common.readable(
    r"^([0-9]{1,6}h)?([0-9]{1,6}m)?([0-9]{1,6}s)?$",
    "must be a duration in hours, minutes and seconds, in that order, such as 720h, 10m, 1h30m"
    " or 90s",
)
Duration = Annotated[str, Field(min_length=2, max_length=21, pattern=DURATION_PATTERN)]
RoleID = Annotated[str, Field(min_length=36, max_length=36, pattern=common.UUID_PATTERN)]


class TokenSyncedReason(common.SyncedReason):
    """Reasons of the Synced condition of an AstraToken (Ready uses common.ReadyReason)."""

    WAITING_FOR_ROLE: Final = "WaitingForRole"
    """Synced=False: a roleRef names an AstraRole of this namespace that does not exist or has
    no status.roleID yet; nothing is issued until every one has an ID."""
    ROLE_NOT_FOUND: Final = "RoleNotFound"
    """Synced=False: a builtinRole is not in the organization's role list."""
    SECRET_CONFLICT: Final = "SecretConflict"
    """Synced=False: spec.secretName names a Secret this object does not own; nothing is
    issued or written until another name is chosen (or that Secret is removed)."""


class RoleReference(common.SpecModel):
    """An AstraRole in the same namespace as this object."""

    name: Annotated[str, Field(min_length=1, max_length=253, pattern=common.DNS_SUBDOMAIN_PATTERN)]
    """metadata.name of the AstraRole. Its status.roleID is used; until it has one, the token
    waits (Synced=False, reason WaitingForRole)."""


_ROLE_RULES: Final = (
    crd.rule(
        "(has(self.roleRef) ? 1 : 0) + (has(self.roleID) ? 1 : 0)"
        " + (has(self.builtinRole) ? 1 : 0) == 1",
        "each roles entry names exactly one of roleRef, roleID and builtinRole: write one entry"
        " per role",
    ),
)


class TokenRole(common.SpecModel):
    """One role of the token: exactly one of roleRef, roleID and builtinRole."""

    model_config = ConfigDict(json_schema_extra=crd.validations(*_ROLE_RULES))

    role_ref: RoleReference | None = None
    """An AstraRole in this namespace; the operator uses its status.roleID."""
    role_id: RoleID | None = Field(default=None, alias="roleID")
    """ID (UUID) of an Astra role this namespace does not manage."""
    builtin_role: (
        Annotated[
            str,
            Field(
                min_length=1,
                max_length=100,
                json_schema_extra=crd.validations(
                    crd.rule(
                        f"self in {sorted(rl.BUILTIN_ROLE_NAMES)!r}",
                        "builtinRole must be the name of an Astra built-in role, written"
                        " exactly: " + ", ".join(sorted(rl.BUILTIN_ROLE_NAMES)),
                    )
                ),
            ),
        ]
        | None
    ) = None
    """Name of an Astra built-in role, exactly as Astra writes it, e.g. "API R/W Svc Acct" or
    "Database Administrator"; the operator finds its ID in the organization's role list."""


_ROTATION_RULES: Final = (
    crd.rule(
        "!has(self.every) || !self.every.matches('^(0+[hms])+$')",
        "rotation.every must be longer than zero",
        field_path=".every",
    ),
    crd.rule(
        "!has(self.gracePeriod) || !self.gracePeriod.matches('^(0+[hms])+$')",
        "rotation.gracePeriod must be longer than zero: pods read a mounted Secret up to a"
        " minute late",
        field_path=".gracePeriod",
    ),
)


class Rotation(common.SpecModel):
    """When the token is replaced by a new one, and how long the old one keeps working."""

    model_config = ConfigDict(json_schema_extra=crd.validations(*_ROTATION_RULES))

    every: Duration | None = None
    """Issue a new token this long after the current one was issued (e.g. 720h for 30 days).
    Omitted: only on demand (the annotation astra.operator.dev/rotate), when the Secret was
    deleted or edited, or when the roles change."""
    grace_period: Duration = DEFAULT_GRACE_PERIOD
    """How long the previous token keeps working after a rotation wrote the new one to the
    Secret (pods see a changed mounted Secret up to about a minute late). status.
    pendingRevocations shows when each goes."""


class AstraTokenSpec(common.SpecModel):
    """Desired state of an Astra application token: its roles, where it is written, and when
    it is rotated. Every field can change; a change of roles issues a new token."""

    roles: common.Items[TokenRole] = Field(min_length=1, max_length=20)
    """The roles the token carries (1-20), each one of roleRef, roleID or builtinRole."""
    description: Annotated[str, Field(max_length=200)] | None = None
    """Description of the token in Astra (at most 200 characters). The operator appends a
    marker naming this object ("[astra-operator <namespace>/<name> <uid>]") that it finds its
    tokens by; do not remove it from tokens in Astra."""
    secret_name: (
        Annotated[str, Field(min_length=1, max_length=253, pattern=common.DNS_SUBDOMAIN_PATTERN)]
        | None
    ) = None
    """The Secret (in this namespace) the operator writes the token to, with the keys
    clientId, clientSecret and token. Defaults to <metadata.name>-token. The Secret is owned by
    this object; one that exists and belongs to anything else is never overwritten. A new
    name gets a new token (the old Secret is left as it is)."""
    rotation: Rotation | None = None
    """Scheduled rotation and the grace period of every rotation (10m when omitted)."""
    deletion_policy: config.DeletionPolicy | None = None
    """What happens to the Astra token when this object is deleted: Delete revokes it (and any
    previous token still in its grace period), Retain leaves it working and keeps the Secret
    (no longer owned by this object). When omitted, the operator's default applies
    (ASTRA_DEFAULT_DELETION_POLICY, Retain unless configured)."""
    credentials: common.Credentials | None = None
    """Astra application token the operator uses to issue this one (its role needs
    org-token-read and org-token-write, and org-role-read for builtinRole). Defaults to the
    operator's configured Secret."""


class PendingRevocation(common.CRModel):
    """A previous token that still works until its grace period ends."""

    client_id: str
    """clientId of the previous token."""
    revoke_at: common.Timestamp
    """When the operator revokes it."""
    unconfirmed: bool | None = None
    """true for a token a pass issued and had not yet seen written to the Secret (recorded
    before the write): if that pass ended early, the next one keeps it only when the Secret
    holds it, and otherwise revokes it at once."""


class AstraTokenStatus(common.ResourceStatus):
    """Observed state of the token, written by the operator only. Never holds a secret."""

    client_id: str | None = None
    """clientId of the token now in the Secret (its Astra ID)."""
    roles: common.Items[str] | None = None
    """The role IDs the current token carries: spec.roles resolved, sorted."""
    issued_at: common.Timestamp | None = None
    """When the current token was issued."""
    next_rotation_at: common.Timestamp | None = None
    """When the next scheduled rotation is due (spec.rotation.every after issuedAt)."""
    pending_revocations: common.Items[PendingRevocation] | None = None
    """Previous tokens still working during their grace period, and when each is revoked."""
    rotate_request: str | None = None
    """The value of the annotation astra.operator.dev/rotate that the current token answers: a
    different value asks for a rotation."""
    last_observed_time: common.Timestamp | None = None
    """When an observation of the token last changed this status (not a heartbeat: a steady
    token is not written)."""
    create_pending: common.CreatePending | None = None
    """Set only while the result of a token create is unknown: recorded before the create is
    sent, cleared once status.clientId is. Still set after a crash, the operator revokes every
    token carrying this object's marker that is not in status, then issues a fresh one: a
    token whose secret no Secret holds never stays alive."""
    kopf: dict[str, object] | None = Field(default=None, exclude=True)
    """Reserved for the kopf framework; not part of the API."""


DEFINITION: Final = crd.KindDefinition(
    kind=KIND,
    plural=PLURAL,
    short_names=(SHORT_NAME,),
    description=(
        "AstraToken is a DataStax Astra application token carrying roles (AstraRoles of this"
        " namespace, role IDs or built-in roles) that the operator issues into a Secret"
        " (clientId, clientSecret, token), rotates on a schedule, on request or when the"
        " Secret is lost, and revokes or leaves on deletion according to spec.deletionPolicy."
    ),
    spec_model=AstraTokenSpec,
    status_model=AstraTokenStatus,
    printer_columns=(
        crd.condition_column(common.ConditionType.READY),
        crd.condition_column(common.ConditionType.SYNCED),
        crd.PrinterColumn(
            "CLIENT ID", "string", ".status.clientId", "clientId of the current token.", 1
        ),
        crd.AGE_COLUMN,
    ),
    root_validations=(
        crd.rule(
            f"has(self.spec.secretName) || size(self.metadata.name) <= {253 - len(SECRET_SUFFIX)}",
            f"metadata.name is too long for the default Secret name <name>{SECRET_SUFFIX}: set"
            " spec.secretName",
            field_path=".spec.secretName",
            reason="FieldValueRequired",
        ),
    ),
)
