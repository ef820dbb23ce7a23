"""Data safety end to end: each reported problem reproduced against the operator process.

The tests of a problem fail on the reconciler before the shared engine (311e173) in a way a
user would notice: a second object taking, and then terminating, a database it did not
create; a look-up taking another object's database; a second adopter writing to (and
deleting) another object's database; the default token used from any namespace; an adoption
of the wrong database; a bad token value crashing every pass; two 503s on a create waiting
minutes; an upstream's echo of the token reaching conditions, events and logs. The ``serves``
tests are controls (the other namespace is watched and served when listed).
"""

from __future__ import annotations

import base64
import itertools
import os
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from astra_operator.resources import database as db
from tests.conftest import Cluster
from tests.integration.conftest import (
    FAST_ENV,
    Databases,
    Operator,
    Sim,
    put_secret,
    wait_for,
)

pytestmark = pytest.mark.integration

SERVERLESS = {"cloudProvider": "GCP", "region": "us-east1"}
CREATE = "POST /v2/databases"
CREATE_PATH = "^/v2/databases$"
TERMINATE = "POST /v2/databases/{databaseId}/terminate"
GONE = ("TERMINATING", "TERMINATED")
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def status(databases: Databases, name: str) -> dict[str, Any]:
    found: dict[str, Any] = (databases.get(name) or {}).get("status", {})
    return found


def astra_status(sim: Sim, db_id: str) -> str | None:
    """The database's status in Astra, or None once it is gone from the simulator."""
    found = [d["status"] for d in sim.databases() if d["id"] == db_id]
    return found[0] if found else None


def write_calls(sim: Sim) -> dict[str, int]:
    """Every /v2 call that changes something, by route, as counted by the simulator."""
    counts: dict[str, int] = sim.admin("GET", "/_sim/requests")["counts"]
    return {k: n for k, n in counts.items() if k.split(" ", 1)[0] in WRITES}


def events_text(databases: Databases, name: str) -> str:
    return "\n".join(message for _, _, message in databases.events(name))


def log_text(op: Operator) -> str:
    return op.log.read_text(errors="replace") if op.log.exists() else ""


def serverless_database(sim: Sim, name: str, region: str = "us-east1") -> str:
    """A database made directly in Astra (as a user would, outside Kubernetes); its ID."""
    made = sim.api(
        "POST",
        "/v2/databases",
        json={
            "name": name,
            "cloudProvider": "GCP",
            "region": region,
            "tier": "serverless",
            "capacityUnits": 1,
        },
    )
    assert made.status_code == 201, made.text
    db_id = made.headers["Location"]
    wait_for(f"{name} ACTIVE", lambda: astra_status(sim, db_id) == "ACTIVE")
    return db_id


# --- 1. twin names: a create after an unclear or refused answer -----------------------------


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"kind": "status", "status": 503}, id="503"),
        # Four 429s outlast the client's own retries (4 attempts), so the pass sees the refusal.
        pytest.param(
            {"kind": "status", "status": 429, "retryAfter": 1, "count": 4},
            id="429-retry-after-1",
        ),
        pytest.param({"kind": "drop_response"}, id="dropped-response"),
    ],
)
def test_twin_name_gets_its_own_database_and_deleting_it_spares_the_other(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
    fault: dict[str, Any],
) -> None:
    make_operator()
    databases.apply(
        "a",
        {**SERVERLESS, "name": "twin", "deletionPolicy": "Retain", "deletionProtection": True},
    )
    databases.wait_condition("a", "Ready", "True", "Available")
    a_id = status(databases, "a")["databaseID"]

    sim.admin("POST", "/_sim/faults", {**fault, "method": "POST", "path": CREATE_PATH})
    databases.apply("b", {**SERVERLESS, "name": "twin", "deletionPolicy": "Delete"})
    databases.wait_condition("b", "Ready", "True", "Available", timeout=45)
    b_id = status(databases, "b")["databaseID"]

    assert sim.admin("GET", "/_sim/faults")["faults"] == [], "the fault never hit the create"
    assert b_id != a_id, "b took a's database instead of getting its own"
    twins = sim.databases("twin")
    assert sorted(d["id"] for d in twins) == sorted([a_id, b_id])
    assert "createPending" not in status(databases, "b")

    databases.delete("b")
    wait_for("b to go", lambda: databases.get("b") is None, timeout=60)
    assert astra_status(sim, a_id) == "ACTIVE"
    assert astra_status(sim, b_id) in (*GONE, None)
    assert sim.count(TERMINATE) == 1
    time.sleep(2.5)  # a poll interval: a is still fine from its own point of view
    assert databases.condition("a", "Ready")["status"] == "True"
    assert status(databases, "a")["databaseID"] == a_id


