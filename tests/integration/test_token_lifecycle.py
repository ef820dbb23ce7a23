"""AstraToken end to end: the operator process, a real kube-apiserver, the simulator.

Every test's teardown (conftest ``make_operator``) also checks that no token or client secret
the operator issued (each one the ``tokens`` fixture read from a Secret) appears in the
operator's log, an event, a status or an annotation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from astra_operator.logic import token as logic
from tests.conftest import Kubectl
from tests.integration.conftest import Operator, Roles, Sim, Tokens, wait_for

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
VIEWER = {"permissions": ["org-db-view"], "resources": [{"organization": True}]}
CREATE_DB = {"name": "x", "cloudProvider": "GCP", "region": "us-east1", "tier": "serverless"}


def astra_tokens(sim: Sim) -> dict[str, dict[str, Any]]:
    """Live tokens of the organization, by clientId (with their descriptions)."""
    reply = sim.api("GET", "/v2/clientIdSecrets")
    reply.raise_for_status()
    return {t["clientId"]: t for t in reply.json()["clients"]}


def marked(sim: Sim, tokens: Tokens, name: str) -> set[str]:
    """clientIds of the live tokens carrying the object's marker."""
    obj = tokens.get(name)
    assert obj is not None
    meta = obj["metadata"]
    mark = logic.marker(meta["namespace"], meta["name"], meta["uid"])
    return {
        c for c, t in astra_tokens(sim).items() if (t["description"] or "").endswith(f"[{mark}]")
    }


def works(sim: Sim, value: str) -> bool:
    """Whether the token may list databases (org-db-view)."""
    status = sim.api("GET", "/v2/databases", token=value).status_code
    assert status in (200, 401), status
    return status == 200


def annotate(tokens: Tokens, name: str, value: str) -> None:
    tokens.patch(name, {"metadata": {"annotations": {"astra.operator.dev/rotate": value}}})


def current_secret(tokens: Tokens, name: str, secret: str) -> dict[str, str]:
    """The Secret, once it holds the clientId status records."""

    def check() -> dict[str, str] | None:
        data = tokens.secret(secret)
        recorded = ((tokens.get(name) or {}).get("status") or {}).get("clientId")
        return data if data and recorded and data["clientId"] == recorded else None

    found: dict[str, str] = wait_for(f"Secret {secret} to hold the recorded token", check)
    return found


def test_a_token_for_a_role_waits_for_it_then_works_for_what_it_allows(
    make_operator: Callable[..., Operator], roles: Roles, tokens: Tokens, sim: Sim
) -> None:
    make_operator(ASTRA_POLL_INTERVAL="60")  # proceeding must not depend on a poll
    tokens.apply("app", {"roles": [{"roleRef": {"name": "viewer"}}], "description": "the app"})
    waiting = tokens.wait_condition("app", "Synced", "False", "WaitingForRole")
    assert "viewer" in waiting["message"]
    time.sleep(1)
    assert marked(sim, tokens, "app") == set()
    roles.apply("viewer", VIEWER)
    roles.wait_condition("viewer", "Ready", "True", timeout=30)
    started = time.monotonic()
    tokens.wait_condition("app", "Ready", "True", "Available", timeout=15)
    assert time.monotonic() - started < 10
    status = tokens.get("app")["status"]  # type: ignore[index]
    data = current_secret(tokens, "app", "app-token")
    assert sorted(data) == ["clientId", "clientSecret", "token"]
    assert data["token"].startswith("AstraCS:")
    role_id = roles.get("viewer")["status"]["roleID"]  # type: ignore[index]
    assert status["roles"] == [role_id]
    assert status["issuedAt"]
    assert marked(sim, tokens, "app") == {status["clientId"]}
    assert astra_tokens(sim)[status["clientId"]]["roles"] == [role_id]
    secret = tokens.secret_object("app-token")
    [owner] = secret.metadata.owner_references
    assert (owner.kind, owner.name, owner.uid) == (
        "AstraToken",
        "app",
        tokens.get("app")["metadata"]["uid"],  # type: ignore[index]
    )
    assert secret.metadata.labels["app.kubernetes.io/managed-by"] == "astra-operator"
    # What the role allows works; what it does not is refused.
    assert works(sim, data["token"])
    assert sim.api("POST", "/v2/databases", token=data["token"], json=CREATE_DB).status_code == 401
    assert sim.count("POST /v2/tokens") == 1


