"""Least privilege: what the chart's ServiceAccount may and may not do, asked of a real
apiserver (SelfSubjectAccessReview through ``kubectl auth can-i``) and shown by refused requests.

The allowed side is what the operator needs (test_chart_install.py proves it is enough); the
refused side is a sample of what it must never get: other kinds, verbs it has no use for,
listing Secrets, RBAC escalation, anything outside the watched namespaces, and the default token
Secret when no watched namespace may use it. Every kind (AstraDatabase, AstraRole, AstraToken)
gets the same rules; for AstraRole the writes are also made for real with the ServiceAccount's
token. Leader election: its one Lease in the release namespace (get, create, update), and the
lease loop run for real with the ServiceAccount's token.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as k8s

from astra_operator.handlers.operator import FINALIZER
from astra_operator.kube import api as kube_api_module
from astra_operator.kube import leader
from astra_operator.resources.common import GROUP, VERSION
from tests.conftest import Kubectl, ServiceAccountKubeconfig
from tests.e2e.conftest import Release, can_i
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

ADB = "astradatabases.astra.operator.dev"
ARO = "astraroles.astra.operator.dev"
ATO = "astratokens.astra.operator.dev"
KINDS = (ADB, ARO, ATO)
CRDS = "customresourcedefinitions.apiextensions.k8s.io"
# (verb, resource, where): resource is "kind", "kind/name" or "kind:subresource"; where is "app"
# (the watched namespace), "release" (the chart's own), "other" (neither), "all" (every
# namespace at once) or "cluster" (cluster-scoped).
Check = tuple[str, str, str]

NEEDED: list[Check] = [
    *[(verb, kind, "app") for kind in KINDS for verb in ("get", "list", "watch", "patch")],
    *[("patch", f"{kind}:status", "app") for kind in KINDS],
    *[("update", f"{kind}:finalizers", "app") for kind in KINDS],
    ("create", "events", "app"),
    *[(verb, "secrets", "app") for verb in ("get", "create", "update")],
    ("list", CRDS, "cluster"),
    ("watch", CRDS, "cluster"),
]
NEVER: list[Check] = [
    *[
        (verb, kind, "app")
        for kind in KINDS
        for verb in ("create", "update", "delete", "deletecollection")
    ],
    *[("update", f"{kind}:status", "app") for kind in KINDS],
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
    [
        *NEEDED,
        *[("list", kind, "all") for kind in KINDS],
        ("get", "secrets", "other"),
        ("get", "secrets/astra-credentials", "release"),
    ],
    [*NEVER, ("list", "namespaces", "cluster")],
)
# Watching one namespace: kopf follows namespaces; nothing outside the watched one.
WATCHED_NEVER: list[Check] = [
    *NEVER,
    *[("list", kind, "all") for kind in KINDS],
    *[("get", kind, where) for kind in KINDS for where in ("release", "other")],
    ("patch", f"{ARO}:status", "release"),
    ("get", "secrets", "other"),
    ("create", "secrets", "other"),
    ("get", "secrets/other-secret", "release"),
    ("create", "secrets", "release"),
    ("create", "events", "other"),
]
WATCHED_NEEDED: list[Check] = [
    *NEEDED,
    ("list", "namespaces", "cluster"),
    ("watch", "namespaces", "cluster"),
]
# ... with defaultCredentialsNamespaces naming it: and the default token Secret, by name.
WATCHED = ([*WATCHED_NEEDED, ("get", "secrets/astra-credentials", "release")], WATCHED_NEVER)
# ... without: no watched namespace may use the default token, so it is never read.
WATCHED_OWN_TOKENS = (
    WATCHED_NEEDED,
    [*WATCHED_NEVER, ("get", "secrets/astra-credentials", "release")],
)


LEASES = "leases.coordination.k8s.io"


def lease_checks(lease: str) -> tuple[list[Check], list[Check]]:
    """Leader election: the one Lease the replicas share, in the release namespace (named in
    ASTRA_LEADER_LEASE_NAME), and nothing more of leases."""
    needed: list[Check] = [
        ("create", LEASES, "release"),
        ("get", f"{LEASES}/{lease}", "release"),
        ("update", f"{LEASES}/{lease}", "release"),
    ]
    never: list[Check] = [
        *[(verb, LEASES, "release") for verb in ("list", "watch", "delete")],
        ("patch", f"{LEASES}/{lease}", "release"),
        ("delete", f"{LEASES}/{lease}", "release"),
        ("get", f"{LEASES}/another-lease", "release"),
        ("update", f"{LEASES}/another-lease", "release"),
        ("create", LEASES, "app"),
        ("get", f"{LEASES}/{lease}", "app"),
    ]
    return needed, never


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


@pytest.mark.parametrize(
    "scope", ["all-namespaces", "watch-namespaces", "watch-namespaces-own-tokens"]
)
def test_service_account_has_what_it_needs_and_nothing_else(
    scope: str,
    install: Callable[..., Release],
    kubectl: Kubectl,
    namespace: str,
    app_namespace: str,
    service_account_kubeconfig: ServiceAccountKubeconfig,
) -> None:
    watch = ["--set", f"watchNamespaces={{{app_namespace}}}"]
    served = ["--set", f"defaultCredentialsNamespaces={{{app_namespace}}}"]
    values, (allowed, refused) = {
        "all-namespaces": ([], ALL_NAMESPACES),
        "watch-namespaces": ([*watch, *served], WATCHED),
        "watch-namespaces-own-tokens": (watch, WATCHED_OWN_TOKENS),
    }[scope]
    release = install(*values)
    kubeconfig = service_account_kubeconfig(release.namespace, release.service_account)
    namespaces = {"app": app_namespace, "release": namespace, "other": "default"}
    [lease] = [
        e["value"] for e in release.container["env"] if e["name"] == "ASTRA_LEADER_LEASE_NAME"
    ]
    needed, never = lease_checks(lease)
    allowed, refused = [*allowed, *needed], [*refused, *never]

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


def role_body(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "astra.operator.dev/v1alpha1",
        "kind": "AstraRole",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"permissions": ["db-cql"], "resources": [{"databaseID": "*"}]},
    }


def answer(call: Callable[[], object]) -> int:
    """The HTTP status of a client call (200 when it succeeded)."""
    try:
        call()
    except k8s.ApiException as exc:
        return int(exc.status)
    return 200


async def test_astrarole_writes_the_operator_makes_succeed_and_others_are_forbidden(
    install: Callable[..., Release],
    kubectl: Kubectl,
    kube_api: k8s.ApiClient,
    namespace: str,
    app_namespace: str,
    service_account_kubeconfig: ServiceAccountKubeconfig,
) -> None:
    # The writes the operator makes on an AstraRole, made with the chart's ServiceAccount token
    # by the operator's own client (kube.api.Kube, as the engine writes status) and by kopf's
    # kind of request (a merge patch of metadata: finalizer, annotations); then what it may not.
    release = install("--set", f"watchNamespaces={{{app_namespace}}}")
    kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{ARO}")
    kubeconfig = service_account_kubeconfig(release.namespace, release.service_account)
    wait_for(
        "the chart's RBAC to take effect",
        lambda: can_i(
            kubectl, kubeconfig, "patch", ARO, "--subresource=status", "-n", app_namespace
        ),
    )
    admin = k8s.CustomObjectsApi(kube_api)
    where = (GROUP, VERSION)
    for ns, name in ((app_namespace, "readers"), (namespace, "unwatched")):  # release: unwatched
        admin.create_namespaced_custom_object(*where, ns, "astraroles", role_body(ns, name))

    api = kube_api_module.load_api_client(str(kubeconfig))
    kube = kube_api_module.Kube(api)
    custom = k8s.CustomObjectsApi(api)
    try:
        readers = kube_api_module.ObjectRef("astraroles", app_namespace, "readers")
        await kube.patch_status(readers, {"roleName": "written-by-the-operator"})
        assert (await kube.get(readers))["status"]["roleName"] == "written-by-the-operator"
        meta = {"finalizers": [FINALIZER], "annotations": {"astra.operator.dev/probe": "1"}}
        custom.patch_namespaced_custom_object(
            *where, app_namespace, "astraroles", "readers", {"metadata": meta}
        )
        custom.patch_namespaced_custom_object(
            *where, app_namespace, "astraroles", "readers", {"metadata": {"finalizers": None}}
        )
        listed = custom.list_namespaced_custom_object(*where, app_namespace, "astraroles")
        assert [i["metadata"]["name"] for i in listed["items"]] == ["readers"]

        unwatched = kube_api_module.ObjectRef("astraroles", namespace, "unwatched")
        stored = await kube.get(readers)
        refused = {
            "create": lambda: custom.create_namespaced_custom_object(
                *where, app_namespace, "astraroles", role_body(app_namespace, "by-the-operator")
            ),
            "delete": lambda: custom.delete_namespaced_custom_object(
                *where, app_namespace, "astraroles", "readers"
            ),
            "update": lambda: custom.replace_namespaced_custom_object(
                *where, app_namespace, "astraroles", "readers", stored
            ),
            "update status": lambda: custom.replace_namespaced_custom_object_status(
                *where, app_namespace, "astraroles", "readers", stored
            ),
            "patch status, unwatched namespace": lambda: (
                custom.patch_namespaced_custom_object_status(
                    *where, namespace, "astraroles", "unwatched", {"status": {"roleName": "x"}}
                )
            ),
            "get, unwatched namespace": lambda: custom.get_namespaced_custom_object(
                *where, unwatched.namespace, "astraroles", unwatched.name
            ),
        }
        answers = {what: answer(call) for what, call in refused.items()}
        assert answers == dict.fromkeys(refused, 403), "not refused with 403 Forbidden"
    finally:
        kube.close()
        api.close()
    kept = admin.get_namespaced_custom_object(*where, app_namespace, "astraroles", "readers")
    assert kept["metadata"].get("finalizers") in (None, [])
    assert kept["metadata"]["annotations"]["astra.operator.dev/probe"] == "1"


async def test_the_lease_loop_runs_with_the_service_accounts_token(
    install: Callable[..., Release],
    kubectl: Kubectl,
    kube_api: k8s.ApiClient,
    service_account_kubeconfig: ServiceAccountKubeconfig,
) -> None:
    # What `run` does with the Lease (create it, renew it, release it), as the chart's
    # ServiceAccount; any other Lease is refused with a message that says what is missing.
    release = install()
    kubeconfig = service_account_kubeconfig(release.namespace, release.service_account)
    [lease] = [
        e["value"] for e in release.container["env"] if e["name"] == "ASTRA_LEADER_LEASE_NAME"
    ]
    wait_for(
        "the chart's RBAC to take effect",
        lambda: can_i(kubectl, kubeconfig, "create", LEASES, "-n", release.namespace),
    )
    lost: list[str] = []

    def elector(name: str) -> leader.Elector:
        return leader.Elector(
            kube_api_module.load_api_client(str(kubeconfig)),
            namespace=release.namespace,
            name=name,
            identity=leader.new_identity("chart"),
            on_lost=lost.append,
            timing=leader.Timing(lease_seconds=3, renew_deadline=2.0, retry_period=0.5),
        )

    mine, other = elector(lease), elector("another-lease")
    try:
        await asyncio.wait_for(mine.acquire(), 10)
        await asyncio.sleep(2.0)  # renewed a few times (update)
        assert mine.holding
        leases = k8s.CoordinationV1Api(kube_api)
        assert leases.read_namespaced_lease(lease, release.namespace).spec.holder_identity == (
            mine.identity
        )
        await mine.release()
        assert not leases.read_namespaced_lease(lease, release.namespace).spec.holder_identity
        with pytest.raises(leader.LeaseRefused, match="needs get, create and update on leases"):
            await asyncio.wait_for(other.acquire(), 10)
    finally:
        mine.close()
        other.close()
    assert lost == []