# --- 2. one owner per database --------------------------------------------------------------


def test_second_adopter_is_already_managed_never_writes_and_its_deletion_never_terminates(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
    namespace: str,
) -> None:
    make_operator()
    databases.apply("first", {**SERVERLESS, "name": "shared", "deletionPolicy": "Retain"})
    databases.wait_condition("first", "Ready", "True", "Available")
    x = status(databases, "first")["databaseID"]
    before = write_calls(sim)

    # Had "second" managed X, it would add the keyspace it asks for: a write a user would see.
    databases.apply(
        "second",
        {
            **SERVERLESS,
            "name": "shared",
            "databaseID": x,
            "additionalKeyspaces": ["intruder"],
            "deletionPolicy": "Delete",
        },
    )
    synced = databases.wait_condition("second", "Synced", "False", "AlreadyManaged")
    assert f"{namespace}/first" in synced["message"]
    assert x in synced["message"]
    assert "databaseID" not in status(databases, "second")
    databases.wait_event("second", "Warning", "AlreadyManaged")
    time.sleep(2.5)  # a poll interval: still nothing written
    assert write_calls(sim) == before
    [shared] = sim.databases("shared")
    assert "intruder" not in shared["info"]["keyspaces"]

    databases.delete("second")
    wait_for("second to go", lambda: databases.get("second") is None, timeout=30)
    assert astra_status(sim, x) == "ACTIVE"
    assert sim.count(TERMINATE) == 0
    assert write_calls(sim) == before
    assert databases.condition("first", "Ready")["status"] == "True"
    assert status(databases, "first")["databaseID"] == x


