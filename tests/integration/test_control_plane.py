"""The test control plane is real Kubernetes: schemas, CEL, status, finalizers, watches, RBAC."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import watch

from tests.conftest import Kubectl, ServiceAccountKubeconfig

pytestmark = pytest.mark.integration

GROUP, VERSION, PLURAL = "probe.astra.operator.dev", "v1", "widgets"

CRD = f"""
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {PLURAL}.{GROUP}
spec:
  group: {GROUP}
  scope: Namespaced
  names: {{plural: {PLURAL}, singular: widget, kind: Widget}}
  versions:
  - name: {VERSION}
    served: true
    storage: true
    subresources: {{status: {{}}}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {{type: integer, minimum: 1}}
              tier: {{type: string, enum: [small, large]}}
            x-kubernetes-validations:
            - rule: "self.tier != 'small' || self.size <= 3"
              message: "a small widget has at most 3 units"
          status:
            type: object
            properties:
              phase: {{type: string}}
"""


@pytest.fixture(scope="module")
def widget_crd(kubectl: Kubectl) -> Iterator[None]:
    kubectl("apply", "-f", "-", input=CRD)
    kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{PLURAL}.{GROUP}")
    return


def _widget(name: str, size: int, tier: str = "large") -> str:
    return json.dumps(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Widget",
            "metadata": {"name": name},
            "spec": {"size": size, "tier": tier},
        }
    )


def test_server_reports_the_stamped_version(kubectl: Kubectl) -> None:
    info = json.loads(kubectl("version", "-o", "json").stdout)
    assert info["serverVersion"]["gitVersion"].startswith("v1.")
    assert "master" not in info["serverVersion"]["gitVersion"]


@pytest.mark.usefixtures("widget_crd")
def test_cel_rule_rejects_invalid_object_with_its_message(kubectl: Kubectl, namespace: str) -> None:
    bad = kubectl("apply", "-n", namespace, "-f", "-", input=_widget("w", 5, "small"), check=False)
    assert bad.returncode != 0
    assert "a small widget has at most 3 units" in bad.stderr
    schema = kubectl("apply", "-n", namespace, "-f", "-", input=_widget("w", 0), check=False)
    assert schema.returncode != 0
    assert "spec.size" in schema.stderr
    kubectl("apply", "-n", namespace, "-f", "-", input=_widget("w", 2, "small"))


@pytest.mark.usefixtures("widget_crd")
def test_status_subresource_ignores_status_in_a_spec_update(
    kube_api: k8s.ApiClient, namespace: str
) -> None:
    api = k8s.CustomObjectsApi(kube_api)
    body = json.loads(_widget("s", 1))
    body["status"] = {"phase": "Set-By-Create"}
    api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    api.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "s", {"spec": {"size": 2}, "status": {"phase": "Sneaky"}}
    )
    obj = api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "s")
    assert obj["spec"]["size"] == 2
    assert "status" not in obj or obj["status"].get("phase") != "Sneaky"
    api.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, "s", {"status": {"phase": "Real"}}
    )
    obj = api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "s")
    assert obj["status"]["phase"] == "Real"


@pytest.mark.usefixtures("widget_crd")
def test_finalizer_keeps_object_until_removed(kube_api: k8s.ApiClient, namespace: str) -> None:
    api = k8s.CustomObjectsApi(kube_api)
    body = json.loads(_widget("f", 1))
    body["metadata"]["finalizers"] = ["astra.operator.dev/test"]
    api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    api.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "f")
    obj = api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "f")
    assert obj["metadata"]["deletionTimestamp"]
    api.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "f", {"metadata": {"finalizers": None}}
    )
    with pytest.raises(k8s.ApiException) as gone:
        api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "f")
    assert gone.value.status == 404


@pytest.mark.usefixtures("widget_crd")
def test_watch_sees_added_modified_deleted(kube_api: k8s.ApiClient, namespace: str) -> None:
    api = k8s.CustomObjectsApi(kube_api)
    events: list[tuple[str, str]] = []
    listed = api.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    since = listed["metadata"]["resourceVersion"]  # the watch replays everything after this
    w = watch.Watch()

    def consume() -> None:
        stream = w.stream(
            api.list_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            resource_version=since,
            timeout_seconds=30,
        )
        for event in stream:
            events.append((event["type"], event["object"]["metadata"]["name"]))
            if event["type"] == "DELETED":
                w.stop()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    api.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, json.loads(_widget("x", 1))
    )
    api.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "x", {"spec": {"size": 2}}
    )
    api.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "x")
    thread.join(30)
    assert [t for t, n in events if n == "x"] == ["ADDED", "MODIFIED", "DELETED"]


def test_service_account_token_is_confined_by_rbac(
    kubectl: Kubectl, namespace: str, service_account_kubeconfig: ServiceAccountKubeconfig
) -> None:
    kubectl(
        "create",
        "role",
        "read-configmaps",
        "-n",
        namespace,
        "--verb=get,list",
        "--resource=configmaps",
    )
    kubectl(
        "create",
        "rolebinding",
        "narrow",
        "-n",
        namespace,
        "--role=read-configmaps",
        f"--serviceaccount={namespace}:narrow",
    )
    cfg: Path = service_account_kubeconfig(namespace, "narrow")
    whoami = kubectl("auth", "whoami", "-o", "json", kubeconfig_path=cfg)
    assert json.loads(whoami.stdout)["status"]["userInfo"]["username"] == (
        f"system:serviceaccount:{namespace}:narrow"
    )
    kubectl("get", "configmaps", "-n", namespace, kubeconfig_path=cfg)
    denied = kubectl("get", "secrets", "-n", namespace, kubeconfig_path=cfg, check=False)
    assert denied.returncode != 0
    assert "Forbidden" in denied.stderr
    assert 'cannot list resource "secrets"' in denied.stderr
    other = kubectl("get", "configmaps", "-n", "default", kubeconfig_path=cfg, check=False)
    assert "Forbidden" in other.stderr