def test_a_built_in_role_by_name(
    make_operator: Callable[..., Operator], tokens: Tokens, sim: Sim
) -> None:
    make_operator()
    tokens.apply("ro", {"roles": [{"builtinRole": "RO User"}], "secretName": "ro-credentials"})
    tokens.wait_condition("ro", "Ready", "True", timeout=30)
    data = current_secret(tokens, "ro", "ro-credentials")
    assert works(sim, data["token"])
    assert sim.api("POST", "/v2/databases", token=data["token"], json=CREATE_DB).status_code == 401
    builtin = {r["Name"]: r["ID"] for r in sim.admin("GET", "/_sim/state")["roles"]}
    assert tokens.get("ro")["status"]["roles"] == [builtin["RO User"]]  # type: ignore[index]


def test_rotation_by_annotation_keeps_the_old_token_for_the_grace_period(
    make_operator: Callable[..., Operator], roles: Roles, tokens: Tokens, sim: Sim
) -> None:
    make_operator()
    roles.apply("viewer", VIEWER)
    spec = {"roles": [{"roleRef": {"name": "viewer"}}], "rotation": {"gracePeriod": "6s"}}
    tokens.apply("app", spec)
    tokens.wait_condition("app", "Ready", "True", timeout=30)
    old = current_secret(tokens, "app", "app-token")
    annotate(tokens, "app", "2026-11-23T12:00:00Z")
    new = wait_for(
        "a new token in the Secret",
        lambda: (d := tokens.secret("app-token")) and d["clientId"] != old["clientId"] and d,
        timeout=15,
    )
    rotated_at = time.monotonic()
    assert works(sim, new["token"])
    assert works(sim, old["token"]), "the old token must work during the grace period"
    status = tokens.get("app")["status"]  # type: ignore[index]
    assert [p["clientId"] for p in status["pendingRevocations"]] == [old["clientId"]]
    wait_for("the old token to be revoked", lambda: not works(sim, old["token"]), timeout=20)
    assert time.monotonic() - rotated_at >= 4  # not before its grace period (6 s, less lag)
    assert works(sim, new["token"])
    assert marked(sim, tokens, "app") == {new["clientId"]}
    wait_for(
        "pendingRevocations emptied",
        lambda: not (tokens.get("app") or {}).get("status", {}).get("pendingRevocations"),
    )
    tokens.wait_event("app", "Normal", "Rotated")
    tokens.wait_event("app", "Normal", "Revoked")
    time.sleep(3)  # the same annotation value rotates nothing more
    assert tokens.secret("app-token")["clientId"] == new["clientId"]  # type: ignore[index]


def test_deleting_the_secret_issues_a_new_token_and_revokes_the_old(
    make_operator: Callable[..., Operator], tokens: Tokens, sim: Sim, kube_api: Any
) -> None:
    make_operator()
    spec = {"roles": [{"builtinRole": "RO User"}], "rotation": {"gracePeriod": "3s"}}
    tokens.apply("app", spec)
    tokens.wait_condition("app", "Ready", "True", timeout=30)
    old = current_secret(tokens, "app", "app-token")
    k8s.CoreV1Api(kube_api).delete_namespaced_secret("app-token", tokens.namespace)
    new = wait_for(
        "a new Secret",
        lambda: (d := tokens.secret("app-token")) and d["clientId"] != old["clientId"] and d,
        timeout=15,
    )
    assert works(sim, new["token"])
    wait_for("the old token to be revoked", lambda: not works(sim, old["token"]), timeout=20)
    assert marked(sim, tokens, "app") == {new["clientId"]}
    # Edited by hand: a new token too.
    core = k8s.CoreV1Api(kube_api)
    core.patch_namespaced_secret(
        "app-token", tokens.namespace, {"stringData": {"token": "AstraCS:edited:by-hand-0000"}}
    )
    newer = wait_for(
        "a token replacing the edited one",
        lambda: (d := tokens.secret("app-token")) and d["clientId"] != new["clientId"] and d,
        timeout=15,
    )
    assert works(sim, newer["token"])


def test_kill_9_right_after_a_token_create_converges_to_one_live_token(
    make_operator: Callable[..., Operator], tokens: Tokens, sim: Sim
) -> None:
    sim.admin(
        "POST",
        "/_sim/faults",
        {
            "kind": "latency",
            "seconds": 5,
            "after": True,
            "method": "POST",
            "path": "^/v2/tokens$",
            "count": 1,
        },
    )
    op = make_operator()
    tokens.apply("app", {"roles": [{"builtinRole": "RO User"}]})
    wait_for("the create to reach Astra", lambda: marked(sim, tokens, "app"), timeout=20)
    op.kill9()
    [orphan] = marked(sim, tokens, "app")
    assert tokens.secret("app-token") is None  # the reply never came back: no Secret holds it
    make_operator()
    tokens.wait_condition("app", "Ready", "True", timeout=60)
    data = current_secret(tokens, "app", "app-token")
    wait_for("exactly one live token", lambda: marked(sim, tokens, "app") == {data["clientId"]})
    assert data["clientId"] != orphan
    assert works(sim, data["token"])
    assert sim.count("POST /v2/tokens") == 2
    time.sleep(3)  # and it stays that way
    assert marked(sim, tokens, "app") == {data["clientId"]}