def test_look_up_after_an_unclear_create_skips_what_another_object_made_meanwhile(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    # slow's create is held for 4 s and then fails with 503 (nothing made); meanwhile quick,
    # with the same name, creates its database. slow listed before that database existed, so
    # only ownership keeps its look-up from taking quick's database.
    sim.admin(
        "POST",
        "/_sim/faults",
        [
            {"kind": "latency", "seconds": 4, "method": "POST", "path": CREATE_PATH},
            {"kind": "status", "status": 503, "method": "POST", "path": CREATE_PATH},
        ],
    )
    make_operator()
    databases.apply("slow", {**SERVERLESS, "name": "twin", "deletionPolicy": "Delete"})
    wait_for("slow's create to be sent", lambda: sim.count(CREATE) == 1)
    databases.apply(
        "quick",
        {**SERVERLESS, "name": "twin", "deletionPolicy": "Retain", "deletionProtection": True},
    )
    databases.wait_condition("quick", "Ready", "True", "Available")
    quick_id = status(databases, "quick")["databaseID"]
    marker = status(databases, "slow").get("createPending")
    assert marker is not None, "slow's create was answered before quick had its database"
    assert quick_id not in marker.get("existingIDs", [])

    databases.wait_condition("slow", "Ready", "True", "Available", timeout=45)
    slow_id = status(databases, "slow")["databaseID"]
    assert slow_id != quick_id, "slow's look-up took quick's database"
    assert sorted(d["id"] for d in sim.databases("twin")) == sorted([quick_id, slow_id])
    databases.delete("slow")
    wait_for("slow to go", lambda: databases.get("slow") is None, timeout=60)
    assert astra_status(sim, quick_id) == "ACTIVE"


def test_two_objects_recording_one_database_the_older_keeps_it(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
    namespace: str,
) -> None:
    """As after an upgrade from a version that let a twin take another object's database:
    both statuses record it. The older object keeps it; the younger one never touches it."""
    op = make_operator()
    databases.apply("elder", {**SERVERLESS, "name": "twin", "deletionPolicy": "Retain"})
    databases.wait_condition("elder", "Ready", "True", "Available")
    x = status(databases, "elder")["databaseID"]
    op.stop()
    databases.apply("younger", {**SERVERLESS, "name": "twin", "deletionPolicy": "Delete"})
    databases.custom.patch_namespaced_custom_object_status(
        db.GROUP, db.VERSION, namespace, db.PLURAL, "younger", {"status": {"databaseID": x}}
    )
    before = write_calls(sim)
    op.start()
    synced = databases.wait_condition("younger", "Synced", "False", "AlreadyManaged")
    assert f"{namespace}/elder" in synced["message"]
    time.sleep(2.5)  # a poll interval
    assert databases.condition("elder", "Ready")["status"] == "True"
    assert databases.condition("elder", "Synced")["status"] == "True"
    assert write_calls(sim) == before

    databases.delete("younger")
    wait_for("younger to go", lambda: databases.get("younger") is None, timeout=30)
    assert astra_status(sim, x) == "ACTIVE"
    assert sim.count(TERMINATE) == 0
    databases.wait_event("younger", "Normal", "Released")


# --- 3. adoption checks identity ------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        pytest.param(
            {"name": "legacy", "cloudProvider": "GCP", "region": "us-east4"},
            ["spec.region is 'us-east4' but the database has 'us-east1'"],
            id="region",
        ),
        pytest.param(
            {"name": "legacy", "cloudProvider": "GCP", "region": "us-east1", "dbType": "vector"},
            ["spec.dbType is 'vector' but the database has None"],
            id="dbType",
        ),
        pytest.param(
            {"name": "other", "cloudProvider": "GCP", "region": "europe-west1"},
            [
                "spec.name is 'other' but the database has 'legacy'",
                "spec.region is 'europe-west1' but the database has 'us-east1'",
            ],
            id="name-and-region",
        ),
    ],
)
def test_adoption_of_a_database_that_is_not_the_spec_is_refused(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
    spec: dict[str, Any],
    named: list[str],
) -> None:
    legacy = serverless_database(sim, "legacy")
    sim.admin("POST", "/_sim/requests/reset")
    make_operator()
    databases.apply("wrong", {**spec, "databaseID": legacy, "deletionPolicy": "Delete"})
    synced = databases.wait_condition("wrong", "Synced", "False", "AdoptionRefused")
    for mismatch in named:
        assert mismatch in synced["message"]
    assert legacy in synced["message"]
    assert "databaseID" not in status(databases, "wrong")
    assert write_calls(sim) == {}

    databases.delete("wrong")
    wait_for("the object to go", lambda: databases.get("wrong") is None, timeout=30)
    assert astra_status(sim, legacy) == "ACTIVE"
    assert write_calls(sim) == {}


# --- 4. the default token serves only the namespaces it is meant for -------------------------


class MultiNamespaceOperator(Operator):
    """``astra-operator run -n <own> -n <other> ...``: its own namespace holds the default
    Secret (ASTRA_OPERATOR_NAMESPACE), the others are only watched."""

    def __init__(
        self, kubeconfig: Path, namespaces: list[str], sim: Sim, log: Path, env: dict[str, str]
    ) -> None:
        super().__init__(kubeconfig, namespaces[0], sim, log, env)
        self.namespaces = namespaces

    def start(self) -> None:
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "ASTRA_API_URL": self.sim.url,
            "ASTRA_OPERATOR_NAMESPACE": self.namespace,
            **FAST_ENV,
            **self.extra_env,
        }
        watch = [arg for ns in self.namespaces for arg in ("-n", ns)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "astra_operator.cli", "run", *watch, "--verbose"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )


@pytest.fixture
def other_namespace(kube_api: k8s.ApiClient, cluster: Cluster) -> Iterator[str]:
    """A second fresh namespace, with no Secret in it."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    core = k8s.CoreV1Api(kube_api)
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)))
    yield name
    if not cluster.is_local:
        core.delete_namespace(name)


@pytest.fixture
def two_namespace_operator(
    cluster: Cluster,
    sim: Sim,
    namespace: str,
    other_namespace: str,
    kube_api: k8s.ApiClient,
    crds_installed: list[str],
    tmp_path: Path,
) -> Iterator[Callable[..., MultiNamespaceOperator]]:
    """Factory: an operator watching this test's namespace (its own, with the default Secret)
    and ``other_namespace``. Afterwards, no log line may contain the token."""
    put_secret(kube_api, namespace, "astra-credentials", {"token": sim.admin_token})
    started: list[MultiNamespaceOperator] = []

    def make(**env: str) -> MultiNamespaceOperator:
        log = tmp_path / "operator.log"
        op = MultiNamespaceOperator(cluster.kubeconfig, [namespace, other_namespace], sim, log, env)
        op.start()
        started.append(op)
        return op

    yield make
    for op in started:
        op.stop()
    text = log_text(started[0]) if started else ""  # they share one log
    assert sim.admin_token not in text
    assert "AstraCS:" not in text


def test_default_token_does_not_serve_another_namespace(
    two_namespace_operator: Callable[..., MultiNamespaceOperator],
    kube_api: k8s.ApiClient,
    databases: Databases,
    other_namespace: str,
    sim: Sim,
) -> None:
    two_namespace_operator()
    databases.apply("owner", {**SERVERLESS, "deletionPolicy": "Retain"})
    databases.wait_condition("owner", "Ready", "True", "Available")
    x = status(databases, "owner")["databaseID"]
    before = write_calls(sim)

    others = Databases(kube_api, other_namespace)
    others.apply(
        "borrower", {**SERVERLESS, "name": "owner", "databaseID": x, "deletionPolicy": "Delete"}
    )
    synced = others.wait_condition("borrower", "Synced", "False", "CredentialsNotAllowed")
    assert repr(other_namespace) in synced["message"]
    assert "spec.credentials" in synced["message"]
    assert "databaseID" not in status(others, "borrower")

    others.delete("borrower")
    wait_for("borrower to go", lambda: others.get("borrower") is None, timeout=30)
    assert astra_status(sim, x) == "ACTIVE"
    assert sim.count(TERMINATE) == 0
    assert write_calls(sim) == before
    assert databases.condition("owner", "Ready")["status"] == "True"


@pytest.mark.parametrize("listed", ["both", "*"])
def test_default_token_serves_the_namespaces_it_is_given(
    two_namespace_operator: Callable[..., MultiNamespaceOperator],
    kube_api: k8s.ApiClient,
    namespace: str,
    other_namespace: str,
    listed: str,
) -> None:
    """The control for the test above: the other namespace is watched, and served when the
    administrator lists it."""
    allowed = f"{namespace},{other_namespace}" if listed == "both" else "*"
    two_namespace_operator(ASTRA_DEFAULT_CREDENTIALS_NAMESPACES=allowed)
    others = Databases(kube_api, other_namespace)
    others.apply("served", SERVERLESS)
    others.wait_condition("served", "Ready", "True", "Available")


def test_second_adopter_in_another_namespace_with_its_own_token_is_already_managed(
    two_namespace_operator: Callable[..., MultiNamespaceOperator],
    kube_api: k8s.ApiClient,
    databases: Databases,
    namespace: str,
    other_namespace: str,
    sim: Sim,
) -> None:
    two_namespace_operator()
    databases.apply("owner", {**SERVERLESS, "deletionPolicy": "Retain"})
    databases.wait_condition("owner", "Ready", "True", "Available")
    x = status(databases, "owner")["databaseID"]
    before = write_calls(sim)

    put_secret(kube_api, other_namespace, "team-token", {"token": sim.admin_token})
    others = Databases(kube_api, other_namespace)
    others.apply(
        "copycat",
        {
            **SERVERLESS,
            "name": "owner",
            "databaseID": x,
            "credentials": {"secretRef": {"name": "team-token"}},
            "deletionPolicy": "Delete",
        },
    )
    synced = others.wait_condition("copycat", "Synced", "False", "AlreadyManaged")
    assert f"{namespace}/owner" in synced["message"]
    assert "databaseID" not in status(others, "copycat")

    others.delete("copycat")
    wait_for("copycat to go", lambda: others.get("copycat") is None, timeout=30)
    assert astra_status(sim, x) == "ACTIVE"
    assert sim.count(TERMINATE) == 0
    assert write_calls(sim) == before


# --- 5. bad token values --------------------------------------------------------------------


def put_raw_secret(api: k8s.ApiClient, namespace: str, name: str, key: str, raw: bytes) -> None:
    """A Secret holding exactly ``raw`` (any bytes, not only UTF-8 text)."""
    body = k8s.V1Secret(
        metadata=k8s.V1ObjectMeta(name=name), data={key: base64.b64encode(raw).decode()}
    )
    k8s.CoreV1Api(api).replace_namespaced_secret(name, namespace, body)


def _bad_values(token: str) -> dict[str, bytes]:
    head, tail = token[:20], token[20:]
    return {
        "whitespace-only": b" \t \n ",
        "tab": f"{head}\t{tail}".encode(),
        "non-ascii": f"{head}\u00e9{tail}".encode(),
        "non-utf8": b"\xff\xfe" + token.encode(),
    }


@pytest.mark.parametrize("which", ["whitespace-only", "tab", "non-ascii", "non-utf8"])
def test_bad_token_value_is_a_condition_and_fixing_the_secret_is_enough(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
    kube_api: k8s.ApiClient,
    namespace: str,
    which: str,
) -> None:
    raw = _bad_values(sim.admin_token)[which]
    op = make_operator(start=False)
    put_raw_secret(kube_api, namespace, "astra-credentials", "token", raw)
    op.start()
    databases.apply("badtoken", SERVERLESS)
    synced = databases.wait_condition("badtoken", "Synced", "False", "CredentialsInvalid")
    assert f"Secret {namespace}/astra-credentials" in synced["message"]
    time.sleep(5.5)  # time for another pass (backoff 1 s + 4 s)
    shown = "\n".join([str(databases.get("badtoken")), events_text(databases, "badtoken")])
    pieces = [p for p in raw.decode(errors="replace").split() if len(p) >= 8]
    for piece in [*pieces, sim.admin_token[20:], sim.admin_token[:20]]:
        assert piece not in shown, "the token value was shown"
    assert "createPending" not in status(databases, "badtoken")
    assert sim.count(CREATE) == 0
    assert sim.databases() == []
    log = log_text(op)
    assert "Traceback" not in log, log[log.find("Traceback") :][:3000]

    put_secret(kube_api, namespace, "astra-credentials", {"token": sim.admin_token})
    databases.wait_condition("badtoken", "Ready", "True", "Available", timeout=60)
    assert databases.condition("badtoken", "Synced")["status"] == "True"
    assert sim.count(CREATE) == 1
    assert "Traceback" not in log_text(op)


# --- 6. unclear answers are retried promptly -------------------------------------------------


def test_two_503s_on_create_still_reach_ready_within_20_s(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    sim.admin(
        "POST",
        "/_sim/faults",
        {"kind": "status", "status": 503, "count": 2, "method": "POST", "path": CREATE_PATH},
    )
    make_operator()
    started = time.monotonic()
    databases.apply("patient", SERVERLESS)
    databases.wait_condition("patient", "Ready", "True", "Available", timeout=20)
    took = time.monotonic() - started
    assert len(sim.databases("patient")) == 1
    assert sim.count(CREATE) == 3
    assert took < 20


def test_failed_passes_back_off_1_2_4_8_s(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    # A 500 on a read is not retried inside the client: each failed pass is one GET.
    make_operator(ASTRA_POLL_INTERVAL="60")
    databases.apply("flaky", SERVERLESS)
    databases.wait_condition("flaky", "Ready", "True", "Available")
    read = "GET /v2/databases/{databaseId}"
    one_db = r"^/v2/databases/[^/]+$"
    sim.admin(
        "POST",
        "/_sim/faults",
        {"kind": "status", "status": 500, "count": 4, "method": "GET", "path": one_db},
    )
    seen, stamps = sim.count(read), list[float]()
    databases.patch(
        "flaky", {"metadata": {"annotations": {"astra.operator.dev/reconcile-requested-at": "x"}}}
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(stamps) < 5:
        if (count := sim.count(read)) != seen:
            seen = count
            stamps.append(time.monotonic())
        time.sleep(0.05)
    gaps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
    assert len(gaps) == 4, gaps
    for gap, expected in zip(gaps, [1, 2, 4, 8], strict=True):
        assert expected * 0.9 <= gap <= expected * 1.25 + 0.5, (gaps, expected)
    databases.wait_condition("flaky", "Synced", "True")


# --- 7. an upstream that echoes the token ----------------------------------------------------


def token_forms(token: str) -> dict[str, str]:
    """Every form in which ``token`` (or its secret part) must never be shown."""
    return {
        "plain": token,
        "quote": urllib.parse.quote(token, safe=""),
        "quote-default-safe": urllib.parse.quote(token),
        "quote_plus": urllib.parse.quote_plus(token),
        "secret segment": token.rsplit(":", 1)[-1],
    }


def leaked(text: str, token: str) -> list[str]:
    lowered = text.lower()
    return [name for name, form in token_forms(token).items() if form.lower() in lowered]


@pytest.mark.parametrize(
    ("echo", "synced_reason"),
    [
        # Refused as invalid: the message is shown in Synced and in a Warning event.
        pytest.param({"status": 400, "style": "errors"}, "SpecRejected", id="400-errors"),
        # An unclear answer (looked up, then created again): the message reaches the log.
        pytest.param({"status": 503, "style": "text"}, None, id="503-text"),
        # The token refused: the condition names the permission, the log line has the body.
        pytest.param({"status": 401, "style": "string"}, "ReconcileError", id="401-string"),
    ],
)
def test_token_echoed_by_the_upstream_shows_nowhere(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
    echo: dict[str, Any],
    synced_reason: str | None,
) -> None:
    fault = {"kind": "echo_token", "form": "all", "method": "POST", "path": CREATE_PATH}
    sim.admin("POST", "/_sim/faults", {**fault, **echo})
    op = make_operator()
    databases.apply("echoed", SERVERLESS)
    if synced_reason is None:
        databases.wait_condition("echoed", "Ready", "True", "Available")
    else:
        databases.wait_condition("echoed", "Synced", "False", synced_reason)
        wait_for("the Warning event", lambda: databases.events("echoed"))
    assert sim.admin("GET", "/_sim/faults")["faults"] == []
    op.stop()
    token = sim.admin_token
    synced = databases.condition("echoed", "Synced")
    assert leaked(synced["message"], token) == [], synced["message"]
    if echo["status"] == 400:
        assert "credentials rejected" in synced["message"], "the echo did not reach the status"
    assert leaked(str(databases.get("echoed")), token) == []
    for _, reason, message in databases.events("echoed"):
        assert leaked(message, token) == [], (reason, message)
    log = log_text(op)
    assert "credentials rejected" in log, "the echo did not reach the log"
    assert leaked(log, token) == []
