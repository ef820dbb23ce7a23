"""Kubernetes calls the reconcilers need: read objects and Secrets, patch status, own Secrets.

The ``kubernetes`` client is synchronous; every call runs in a worker thread so the event loop
never blocks. Nothing here logs Secret contents.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from collections.abc import Mapping
from typing import Any, cast

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from astra_operator.resources import common

JsonObject = dict[str, object]


class SecretUnavailable(Exception):  # noqa: N818 (reads as a condition)
    """The referenced Secret or key cannot be read; the message says which and how to fix it."""


class SecretConflict(Exception):  # noqa: N818
    """A Secret with the wanted name exists and belongs to someone else."""


class ObjectGone(Exception):  # noqa: N818
    """The custom object no longer exists."""


@dataclasses.dataclass(frozen=True)
class ObjectRef:
    """Where one custom object lives."""

    plural: str
    namespace: str
    name: str


@dataclasses.dataclass(frozen=True)
class Owner:
    """An owner reference target (the custom object owning a Secret)."""

    kind: str
    name: str
    uid: str


def load_api_client(kubeconfig: str | None = None) -> k8s.ApiClient:
    """An ApiClient from a kubeconfig file, $KUBECONFIG/~/.kube/config, or in-cluster."""
    configuration = k8s.Configuration()
    try:
        k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, client_configuration=configuration
        )
    except k8s_config.ConfigException:
        if kubeconfig:
            raise
        k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return k8s.ApiClient(configuration)


class Kube:
    """Async facade over the synchronous kubernetes client."""

    def __init__(self, api: k8s.ApiClient) -> None:
        self._custom = k8s.CustomObjectsApi(api)
        self._core = k8s.CoreV1Api(api)

    async def get(self, ref: ObjectRef) -> JsonObject:
        """A fresh read of the custom object (sees every write that came before)."""
        return await self._custom_call(ref, self._custom.get_namespaced_custom_object)

    async def patch_status(self, ref: ObjectRef, status: Mapping[str, object]) -> JsonObject:
        """Merge-patch the status subresource; ``None`` values delete fields."""
        return await self._custom_call(
            ref, self._custom.patch_namespaced_custom_object_status, {"status": dict(status)}
        )

    async def _custom_call(self, ref: ObjectRef, call: Any, *body: object) -> JsonObject:
        """Run one custom-object call in a thread; a 404 becomes ``ObjectGone``."""
        try:
            obj = await asyncio.to_thread(
                call, common.GROUP, common.VERSION, ref.namespace, ref.plural, ref.name, *body
            )
        except k8s.ApiException as exc:
            if exc.status == 404:
                raise ObjectGone(f"{ref.plural} {ref.namespace}/{ref.name}") from None
            raise
        return cast(JsonObject, obj)

    async def read_secret_value(self, namespace: str, name: str, key: str) -> str:
        """One key of a Secret, decoded; a clear ``SecretUnavailable`` otherwise."""
        try:
            secret = await asyncio.to_thread(self._core.read_namespaced_secret, name, namespace)
        except k8s.ApiException as exc:
            if exc.status == 404:
                raise SecretUnavailable(
                    f"Secret {namespace}/{name} does not exist: create it with the key {key!r} "
                    "holding an Astra application token (AstraCS:...)."
                ) from None
            if exc.status == 403:
                raise SecretUnavailable(
                    f"The operator is not allowed to read Secret {namespace}/{name} (403): "
                    "check the RBAC the Helm chart installs."
                ) from None
            raise
        value = (secret.data or {}).get(key)
        if not value:
            raise SecretUnavailable(
                f"Secret {namespace}/{name} has no key {key!r}: add the Astra application "
                f"token under {key!r}, or point spec.credentials.secretRef.key at the right key."
            )
        return base64.b64decode(value).decode().strip()

    async def apply_owned_secret(
        self, namespace: str, name: str, owner: Owner, data: Mapping[str, str]
    ) -> bool:
        """Create or update a Secret owned by ``owner``; returns whether anything changed."""
        body = k8s.V1Secret(
            metadata=k8s.V1ObjectMeta(
                name=name,
                namespace=namespace,
                labels={"app.kubernetes.io/managed-by": "astra-operator"},
                owner_references=[
                    k8s.V1OwnerReference(
                        api_version=common.API_VERSION,
                        kind=owner.kind,
                        name=owner.name,
                        uid=owner.uid,
                        controller=True,
                        block_owner_deletion=True,
                    )
                ],
            ),
            type="Opaque",
            string_data=dict(data),
        )
        return await asyncio.to_thread(self._apply_secret, namespace, name, body, owner, data)

    def _apply_secret(
        self,
        namespace: str,
        name: str,
        body: k8s.V1Secret,
        owner: Owner,
        data: Mapping[str, str],
    ) -> bool:
        try:
            current = self._core.read_namespaced_secret(name, namespace)
        except k8s.ApiException as exc:
            if exc.status != 404:
                raise
            self._core.create_namespaced_secret(namespace, body)
            return True
        meta = current.metadata
        owners = {ref.uid for ref in ((meta.owner_references if meta else None) or [])}
        if owner.uid not in owners:
            raise SecretConflict(
                f"Secret {namespace}/{name} already exists and is not owned by this object; "
                "the operator will not overwrite it: choose another spec.connectionSecret.name."
            )
        wanted = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        if (current.data or {}) == wanted:
            return False
        self._core.replace_namespaced_secret(name, namespace, body)
        return True
