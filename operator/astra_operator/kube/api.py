"""Kubernetes calls the reconcilers need: read objects and Secrets, patch status, own Secrets.

A custom object is read from the API server's watch cache, not from etcd, at a resourceVersion
no older than the newest this process has seen of it (its own writes' answers and the watch's
events, ``saw``): every pass sees every write that came before it, without a quorum read of
etcd per pass (``get``). Without a known version, or when the cache cannot answer, the read is
a fresh one.

The ``kubernetes`` client is synchronous; every call runs on a worker thread of a pool owned
by ``Kube`` (never the event loop's default executor), with a connect and a read timeout, so a
connection that silently died costs one call one timeout instead of holding a thread forever
and starving every other object's calls. A call that gets no answer raises
``KubeUnavailable``: transient, retry later. Nothing here logs Secret contents.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import dataclasses
import functools
import queue
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from pydantic import SecretStr

from astra_operator.resources import common

JsonObject = dict[str, object]
T = TypeVar("T")

WORKERS = 20
"""Threads for Kubernetes calls (and pooled connections): the operator's 16 concurrent
DevOps API requests, plus a few, so one object's slow call never waits behind another's."""


class SecretUnavailable(Exception):  # noqa: N818 (reads as a condition)
    """The referenced Secret or key cannot be read; the message says which and how to fix it."""


class SecretConflict(Exception):  # noqa: N818
    """A Secret with the wanted name exists and belongs to someone else."""


class ObjectGone(Exception):  # noqa: N818
    """The custom object no longer exists."""


class KubeUnavailable(Exception):  # noqa: N818
    """The Kubernetes API gave no answer in time, or the connection failed: transient.

    The message names the call and the object (never a credential)."""


@dataclasses.dataclass(frozen=True)
class ObjectRef:
    """Where one custom object lives."""

    plural: str
    namespace: str
    name: str


@dataclasses.dataclass(frozen=True)
class SecretContent:
    """A Secret as read: its data decoded (values hidden from repr and str), its metadata."""

    data: Mapping[str, SecretStr]
    annotations: Mapping[str, str]
    labels: Mapping[str, str]
    owner_uids: frozenset[str]


@dataclasses.dataclass(frozen=True)
class Owner:
    """An owner reference target (the custom object owning a Secret)."""

    kind: str
    name: str
    uid: str


def load_api_client(kubeconfig: str | None = None, *, pool_size: int = WORKERS) -> k8s.ApiClient:
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
    configuration.connection_pool_maxsize = pool_size  # one pooled connection per worker
    # urllib3 would retry a GET whose read failed on another pooled connection, as dead as the
    # first after a silent failure; read failures come back to Kube, which drops the idle ones.
    configuration.retries = urllib3.Retry(total=3, connect=2, read=False)
    return k8s.ApiClient(configuration)


class Kube:
    """Async facade over the synchronous kubernetes client."""

    def __init__(
        self,
        api: k8s.ApiClient,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        workers: int = WORKERS,
        who: str = "The operator",
        rbac_hint: str = "check the RBAC the Helm chart installs",
    ) -> None:
        self._api = api
        self._who, self._rbac_hint = who, rbac_hint
        self._newest: dict[tuple[str, str, str], int] = {}
        """The newest resourceVersion seen of each custom object (etcd's are integers)."""
        self._custom = k8s.CustomObjectsApi(api)
        self._core = k8s.CoreV1Api(api)
        self._timeout = (connect_timeout, read_timeout)
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="kube"
        )

    def close(self) -> None:
        """Stop the worker threads without waiting: a call in flight ends at its timeout."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def get(self, ref: ObjectRef, *, fresh: bool = False) -> JsonObject:
        """The custom object as of the newest version this process has seen of it, or newer
        (from the API server's cache); ``fresh``: as etcd holds it now."""
        newest = None if fresh else self._newest.get(_key(ref))
        obj: JsonObject | None = None
        if newest is not None:
            cached = functools.partial(self._cached_get, str(newest))
            try:
                obj = await self._custom_call(f"GET {_name(ref)}", ref, cached)
            except k8s.ApiException as exc:
                if exc.status not in (410, 504):  # 504: the cache did not catch up in time
                    raise
                # A version the server does not reach (etcd restored from a backup?): forget it.
                self._newest.pop(_key(ref), None)
        if obj is None:
            obj = await self._custom_call(
                f"GET {_name(ref)}", ref, self._custom.get_namespaced_custom_object
            )
        self.saw(ref, obj)
        return obj

    def known_version(self, ref: ObjectRef) -> int | None:
        """The newest resourceVersion seen of the object, if any (the next read's lower bound)."""
        return self._newest.get(_key(ref))

    def saw(self, ref: ObjectRef, obj: Mapping[str, Any]) -> None:
        """Note the object's resourceVersion if newer than any seen (a watch event, an answer)."""
        meta = obj.get("metadata")
        version = meta.get("resourceVersion") if isinstance(meta, Mapping) else None
        key = _key(ref)
        if not isinstance(version, str) or not version.isdigit():
            self._newest.pop(key, None)  # not etcd's integers: fresh reads, no comparing
            return
        self._newest[key] = max(self._newest.get(key, 0), int(version))

    def forget(self, ref: ObjectRef) -> None:
        """The object was deleted: drop what is known of it."""
        self._newest.pop(_key(ref), None)

    def _cached_get(
        self,
        version: str,
        group: str,
        api_version: str,
        namespace: str,
        plural: str,
        name: str,
        *,
        _request_timeout: tuple[float, float],
    ) -> object:
        """GET with ``resourceVersion``: "not older than" it, served from the watch cache."""
        request = self._api.param_serialize(
            method="GET",
            resource_path="/apis/{group}/{version}/namespaces/{namespace}/{plural}/{name}",
            path_params={
                "group": group,
                "version": api_version,
                "namespace": namespace,
                "plural": plural,
                "name": name,
            },
            query_params=[("resourceVersion", version)],
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        response = self._api.call_api(*request, _request_timeout=_request_timeout)
        response.read()  # type: ignore[no-untyped-call]
        return self._api.response_deserialize(response, {"200": "object"}).data

    async def patch_status(self, ref: ObjectRef, status: Mapping[str, object]) -> JsonObject:
        """Merge-patch the status subresource; ``None`` values delete fields."""
        obj = await self._custom_call(
            f"PATCH the status of {_name(ref)}",
            ref,
            self._custom.patch_namespaced_custom_object_status,
            {"status": dict(status)},
        )
        self.saw(ref, obj)
        return obj

    async def _custom_call(self, what: str, ref: ObjectRef, call: Any, *body: object) -> JsonObject:
        """Run one custom-object call on a worker; a 404 becomes ``ObjectGone``."""
        args = (common.GROUP, common.VERSION, ref.namespace, ref.plural, ref.name, *body)
        try:
            obj = await self._run(what, functools.partial(call, *args), idempotent=True)
        except k8s.ApiException as exc:
            if exc.status == 404:
                raise ObjectGone(f"{ref.plural} {ref.namespace}/{ref.name}") from None
            raise
        return cast(JsonObject, obj)

    async def read_secret_value(self, namespace: str, name: str, key: str) -> str:
        """One key of a Secret, decoded; a clear ``SecretUnavailable`` otherwise."""
        read = functools.partial(self._core.read_namespaced_secret, name, namespace)
        try:
            secret = await self._run(f"GET Secret {namespace}/{name}", read, idempotent=True)
        except k8s.ApiException as exc:
            if exc.status == 404:
                raise SecretUnavailable(
                    f"Secret {namespace}/{name} does not exist: create it with the key {key!r} "
                    "holding an Astra application token."
                ) from None
            if exc.status == 403:
                raise SecretUnavailable(
                    f"{self._who} is not allowed to read Secret {namespace}/{name} (403): "
                    f"{self._rbac_hint}."
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
        apply = functools.partial(self._apply_secret, namespace, name, body, owner, data)
        return await self._run(f"apply Secret {namespace}/{name}", apply, idempotent=False)

    async def read_secret(self, namespace: str, name: str) -> SecretContent | None:
        """A whole Secret (None when it does not exist); values as ``SecretStr``."""
        read = functools.partial(self._core.read_namespaced_secret, name, namespace)
        try:
            secret = await self._run(f"GET Secret {namespace}/{name}", read, idempotent=True)
        except k8s.ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return _content(secret)

    async def write_owned_secret(
        self,
        namespace: str,
        name: str,
        owner: Owner,
        data: Mapping[str, str],
        *,
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
    ) -> None:
        """Create or replace a Secret owned by ``owner`` with exactly this data, labels and
        annotations; ``SecretConflict`` when it exists and belongs to someone else."""
        body = k8s.V1Secret(
            metadata=k8s.V1ObjectMeta(
                name=name,
                namespace=namespace,
                labels=dict(labels),
                annotations=dict(annotations),
                owner_references=[_owner_reference(owner)],
            ),
            type="Opaque",
            string_data=dict(data),
        )
        write = functools.partial(self._write_secret, namespace, name, body, owner)
        await self._run(f"write Secret {namespace}/{name}", write, idempotent=False)

    def _write_secret(
        self,
        namespace: str,
        name: str,
        body: k8s.V1Secret,
        owner: Owner,
        *,
        _request_timeout: tuple[float, float],
    ) -> None:
        timeout = _request_timeout
        current = self._owned_or_created(namespace, name, body, owner, timeout, "")
        if current is None:
            return
        if body.metadata is not None and current.metadata is not None:
            body.metadata.resource_version = current.metadata.resource_version
        self._core.replace_namespaced_secret(name, namespace, body, _request_timeout=timeout)

    async def release_secret(self, namespace: str, name: str, owner_uid: str) -> bool:
        """Drop ``owner_uid``'s owner reference from a Secret, so that deleting the owner no
        longer deletes it; false when the Secret does not exist or was not owned by it."""
        release = functools.partial(self._release_secret, namespace, name, owner_uid)
        return await self._run(f"release Secret {namespace}/{name}", release, idempotent=False)

    def _release_secret(
        self, namespace: str, name: str, owner_uid: str, *, _request_timeout: tuple[float, float]
    ) -> bool:
        timeout = _request_timeout
        try:
            current = self._core.read_namespaced_secret(name, namespace, _request_timeout=timeout)
        except k8s.ApiException as exc:
            if exc.status == 404:
                return False
            raise
        meta = current.metadata
        refs = (meta.owner_references if meta is not None else None) or []
        kept = [ref for ref in refs if ref.uid != owner_uid]
        if meta is None or len(kept) == len(refs):
            return False
        meta.owner_references = kept
        self._core.replace_namespaced_secret(name, namespace, current, _request_timeout=timeout)
        return True

    def _apply_secret(
        self,
        namespace: str,
        name: str,
        body: k8s.V1Secret,
        owner: Owner,
        data: Mapping[str, str],
        *,
        _request_timeout: tuple[float, float],
    ) -> bool:
        timeout = _request_timeout
        advice = ": choose another spec.connectionSecret.name"
        current = self._owned_or_created(namespace, name, body, owner, timeout, advice)
        if current is None:
            return True
        wanted = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        if (current.data or {}) == wanted:
            return False
        self._core.replace_namespaced_secret(name, namespace, body, _request_timeout=timeout)
        return True

    def _owned_or_created(
        self,
        namespace: str,
        name: str,
        body: k8s.V1Secret,
        owner: Owner,
        timeout: tuple[float, float],
        advice: str,
    ) -> k8s.V1Secret | None:
        """The Secret if ``owner`` owns it; created from ``body`` (None) if it did not exist;
        ``SecretConflict`` naming its owners otherwise."""
        try:
            current = self._core.read_namespaced_secret(name, namespace, _request_timeout=timeout)
        except k8s.ApiException as exc:
            if exc.status != 404:
                raise
            self._core.create_namespaced_secret(namespace, body, _request_timeout=timeout)
            return None
        meta = current.metadata
        refs = (meta.owner_references if meta else None) or []
        if owner.uid not in {ref.uid for ref in refs}:
            holders = ", ".join(f"{ref.kind} {namespace}/{ref.name}" for ref in refs)
            raise SecretConflict(
                f"Secret {namespace}/{name} already exists and belongs to "
                f"{holders or 'no object of this operator'}; the operator will not overwrite "
                f"it{advice}."
            )
        return current

    async def _run(self, what: str, call: Callable[..., T], *, idempotent: bool) -> T:
        """``call(_request_timeout=...)`` on a worker thread; no answer -> ``KubeUnavailable``."""
        work = functools.partial(self._call, what, call, idempotent)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work)
        except RuntimeError as exc:
            if "shutdown" not in str(exc):
                raise
            raise KubeUnavailable(f"{what}: the operator is stopping") from None

    def _call(self, what: str, call: Callable[..., T], idempotent: bool) -> T:
        """On the worker: one call, retried once on a fresh connection if idempotent and the
        pooled connection was found closed (the server may close an idle one at any time)."""
        for attempt in (1, 2):
            try:
                return call(_request_timeout=self._timeout)
            except urllib3.exceptions.ProtocolError as exc:
                self._drop_idle_connections()
                if idempotent and attempt == 1:
                    continue
                raise KubeUnavailable(f"{what}: the connection failed ({_reason(exc)})") from exc
            except urllib3.exceptions.HTTPError as exc:
                self._drop_idle_connections()
                raise KubeUnavailable(f"{what}: {self._explain(exc)}") from exc
            except k8s.ApiException as exc:
                if exc.status == 0:  # no HTTP answer at all (TLS failure)
                    raise KubeUnavailable(f"{what}: {exc.reason}"[:300]) from exc
                raise
        raise AssertionError("unreachable")

    def _explain(self, exc: urllib3.exceptions.HTTPError) -> str:
        reason = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
        connect, read = self._timeout
        if isinstance(reason, urllib3.exceptions.ConnectTimeoutError):
            return f"no connection to the Kubernetes API within {connect:g} s"
        if isinstance(reason, urllib3.exceptions.TimeoutError):
            return f"no answer from the Kubernetes API within {read:g} s"
        return f"the Kubernetes API is unreachable ({_reason(exc)})"

    def _drop_idle_connections(self) -> None:
        """Close every idle pooled connection. urllib3 reuses one for as long as the peer has
        not closed it and cannot see that it silently died; when one did, those opened along
        with it usually did too, and each would cost a call a full read timeout."""
        manager = self._api.rest_client.pool_manager
        for key in manager.pools.keys():  # noqa: SIM118 (the container refuses iteration)
            idle = getattr(manager.pools.get(key), "pool", None)  # urllib3's idle LifoQueue
            if idle is None:
                continue
            for _ in range(idle.qsize()):
                try:
                    conn = idle.get_nowait()
                except queue.Empty:
                    break
                if conn is not None:
                    conn.close()
                with contextlib.suppress(queue.Full):
                    idle.put_nowait(None)


def _owner_reference(owner: Owner) -> k8s.V1OwnerReference:
    return k8s.V1OwnerReference(
        api_version=common.API_VERSION,
        kind=owner.kind,
        name=owner.name,
        uid=owner.uid,
        controller=True,
        block_owner_deletion=True,
    )


def _content(secret: k8s.V1Secret) -> SecretContent:
    meta = secret.metadata
    data = {
        key: SecretStr(base64.b64decode(value).decode(errors="replace"))
        for key, value in (secret.data or {}).items()
    }
    return SecretContent(
        data=data,
        annotations=dict((meta.annotations if meta else None) or {}),
        labels=dict((meta.labels if meta else None) or {}),
        owner_uids=frozenset(ref.uid for ref in ((meta.owner_references if meta else None) or [])),
    )


def _key(ref: ObjectRef) -> tuple[str, str, str]:
    return (ref.plural, ref.namespace, ref.name)


def _name(ref: ObjectRef) -> str:
    return f"{ref.plural} {ref.namespace}/{ref.name}"


def _reason(exc: Exception) -> str:
    reason = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
    return f"{type(reason).__name__}: {reason}"[:300]
