"""Kubeconfig files for the control plane: admin (client cert) and ServiceAccount (token)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def _document(
    server: str, ca_data: str, user: str, credentials: dict[str, str], namespace: str
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "astra-test",
                "cluster": {"server": server, "certificate-authority-data": ca_data},
            }
        ],
        "users": [{"name": user, "user": credentials}],
        "contexts": [
            {
                "name": user,
                "context": {"cluster": "astra-test", "user": user, "namespace": namespace},
            }
        ],
        "current-context": user,
        "preferences": {},
    }


def write(path: Path, document: dict[str, Any]) -> Path:
    """Write a kubeconfig readable only by its owner (it holds credentials)."""
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.chmod(0o600)
    return path


def admin(path: Path, server: str, serving_ca: Path, cert: Path, key: Path) -> Path:
    """The cluster-admin kubeconfig (client certificate in group system:masters)."""
    creds = {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)}
    return write(path, _document(server, _b64(serving_ca), "admin", creds, "default"))


def api_client(kubeconfig: Path) -> k8s.ApiClient:
    """A kubernetes ApiClient for the given kubeconfig (not the process-global default)."""
    api: k8s.ApiClient = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=str(kubeconfig)
    )
    return api


def service_account(
    admin_kubeconfig: Path, namespace: str, name: str, path: Path, *, seconds: int = 3600
) -> Path:
    """Mint a bound token for ``namespace/name`` (TokenRequest) and write a kubeconfig with it.

    The ServiceAccount is created if missing. A process using the result has exactly the
    permissions RBAC grants that ServiceAccount: nothing more.
    """
    with api_client(admin_kubeconfig) as api:
        core = k8s.CoreV1Api(api)
        try:
            core.create_namespaced_service_account(
                namespace, k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name=name))
            )
        except k8s.ApiException as exc:
            if exc.status != 409:
                raise
        request = k8s.AuthenticationV1TokenRequest(
            spec=k8s.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds)
        )
        token = core.create_namespaced_service_account_token(name, namespace, request)
        server = str(api.configuration.host)
    if token.status is None or not token.status.token:
        raise RuntimeError(f"TokenRequest for {namespace}/{name} returned no token")
    bearer: str = token.status.token
    source = yaml.safe_load(admin_kubeconfig.read_text())
    ca_data = source["clusters"][0]["cluster"]["certificate-authority-data"]
    user = f"system:serviceaccount:{namespace}:{name}"
    return write(path, _document(server, ca_data, user, {"token": bearer}, namespace))
