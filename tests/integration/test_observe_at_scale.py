"""Observation at scale, end to end: steady objects are observed from one list per credential
per poll interval, write nothing, and still notice what changes in Astra; spec edits act at once.

These tests prove the behaviour (which calls, how many writes), not timings: the figures at
scale are the benchmark's (benchmarks/scale.py)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import watch

from astra_operator.resources import database as db
from tests.integration.conftest import (
    FAST_ENV,
    Databases,
    Operator,
    Roles,
    Sim,
    Tokens,
    wait_for,
)

pytestmark = pytest.mark.integration

SERVERLESS = {"cloudProvider": "GCP", "region": "us-east1"}
INTERVAL = float(FAST_ENV["ASTRA_POLL_INTERVAL"])
GET_ONE = "GET /v2/databases/{databaseId}"
LIST = "GET /v2/databases"
GET_ROLE = "GET /v2/organizations/roles/{roleID}"
LIST_ROLES = "GET /v2/organizations/roles"
LIST_TOKENS = "GET /v2/clientIdSecrets"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _ready_all(databases: Databases, names: list[str]) -> dict[str, str]:
    for name in names:
        databases.wait_condition(name, "Ready", "True", "Available", timeout=60)
    return {n: databases.get(n)["status"]["databaseID"] for n in names}  # type: ignore[index]


def _versions(databases: Databases, names: list[str]) -> dict[str, str]:
    return {n: databases.get(n)["metadata"]["resourceVersion"] for n in names}  # type: ignore[index]


def _counts(sim: Sim) -> dict[str, int]:
    counts: dict[str, int] = sim.admin("GET", "/_sim/requests")["counts"]
    return counts


def _astra_writes(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if k.split(" ")[0] in WRITES}


def _settle(sim: Sim) -> None:
    """Let the passes right after Ready (direct reads) give way to the lists: two intervals."""
    time.sleep(2 * INTERVAL + 1)
    sim.admin("POST", "/_sim/requests/reset")


def test_steady_objects_are_observed_from_one_list_and_write_nothing(
    make_operator: Callable[..., Operator],
    databases: Databases,
    roles: Roles,
    tokens: Tokens,
    sim: Sim,
) -> None:
    make_operator()
    names = [f"steady-{i}" for i in range(5)]
    for name in names:
        databases.apply(name, SERVERLESS)
    scope = {"permissions": ["db-cql"], "resources": [{"databaseRef": {"name": "steady-0"}}]}
    roles.apply("steady-role", scope)
    tokens.apply("steady-token", {"roles": [{"roleRef": {"name": "steady-role"}}]})
    ids = _ready_all(databases, names)
    roles.wait_condition("steady-role", "Ready", "True", timeout=60)
    tokens.wait_condition("steady-token", "Ready", "True", timeout=60)
    _settle(sim)
    before = _versions(databases, names)
    others = (_versions(roles, ["steady-role"]), _versions(tokens, ["steady-token"]))
    time.sleep(3 * INTERVAL)
    counts = _counts(sim)
    assert counts.get(GET_ONE, 0) == 0, f"steady objects read themselves: {counts}"
    assert counts.get(GET_ROLE, 0) == 0, f"a steady role read itself: {counts}"
    for listed in (LIST, LIST_ROLES, LIST_TOKENS):
        assert counts.get(listed, 0) <= 5, f"not one {listed} per interval: {counts}"
    assert counts.get(LIST, 0) >= 1
    assert _astra_writes(counts) == {}
    assert _versions(databases, names) == before, "a steady database was written"
    assert (_versions(roles, ["steady-role"]), _versions(tokens, ["steady-token"])) == others
    # Something that changes in Astra is still seen, from the list.
    sim.admin("POST", f"/_sim/databases/{ids['steady-0']}/external", {"status": "HIBERNATED"})
    databases.wait_condition("steady-0", "Ready", "False", "Hibernated", timeout=3 * INTERVAL + 5)
    assert _counts(sim).get(GET_ONE, 0) == 0


def test_steady_passes_read_their_objects_from_the_api_servers_cache_not_etcd(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    # A GET with a resourceVersion is answered from the API server's watch cache ("not older
    # than" it); one without is a quorum read of etcd. The operator's own request log
    # (urllib3's, --verbose) shows which it sends.
    op = make_operator()
    names = [f"cached-{i}" for i in range(3)]
    for name in names:
        databases.apply(name, SERVERLESS)
    _ready_all(databases, names)
    _settle(sim)
    start = op.log.stat().st_size
    time.sleep(3 * INTERVAL)
    with op.log.open("rb") as log:
        log.seek(start)
        window = log.read().decode(errors="replace")
    path = f"/namespaces/{op.namespace}/{db.PLURAL}/cached-"
    reads = [url for url in re.findall(r'"GET (\S+) HTTP/1.1"', window) if path in url]
    assert len(reads) >= len(names), f"no steady pass read its object: blind\n{window[-3000:]}"
    assert [url for url in reads if "resourceVersion=" not in url] == [], "a read from etcd"


def test_restart_with_ready_objects_writes_nothing_and_reobserves_from_the_lists(
    make_operator: Callable[..., Operator], databases: Databases, sim: Sim
) -> None:
    operator = make_operator()
    names = [f"again-{i}" for i in range(4)]
    for name in names:
        databases.apply(name, SERVERLESS)
    ids = _ready_all(databases, names)
    _settle(sim)
    operator.kill9()
    before = _versions(databases, names)
    sim.admin("POST", f"/_sim/databases/{ids['again-1']}/external", {"status": "HIBERNATED"})
    sim.admin("POST", "/_sim/requests/reset")
    operator.start()
    databases.wait_condition("again-1", "Ready", "False", "Hibernated", timeout=30)
    time.sleep(INTERVAL)
    counts = _counts(sim)
    assert _astra_writes(counts) == {}
    assert counts.get(GET_ONE, 0) == 0, f"a burst of GETs after the restart: {counts}"
    after = _versions(databases, names)
    assert {n for n in names if after[n] != before[n]} == {"again-1"}


def test_create_to_ready_takes_at_most_four_writes(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
    kube_api: k8s.ApiClient,
    namespace: str,
) -> None:
    make_operator()
    versions: list[str] = []
    seen: list[Any] = []
    seen_ready = threading.Event()
    stream = watch.Watch()

    def follow() -> None:
        custom = k8s.CustomObjectsApi(kube_api)
        for event in stream.stream(
            custom.list_namespaced_custom_object,
            db.GROUP,
            db.VERSION,
            namespace,
            db.PLURAL,
            field_selector="metadata.name=counted",
            timeout_seconds=60,
        ):
            obj: dict[str, Any] = event["object"]
            conds = (obj.get("status") or {}).get("conditions") or []
            versions.append(obj["metadata"]["resourceVersion"])
            seen.append(
                (
                    obj["metadata"].get("finalizers"),
                    sorted(obj["metadata"].get("annotations") or {}),
                    sorted(obj.get("status") or {}),
                    [(c["type"], c["reason"]) for c in conds],
                )
            )
            if any(c["type"] == "Ready" and c["status"] == "True" for c in conds):
                seen_ready.set()
                stream.stop()

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    time.sleep(0.5)  # the watch is open before the create
    databases.apply("counted", {**SERVERLESS, "connectionSecret": {"name": "counted-conn"}})
    assert seen_ready.wait(60), "never Ready"
    follower.join(5)
    writes = len(set(versions)) - 1  # the first version is the user's create
    assert writes <= 4, f"{writes} writes from create to Ready: {seen}"
    assert sim.count("POST /v2/databases") == 1


def test_a_spec_edit_acts_at_once_not_at_the_next_interval(
    make_operator: Callable[..., Operator], databases: Databases, sim: Sim
) -> None:
    make_operator(ASTRA_POLL_INTERVAL="120")
    databases.apply("eager", SERVERLESS)
    [db_id] = _ready_all(databases, ["eager"]).values()
    databases.patch("eager", {"spec": {"additionalKeyspaces": ["now"]}})
    wait_for(
        "the keyspace well before the 120 s interval",
        lambda: "now" in next(d for d in sim.databases() if d["id"] == db_id)["info"]["keyspaces"],
        10,
    )


def test_a_database_missing_from_the_list_is_found_by_its_own_get(
    make_operator: Callable[..., Operator], databases: Databases, sim: Sim
) -> None:
    make_operator()
    names = ["kept", "dropped"]
    for name in names:
        databases.apply(name, SERVERLESS)
    ids = _ready_all(databases, names)
    _settle(sim)
    sim.admin("POST", f"/_sim/databases/{ids['dropped']}/external", {"action": "delete"})
    ready = databases.wait_condition("dropped", "Ready", "False", "Terminated", timeout=20)
    assert "404" in ready["message"]
    assert 1 <= _counts(sim).get(GET_ONE, 0) <= 3  # its own GETs only: one per interval
    assert databases.condition("kept", "Ready")["status"] == "True"


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 403, "count": 1000}, id="list-refused"),
        pytest.param({"status": 429, "retryAfter": 1, "count": 3}, id="list-rate-limited"),
    ],
)
def test_when_the_list_fails_objects_still_converge(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
    fault: dict[str, Any],
) -> None:
    make_operator()
    names = ["one", "two"]
    for name in names:
        databases.apply(name, SERVERLESS)
    ids = _ready_all(databases, names)
    _settle(sim)
    sim.admin(
        "POST",
        "/_sim/faults",
        {"kind": "status", "method": "GET", "path": "^/v2/databases$", **fault},
    )
    sim.admin("POST", f"/_sim/databases/{ids['two']}/external", {"status": "HIBERNATED"})
    databases.wait_condition("two", "Ready", "False", "Hibernated", timeout=30)
    databases.patch("one", {"spec": {"additionalKeyspaces": ["more"]}})
    wait_for(
        "the edit despite the failing list",
        lambda: (
            "more" in next(d for d in sim.databases() if d["id"] == ids["one"])["info"]["keyspaces"]
        ),
        20,
    )
    assert databases.condition("one", "Synced")["status"] == "True"


def test_a_429_pauses_every_request_of_the_credential(
    make_operator: Callable[..., Operator], databases: Databases, sim: Sim
) -> None:
    make_operator()
    names = ["slow-a", "slow-b"]
    for name in names:
        databases.apply(name, SERVERLESS)
    ids = _ready_all(databases, names)
    _settle(sim)
    path = f"^/v2/databases/{ids['slow-a']}$"
    fault = {"kind": "status", "status": 429, "retryAfter": 1, "count": 1}
    sim.admin("POST", "/_sim/faults", {**fault, "method": "GET", "path": path})
    databases.patch("slow-a", {"spec": {"additionalKeyspaces": ["ka"]}})  # a GET of its own
    time.sleep(0.2)
    databases.patch("slow-b", {"spec": {"additionalKeyspaces": ["kb"]}})  # another, meanwhile
    for name, keyspace in (("slow-a", "ka"), ("slow-b", "kb")):
        wait_for(
            f"{keyspace} despite the 429",
            lambda n=name, k=keyspace: (
                k in next(d for d in sim.databases() if d["id"] == ids[n])["info"]["keyspaces"]
            ),
            20,
        )
    log = sim.admin("GET", "/_sim/requests/log")["requests"]
    refused = next(r["at"] for r in log if r["path"] == f"/v2/databases/{ids['slow-a']}")
    during = [r for r in log if refused < r["at"] < refused + 0.9]
    assert during == [], f"requests sent while the credential was told to wait: {during}"
    assert any(r["path"] == f"/v2/databases/{ids['slow-b']}" for r in log if r["at"] > refused)