@pytest.mark.parametrize(("policy", "kept"), [("Delete", False), ("Retain", True)])
def test_delete_revokes_and_retain_keeps(
    make_operator: Callable[..., Operator], tokens: Tokens, sim: Sim, policy: str, kept: bool
) -> None:
    make_operator()
    spec = {"roles": [{"builtinRole": "RO User"}], "deletionPolicy": policy}
    tokens.apply("app", {**spec, "rotation": {"gracePeriod": "10m"}})
    tokens.wait_condition("app", "Ready", "True", timeout=30)
    first = current_secret(tokens, "app", "app-token")
    annotate(tokens, "app", "1")  # a previous token in its grace period: revoked either way
    second = wait_for(
        "a rotation",
        lambda: (d := tokens.secret("app-token")) and d["clientId"] != first["clientId"] and d,
        timeout=15,
    )
    tokens.delete("app")
    wait_for("the object to go", lambda: tokens.get("app") is None, timeout=30)
    live = astra_tokens(sim)
    assert first["clientId"] not in live
    assert (second["clientId"] in live) is kept
    assert works(sim, second["token"]) is kept
    if kept:  # the Secret stays, no longer owned by the deleted object
        secret = tokens.secret_object("app-token")
        assert not secret.metadata.owner_references
    reasons = [r for _, r, _ in tokens.events("app")]
    assert ("Retained" if kept else "Revoked") in reasons


def test_a_token_revoked_outside_is_issued_again_with_a_warning(
    make_operator: Callable[..., Operator], tokens: Tokens, sim: Sim
) -> None:
    make_operator()
    tokens.apply("app", {"roles": [{"builtinRole": "RO User"}]})
    tokens.wait_condition("app", "Ready", "True", timeout=30)
    old = current_secret(tokens, "app", "app-token")
    assert sim.api("DELETE", f"/v2/clientIdSecrets/{old['clientId']}").status_code == 200
    new = wait_for(
        "a new token",
        lambda: (d := tokens.secret("app-token")) and d["clientId"] != old["clientId"] and d,
        timeout=15,
    )
    assert works(sim, new["token"])
    warnings = [(r, m) for t, r, m in tokens.events("app") if t == "Warning"]
    assert any(r == "Recreating" and old["clientId"] in m for r, m in warnings)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"roles": [{"builtinRole": "RO User"}], "rotation": {"every": "30d"}}, "720h"),
        ({"roles": [{"builtinRole": "RO User"}], "rotation": {"every": "0h"}}, "longer than zero"),
        ({"roles": [{"builtinRole": "Readers"}]}, "built-in role"),
        (
            {"roles": [{"builtinRole": "RO User", "roleRef": {"name": "x"}}]},
            "exactly one of roleRef, roleID and builtinRole",
        ),
        ({"roles": []}, "roles"),
    ],
    ids=["duration", "zero", "builtin-name", "two-of-a-role", "no-roles"],
)
def test_bad_specs_are_refused_at_apply_in_words(
    crds_installed: list[str], tokens: Tokens, spec: dict[str, Any], words: str
) -> None:
    with pytest.raises(k8s.ApiException) as refused:
        tokens.apply("bad", spec)
    assert refused.value.status == 422
    assert words in str(refused.value.body)
    assert "^(" not in str(refused.value.body)  # no regex dumps


def test_token_example_carries_the_role_example(
    make_operator: Callable[..., Operator],
    roles: Roles,
    tokens: Tokens,
    sim: Sim,
    kubectl: Kubectl,
    namespace: str,
) -> None:
    make_operator()
    for path in ("database-serverless.yaml", "role-app-readers.yaml", "token-app-readers.yaml"):
        kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / path))
    [doc] = [d for d in yaml.safe_load_all((EXAMPLES / "token-app-readers.yaml").read_text()) if d]
    name, spec = doc["metadata"]["name"], doc["spec"]
    tokens.wait_condition(name, "Ready", "True", "Available", timeout=90)
    data = current_secret(tokens, name, spec.get("secretName") or f"{name}-token")
    [ref] = [r["roleRef"]["name"] for r in spec["roles"] if "roleRef" in r]
    role_id = roles.get(ref)["status"]["roleID"]  # type: ignore[index]
    assert role_id in astra_tokens(sim)[data["clientId"]]["roles"]
