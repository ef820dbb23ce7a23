"""Kubernetes chores of ``astra-operator dev``: CRDs, a namespace, the token Secret, examples."""

from __future__ import annotations

import base64
import copy
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from astra_operator.resources import database as db
from astra_operator.resources import role as rl
from astra_operator.resources import token as tk

KINDS = {
    db.KIND: (db.PLURAL, db.SHORT_NAME),
    rl.KIND: (rl.PLURAL, rl.SHORT_NAME),
    tk.KIND: (tk.PLURAL, tk.SHORT_NAME),
}
"""The kinds ``dev`` applies from the examples: kind -> (plural, short name)."""

DATABASE_SHORT_NAME = db.SHORT_NAME
CREDENTIALS = "astra-credentials"


class DevKube:
    """Admin-side helpers against one cluster."""

    def __init__(self, kubeconfig: Path, namespace: str) -> None:
        self.namespace = namespace
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

    def prepare_namespace(self, token: str) -> None:
        """The namespace, and the token Secret the operator and the examples use."""
        namespace = self.namespace
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

    def apply(self, docs: Iterable[dict[str, Any]], created: list[str]) -> list[str]:
        """Create each object in the namespace; returns every name as ``<short name>/<name>``.
        The ones this call created are appended to ``created`` as they are made (so a caller
        knows what to clean up even when a later create fails); one that exists is left as
        it is."""
        namespace, names = self.namespace, []
        for doc in docs:
            plural, short = KINDS[doc["kind"]]
            body = copy.deepcopy(doc)
            body["metadata"]["namespace"] = namespace
            name = f"{short}/{body['metadata']['name']}"
            try:
                self.custom.create_namespaced_custom_object(
                    db.GROUP, db.VERSION, namespace, plural, body
                )
            except k8s.ApiException as exc:
                if exc.status != 409:
                    raise
            else:
                created.append(name)
            names.append(name)
        return names

    def delete(self, names: Iterable[str]) -> None:
        """Delete these objects (the operator's finalizer then acts on Astra)."""
        plurals = {short: plural for plural, short in KINDS.values()}
        for name in names:
            short, _, object_name = name.partition("/")
            try:
                self.custom.delete_namespaced_custom_object(
                    db.GROUP, db.VERSION, self.namespace, plurals[short], object_name
                )
            except k8s.ApiException as exc:
                if exc.status != 404:
                    raise

    def remaining(self, names: Iterable[str]) -> list[str]:
        """Which of these objects still exist."""
        objects = self._objects()
        return [name for name in names if name in objects]

    def astra_ids(self, names: Iterable[str]) -> dict[str, str]:
        """The Astra ID each object records in status (databaseID, roleID), by name."""
        objects = self._objects()
        found = {}
        for name in names:
            status = objects.get(name, {}).get("status", {})
            astra_id = status.get("databaseID") or status.get("roleID")
            if astra_id:
                found[name] = str(astra_id)
        return found

    def unsettled(self, names: list[str]) -> list[str]:
        """One line per object that is not settled: what its conditions say."""
        objects = self._objects()
        lines = []
        for name in names:
            obj = objects.get(name)
            if obj is None:
                lines.append(f"{name}: not found")
                continue
            if _settled(obj):
                continue
            status = obj.get("status", {})
            said = [
                f"{c['type']}={c['status']} {c['reason']}: {c.get('message', '')}".rstrip(": ")
                for c in status.get("conditions", [])
                if c["type"] in ("Ready", "Synced")
            ]
            if status.get("observedGeneration") != obj["metadata"].get("generation"):
                said.append("its latest spec is not reconciled yet")
            lines.append(f"{name}: " + ("; ".join(said) or "no status yet"))
        return lines

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
        return all(_settled(objects.get(name, {})) for name in names)


def _settled(obj: dict[str, Any]) -> bool:
    status = obj.get("status", {})
    if status.get("observedGeneration") != obj.get("metadata", {}).get("generation"):
        return False
    if not _cond(status, "Synced").startswith("True"):
        return False
    return _cond(status, "Ready") in ("True (Available)", "False (Parked)")


def read_examples(directory: Path) -> list[dict[str, Any]]:
    """Every AstraDatabase, AstraRole and AstraToken in the ``*.yaml`` files of ``directory``."""
    docs = []
    for path in sorted(directory.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") in KINDS:
                docs.append(doc)
    return docs


def deletable(doc: dict[str, Any]) -> dict[str, Any]:
    """The object with ``deletionPolicy: Delete`` (and, for a database, ``deletionProtection:
    false``): deleting it deletes what it made in Astra."""
    body = copy.deepcopy(doc)
    spec = body.setdefault("spec", {})
    spec["deletionPolicy"] = "Delete"
    if body["kind"] == db.KIND:
        spec["deletionProtection"] = False
    return body


def describe(doc: dict[str, Any]) -> str:
    """What the object makes in Astra, in a line: names, provider, regions, tier."""
    spec, meta = doc.get("spec", {}), doc["metadata"]
    astra_name = spec.get("name") or meta["name"]
    if doc["kind"] == db.KIND:
        regions = " + ".join([spec.get("region", "?"), *spec.get("additionalRegions", [])])
        tier = spec.get("tier", "serverless")
        what = [f"{spec.get('cloudProvider', '?')} {regions}", tier]
        if spec.get("dbType"):
            what.append(spec["dbType"])
        if spec.get("capacityUnits"):
            what.append(f"{spec['capacityUnits']} capacity units")
        if spec.get("parked"):
            what.append("parked")
        return f"database {astra_name!r} (AstraDatabase {meta['name']}): {', '.join(what)}"
    if doc["kind"] == tk.KIND:
        secret = spec.get("secretName") or f"{meta['name']}-token"
        roles = len(spec.get("roles", []))
        return (
            f"an application token (AstraToken {meta['name']}): {roles} roles, in Secret {secret}"
        )
    permissions = len(spec.get("permissions", []))
    return f"role {astra_name!r} (AstraRole {meta['name']}): {permissions} permissions"


def policy(doc: dict[str, Any], default: str) -> str:
    """What deleting the object does in Astra, as applied."""
    spec = doc.get("spec", {})
    chosen = spec.get("deletionPolicy") or f"{default} (the default)"
    if doc["kind"] == db.KIND and spec.get("deletionProtection"):
        return f"deletionPolicy {chosen}, deletionProtection true"
    return f"deletionPolicy {chosen}"


def _cond(status: dict[str, Any], type_: str) -> str:
    for cond in status.get("conditions", []):
        if cond["type"] == type_:
            return f"{cond['status']} ({cond['reason']})"
    return "-"
