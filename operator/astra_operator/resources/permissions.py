"""The permission strings an Astra custom role may carry (the ``actions`` of its policy).

One list, used for the AstraRole CRD's enum and by anything that needs to know a permission.
It is the union of three sources, kept in one sorted :data:`Permission` so that ``kubectl``'s
"Unsupported value" message lists the allowed values in an order a person can scan:

* the 43 values of the DevOps API v2 specification's policy-action enumeration;
* 11 more that Astra's own built-in roles carry but that enumeration lacks (access lists,
  data import, private endpoints, regions, third-party metrics, customer-managed keys,
  integrations, streaming): ``accesslist-read``, ``accesslist-write``, ``db-data-import``,
  ``db-manage-privateendpoint``, ``db-manage-region``, ``db-manage-thirdpartymetrics``,
  ``org-cmk-read``, ``org-cmk-write``, ``org-integrations-read``, ``org-integrations-write``,
  ``org-stream-manage``;
* 2 that the specification names only as required scopes of some endpoints:
  ``org-db-readpeering`` and ``db-manage-telemetry``.

Astra may add permissions; adding a value here (and regenerating the CRDs) is a backward
compatible change, removing one is not.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Permission = Literal[
    "accesslist-read",
    "accesslist-write",
    "db-all-keyspace-create",
    "db-all-keyspace-describe",
    "db-cql",
    "db-data-import",
    "db-graphql",
    "db-keyspace-alter",
    "db-keyspace-authorize",
    "db-keyspace-create",
    "db-keyspace-describe",
    "db-keyspace-drop",
    "db-keyspace-grant",
    "db-keyspace-modify",
    "db-manage-privateendpoint",
    "db-manage-region",
    "db-manage-telemetry",
    "db-manage-thirdpartymetrics",
    "db-rest",
    "db-table-alter",
    "db-table-authorize",
    "db-table-create",
    "db-table-describe",
    "db-table-drop",
    "db-table-grant",
    "db-table-modify",
    "db-table-select",
    "org-audits-read",
    "org-billing-read",
    "org-billing-write",
    "org-cmk-read",
    "org-cmk-write",
    "org-db-addpeering",
    "org-db-create",
    "org-db-expand",
    "org-db-managemigratorproxy",
    "org-db-passwordreset",
    "org-db-readpeering",
    "org-db-suspend",
    "org-db-terminate",
    "org-db-view",
    "org-external-auth-read",
    "org-external-auth-write",
    "org-integrations-read",
    "org-integrations-write",
    "org-notification-write",
    "org-read",
    "org-role-delete",
    "org-role-read",
    "org-role-write",
    "org-stream-manage",
    "org-token-read",
    "org-token-write",
    "org-user-read",
    "org-user-write",
    "org-write",
]
"""One Astra permission, e.g. ``db-cql`` or ``org-db-view``."""

ALL: Final[frozenset[str]] = frozenset(get_args(Permission))
"""Every permission an AstraRole may grant."""
