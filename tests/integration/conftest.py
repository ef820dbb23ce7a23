"""Fixtures that run the operator as users do: ``astra-operator run`` and ``simulate`` processes.

Each test gets a fresh namespace, an operator process watching only that namespace (so tests
cannot disturb each other) and a reset simulator. Every operator log is checked, at the end of
every test, for the Astra token: it must never appear.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client as k8s

from astra_operator.resources import database as db
from tests.conftest import Cluster

FAST_ENV = {
    "ASTRA_POLL_INTERVAL": "2",
    "ASTRA_BUSY_REQUEUE": "0.3",
    "ASTRA_CREATE_RETRY_GRACE": "1",
}


class Sim:
    """A running ``astra-operator simulate`` process and its admin API."""

    def __init__(self, url: str, admin_token: str, proc: subprocess.Popen[bytes]) -> None:
        self.url, self.admin_token, self.proc = url, admin_token, proc
        self.http = httpx.Client(base_url=url, timeout=30)

    def admin(self, method: str, path: str, body: object = None) -> Any:
        response = self.http.request(method, path, json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    def api(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.admin_token}"}
        return self.http.request(method, path, headers=headers, **kw)

    def databases(self, name: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.admin("GET", "/_sim/state")["databases"]
        return [d for d in found if name is None or d["info"]["name"] == name]

    def count(self, key: str) -> int:
        counts: dict[str, int] = self.admin("GET", "/_sim/requests")["counts"]
        return counts.get(key, 0)

    def token(self, *roles: str) -> str:
        minted: str = self.admin("POST", "/_sim/tokens", {"roles": list(roles)})["token"]
        return minted


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    ready = tmp_path_factory.mktemp("sim") / "ready.json"
    log = ready.with_name("simulator.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "astra_operator.cli",
            "simulate",
            "--port",
            "0",
            "--timing",
            "fast",
            "--ready-file",
            str(ready),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while not ready.exists() or not ready.read_text().strip():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the simulator did not start")
        time.sleep(0.1)
    info = json.loads(ready.read_text())
    sim = Sim(info["url"], info["adminToken"], proc)
    yield sim
    sim.http.close()
    proc.send_signal(signal.SIGINT)
    proc.wait(15)
    log.close()


@pytest.fixture
def sim(simulator: Sim) -> Sim:
    """The simulator, reset: no databases, faults or counts from earlier tests."""
    simulator.admin("POST", "/_sim/reset")
    simulator.admin("POST", "/_sim/timing", {"timing": "fast"})
    return simulator


class Operator:
    """One ``astra-operator run`` process watching one namespace."""

    def __init__(
        self,
        kubeconfig: Path,
        namespace: str,
        sim: Sim,
        log: Path,
        extra_env: dict[str, str],
        args: tuple[str, ...] = (),
    ) -> None:
        self.kubeconfig, self.namespace, self.sim, self.log = kubeconfig, namespace, sim, log
        self.extra_env, self.args = extra_env, args
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "ASTRA_API_URL": self.sim.url,
            "ASTRA_OPERATOR_NAMESPACE": self.namespace,
            **FAST_ENV,
            **self.extra_env,
        }
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "astra_operator.cli",
                    "run",
                    "-n",
                    self.namespace,
                    "--verbose",
                    *self.args,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None


@pytest.fixture
def issued_secrets() -> set[str]:
    """Token values and client secrets a test saw in the Secrets the operator wrote (the
    ``tokens`` fixture adds every one it reads): none may appear anywhere else."""
    return set()


def leaks(api: k8s.ApiClient, namespace: str, values: set[str]) -> list[str]:
    """Where in the namespace's events, and the custom objects' metadata (annotations, kopf's
    included) and status, any of ``values`` (or a token's secret part) appears."""
    pieces = {v for v in values if v} | {
        v.rsplit(":", 1)[1] for v in values if v.startswith("AstraCS:")
    }
    custom = k8s.CustomObjectsApi(api)
    found = []
    for event in k8s.CoreV1Api(api).list_namespaced_event(namespace).items:
        text = f"{event.reason} {event.message} {event.metadata.annotations}"
        found += [f"event {event.reason}" for p in pieces if p in text]
    for plural in ("astratokens", "astraroles", "astradatabases"):
        listed = custom.list_namespaced_custom_object(db.GROUP, db.VERSION, namespace, plural)
        for obj in listed["items"]:
            text = json.dumps([obj["metadata"], obj.get("status")])
            found += [f"{plural}/{obj['metadata']['name']}" for p in pieces if p in text]
    return found


@pytest.fixture
def make_operator(
    cluster: Cluster,
    sim: Sim,
    namespace: str,
    kube_api: k8s.ApiClient,
    crds_installed: list[str],
    tmp_path: Path,
    issued_secrets: set[str],
) -> Iterator[Callable[..., Operator]]:
    """Factory: an operator for this test's namespace, with the admin token as its default
    credentials Secret. Afterwards, no log line may contain any simulator token, and no token
    or client secret the operator issued may appear in its log, an event, a status or an
    annotation."""
    token = sim.admin_token
    put_secret(kube_api, namespace, "astra-credentials", {"token": token})
    started: list[Operator] = []

    def make(
        start: bool = True,
        kubeconfig: Path | None = None,
        log_name: str = "operator.log",
        args: tuple[str, ...] = (),
        **extra_env: str,
    ) -> Operator:
        """``kubeconfig``: how the operator reaches the cluster (default: the cluster's own);
        ``log_name``: its log file in the test's tmp_path (shared unless given); ``args``:
        more arguments of ``run``."""
        path = kubeconfig or cluster.kubeconfig
        op = Operator(path, namespace, sim, tmp_path / log_name, extra_env, args)
        if start:
            op.start()
        started.append(op)
        return op

    yield make
    for op in started:
        op.stop()
    logs = sorted({op.log for op in started if op.log.exists()})
    text = "".join(log.read_text(errors="replace") for log in logs)
    assert token not in text, "the Astra token appeared in the operator's log"
    assert "AstraCS:" not in text, "an Astra token appeared in the operator's log"
    for value in issued_secrets:
        secret_part = value.rsplit(":", 1)[-1]
        assert value not in text, "an issued token or client secret appeared in the log"
        assert secret_part not in text, "an issued token's secret appeared in the log"
    if issued_secrets:
        assert leaks(kube_api, namespace, issued_secrets) == []


def put_secret(api: k8s.ApiClient, namespace: str, name: str, data: dict[str, str]) -> None:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    body = k8s.V1Secret(metadata=k8s.V1ObjectMeta(name=name), data=encoded)
    core = k8s.CoreV1Api(api)
    try:
        core.create_namespaced_secret(namespace, body)
    except k8s.ApiException as exc:
        if exc.status != 409:
            raise
        core.replace_namespaced_secret(name, namespace, body)


def wait_for(
    what: str, check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.2
) -> Any:
    """Poll until ``check()`` is truthy; fail with ``what`` and the last value otherwise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; last saw {last!r}")


class Databases:
    """AstraDatabase objects of one namespace (subclasses: other kinds)."""

    kind, plural = db.KIND, db.PLURAL

    def __init__(self, api: k8s.ApiClient, namespace: str) -> None:
        self.custom = k8s.CustomObjectsApi(api)
        self.core = k8s.CoreV1Api(api)
        self.namespace = namespace

    def apply(
        self, name: str, spec: dict[str, Any], annotations: dict[str, str] | None = None
    ) -> None:
        body = {
            "apiVersion": db.API_VERSION,
            "kind": self.kind,
            "metadata": {"name": name, "annotations": annotations or {}},
            "spec": spec,
        }
        self.custom.create_namespaced_custom_object(
            db.GROUP, db.VERSION, self.namespace, self.plural, body
        )

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            obj: dict[str, Any] = self.custom.get_namespaced_custom_object(
                db.GROUP, db.VERSION, self.namespace, self.plural, name
            )
        except k8s.ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return obj

    def patch(self, name: str, patch: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(
            db.GROUP, db.VERSION, self.namespace, self.plural, name, patch
        )

    def delete(self, name: str) -> None:
        self.custom.delete_namespaced_custom_object(
            db.GROUP, db.VERSION, self.namespace, self.plural, name
        )

    def condition(self, name: str, type_: str) -> dict[str, Any]:
        obj = self.get(name) or {}
        for cond in obj.get("status", {}).get("conditions", []):
            if cond["type"] == type_:
                return dict(cond)
        return {}

    def wait_condition(
        self, name: str, type_: str, status: str, reason: str | None = None, timeout: float = 30.0
    ) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            cond = self.condition(name, type_)
            ok = cond.get("status") == status and (reason is None or cond.get("reason") == reason)
            return cond if ok else None

        try:
            return dict(wait_for(f"{name} {type_}={status} {reason or ''}", check, timeout))
        except pytest.fail.Exception as exc:
            obj = self.get(name) or {}
            raise AssertionError(f"{exc}\nstatus of {name}: {obj.get('status')}") from None

    def wait_event(self, name: str, type_: str, reason: str, timeout: float = 10.0) -> None:
        """An Event is posted right after the status write a condition wait sees: wait for it."""
        wait_for(
            f"a {type_} {reason} event on {name}",
            lambda: (type_, reason) in [(t, r) for t, r, _ in self.events(name)],
            timeout,
        )

    def events(self, name: str) -> list[tuple[str, str, str]]:
        items = self.core.list_namespaced_event(
            self.namespace, field_selector=f"involvedObject.name={name}"
        ).items
        return [(e.type, e.reason, e.message or "") for e in items]


@pytest.fixture
def databases(kube_api: k8s.ApiClient, namespace: str) -> Databases:
    return Databases(kube_api, namespace)


class Roles(Databases):
    """AstraRole objects of one namespace."""

    kind, plural = "AstraRole", "astraroles"


@pytest.fixture
def roles(kube_api: k8s.ApiClient, namespace: str) -> Roles:
    return Roles(kube_api, namespace)


class Tokens(Databases):
    """AstraToken objects of one namespace, and the Secrets they write."""

    kind, plural = "AstraToken", "astratokens"

    def __init__(self, api: k8s.ApiClient, namespace: str, seen: set[str]) -> None:
        super().__init__(api, namespace)
        self.seen = seen

    def secret(self, name: str) -> dict[str, str] | None:
        """The decoded data of Secret ``name`` (None if absent); its values are remembered
        as ones that must never appear outside a Secret."""
        try:
            found = self.core.read_namespaced_secret(name, self.namespace)
        except k8s.ApiException as exc:
            if exc.status == 404:
                return None
            raise
        data = {k: base64.b64decode(v).decode() for k, v in (found.data or {}).items()}
        self.seen.update(v for k, v in data.items() if k in ("token", "clientSecret"))
        return data

    def secret_object(self, name: str) -> k8s.V1Secret:
        return self.core.read_namespaced_secret(name, self.namespace)


@pytest.fixture
def tokens(kube_api: k8s.ApiClient, namespace: str, issued_secrets: set[str]) -> Tokens:
    return Tokens(kube_api, namespace, issued_secrets)
