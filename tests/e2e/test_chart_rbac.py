"""Least privilege: what the chart's ServiceAccount may and may not do, asked of a real
apiserver (SelfSubjectAccessReview through ``kubectl auth can-i``) and shown by refused requests.

The allowed side is what the operator needs (test_chart_install.py proves it is enough); the
refused side is a sample of what it must never get: other kinds, verbs it has no use for,
listing Secrets, RBAC escalation, and anything outside the watched namespaces.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from tests.conftest import Kubectl, ServiceAccountKubeconfig
from tests.e2e.conftest import Release, can_i
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

ADB = "astradatabases.astra.operator.dev"
CRDS = "customresourcedefinitions.apiextensions.k8s.io"
# (verb, resource, where): resource is "kind", "kind/name" or "kind:subresource"; where is "app"
# (the watched namespace), "release" (the chart's own), "other" (neither), "all" (every
# namespace at once) or "cluster" (cluster-scoped).
Check = tuple[str, str, str]

NEEDED: list[Check] = [
    *[(verb, ADB, "app") for verb in ("get", "list", "watch", "patch")],
    ("patch", f"{ADB}:status", "app"),
    ("update", f"{ADB}:finalizers", "app"),
    ("create", "events", "app"),
    *[(verb, "secrets", "app") for verb in ("get", "create", "update")],
    ("list", CRDS, "cluster"),
    ("watch", CRDS, "cluster"),
    ("get", "secrets/astra-credentials", "release"),
]
NEVER: list[Check] = [
    *[(verb, ADB, "app") for verb in ("create", "update", "delete", "deletecollection")],
    ("update", f"{ADB}:status", "app"),
    *[(verb, "secrets", "app") for verb in ("list", "watch", "patch", "delete")],
    ("list", "secrets", "all"),
    ("list", "pods", "app"),
    ("create", "pods", "app"),
    ("get", "configmaps", "app"),
    ("get", "serviceaccounts", "release"),
    ("create", "serviceaccounts:token", "release"),
    ("create", "events.events.k8s.io", "app"),
    ("patch", "events", "app"),
    ("create", CRDS, "cluster"),
    ("patch", CRDS, "cluster"),
    ("get", "clusterroles.rbac.authorization.k8s.io", "cluster"),
    ("create", "rolebindings.rbac.authorization.k8s.io", "app"),
    ("impersonate", "serviceaccounts", "release"),
    ("list", "nodes", "cluster"),
]
# Watching all namespaces, kopf never lists namespaces; the rules cover every namespace.
ALL_NAMESPACES = (
    [*NEEDED, ("list", ADB, "all"), ("get", "secrets", "other")],
    [*NEVER, ("list", "namespaces", "cluster")],
)
# Watching one namespace: kopf follows namespaces; nothing outside the watched one but the
# default token Secret, by name.
WATCHED = (
    [*NEEDED, ("list", "namespaces", "cluster"), ("watch", "namespaces", "cluster")],
    [
        *NEVER,
        ("list", ADB, "all"),
        ("get", ADB, "release"),
        ("get", ADB, "other"),
        ("get", "secrets", "other"),
        ("create", "secrets", "other"),
        ("get", "secrets/other-secret", "release"),
        ("create", "secrets", "release"),
        ("create", "events", "other"),
    ],
)


def can_i_args(check: Check, namespaces: dict[str, str]) -> list[str]:
    """``kubectl auth can-i`` arguments for one check."""
    verb, resource, where = check
    resource, _, subresource = resource.partition(":")
    args = [verb, resource, *([f"--subresource={subresource}"] if subresource else [])]
    if where == "all":
        return [*args, "--all-namespaces"]
    if where == "cluster":
        return args
    return [*args, "-n", namespaces[where]]


@pytest.mark.parametrize("scope", ["all-namespaces", "watch-namespaces"])
def test_service_account_has_what_it_needs_and_nothing_else(
    scope: str,
    install: Callable[..., Release],
    kubectl: Kubectl,
    namespace: str,
    app_namespace: str,
    service_account_kubeconfig: ServiceAccountKubeconfig,
) -> None:
    watched = scope == "watch-namespaces"
    release = install(*(["--set", f"watchNamespaces={{{app_namespace}}}"] if watched else []))
    kubeconfig = service_account_kubeconfig(release.namespace, release.service_account)
    namespaces = {"app": app_namespace, "release": namespace, "other": "default"}
    allowed, refused = WATCHED if watched else ALL_NAMESPACES

    def ask(check: Check) -> bool:
        return can_i(kubectl, kubeconfig, *can_i_args(check, namespaces))

    # A new binding reaches the authorizer a moment after it is created: wait for the first.
    wait_for("the chart's RBAC to take effect", lambda: ask(allowed[0]))
    assert [c for c in allowed if not ask(c)] == [], "needed but not granted"
    assert [c for c in refused if ask(c)] == [], "granted but never needed"


def test_refused_requests_are_forbidden(
    install: Callable[..., Release],
    kubectl: Kubectl,
    app_namespace: str,
    service_account_kubeconfig: ServiceAccountKubeconfig,
) -> None:
    release = install("--set", f"watchNamespaces={{{app_namespace}}}")
    kubeconfig = service_account_kubeconfig(release.namespace, release.service_account)
    for args in (
        ["get", "pods", "-n", app_namespace],
        ["get", "configmaps", "-n", app_namespace],
        ["get", "secrets", "-n", app_namespace],  # list: it reads Secrets only by name
        ["get", "astradatabases", "-n", "default"],  # not a watched namespace
        ["create", "namespace", f"x-{uuid.uuid4().hex[:8]}"],
    ):
        result = kubectl(*args, kubeconfig_path=kubeconfig, check=False)
        assert result.returncode != 0, args
        assert "Forbidden" in result.stderr, result.stderr
