"""Kubernetes chores of ``astra-operator dev``: CRDs, a namespace, the token Secret, examples."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from astra_operator.resources import database as db
from astra_operator.resources import role as rl

KINDS = {db.KIND: (db.PLURAL, db.SHORT_NAME), rl.KIND: (rl.PLURAL, rl.SHORT_NAME)}
"""The kinds ``dev`` applies from the examples: kind -> (plural, short name)."""

CREDENTIALS = "astra-credentials"


class DevKube:
    """Admin-side helpers against one cluster."""

    def __init__(self, kubeconfig: Path) -> None:
        self.api = k8s_config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
        self.core = k8s.CoreV1Api(self.api)
        self.custom = k8s.CustomObjectsApi(self.api)

    def install_crds(self, directory: Path) -> None:
        """Create or update every CRD in ``directory`` and wait until each is Established."""
        ext = k8s.ApiextensionsV1Api(self.api)
        names = []
        for path in sorted(directory.glob("*.yaml")):
            body = yaml.safe_load(path.read_text())
            name = body["metadata"]["name"]
            try:
                current = ext.read_custom_resource_definition(name)
                meta = current.metadata
                body["metadata"]["resourceVersion"] = meta.resource_version if meta else None
                ext.replace_custom_resource_definition(name, body)
            except k8s.ApiException as exc:
                if exc.status != 404:
                    raise
                ext.create_custom_resource_definition(body)
            names.append(name)
        for name in names:
            self._wait_established(ext, name)

    @staticmethod
    def _wait_established(ext: k8s.ApiextensionsV1Api, name: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = ext.read_custom_resource_definition(name).status
            conditions = (status.conditions if status else None) or []
            if any(c.type == "Established" and c.status == "True" for c in conditions):
                return
            time.sleep(0.2)
        raise RuntimeError(f"CRD {name} did not become Established")

    def prepare_namespace(self, namespace: str, token: str) -> None:
        """The namespace, and the token Secret the operator and the examples use."""
        try:
            self.core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=namespace)))
        except k8s.ApiException as exc:
            if exc.status != 409:
                raise
        data = {"token": base64.b64encode(token.encode()).decode()}
        secret = k8s.V1Secret(metadata=k8s.V1ObjectMeta(name=CREDENTIALS), data=data)
        try:
            self.core.create_namespaced_secret(namespace, secret)
        except k8s.ApiException as exc:
            if exc.status != 409:
                raise
            self.core.replace_namespaced_secret(CREDENTIALS, namespace, secret)

    def apply_examples(self, directory: Path, namespace: str) -> list[str]:
        """Create every AstraDatabase and AstraRole found in ``directory``; returns their
        names as ``<short name>/<name>``."""
        names = []
        for path in sorted(directory.glob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text()):
                if not doc or doc.get("kind") not in KINDS:
                    continue
                plural, short = KINDS[doc["kind"]]
                doc["metadata"]["namespace"] = namespace
                try:
                    self.custom.create_namespaced_custom_object(
                        db.GROUP, db.VERSION, namespace, plural, doc
                    )
                except k8s.ApiException as exc:
                    if exc.status != 409:
                        raise
                names.append(f"{short}/{doc['metadata']['name']}")
        self.namespace = namespace
        return names

    def _objects(self) -> dict[str, dict[str, Any]]:
        found = {}
        for plural, short in KINDS.values():
            listed: dict[str, Any] = self.custom.list_namespaced_custom_object(  # type: ignore[assignment]
                db.GROUP, db.VERSION, self.namespace, plural
            )
            found.update({f"{short}/{o['metadata']['name']}": o for o in listed["items"]})
        return found

    def table(self, names: list[str]) -> list[str]:
        """One line per object: name, phase, Ready (reason), Synced (reason)."""
        objects = self._objects()
        rows = [f"{'NAME':<28} {'PHASE':<13} {'READY':<22} SYNCED"]
        for name in names:
            status = objects.get(name, {}).get("status", {})
            ready, synced = _cond(status, "Ready"), _cond(status, "Synced")
            rows.append(f"{name:<28} {status.get('phase') or '-':<13} {ready:<22} {synced}")
        return rows

    def all_settled(self, names: list[str]) -> bool:
        """Every object reconciled at its generation, Synced, and Ready (or parked as asked)."""
        objects = self._objects()
        for name in names:
            obj = objects.get(name, {})
            status = obj.get("status", {})
            if status.get("observedGeneration") != obj.get("metadata", {}).get("generation"):
                return False
            if not _cond(status, "Synced").startswith("True"):
                return False
            if _cond(status, "Ready") not in ("True (Available)", "False (Parked)"):
                return False
        return True


def _cond(status: dict[str, Any], type_: str) -> str:
    for cond in status.get("conditions", []):
        if cond["type"] == type_:
            return f"{cond['status']} ({cond['reason']})"
    return "-"
