"""/metrics of the operator process, as users run it, scraped while an AstraDatabase is created,
becomes Ready and is deleted: the series move with the scenario and name no ID."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import Databases, Operator, Sim, wait_for

pytestmark = pytest.mark.integration

SPEC = {"cloudProvider": "GCP", "region": "us-east1", "deletionPolicy": "Delete"}
DB = {"kind": "AstraDatabase"}
CREATE = {"method": "POST", "endpoint": "/v2/databases"}
READY = {**DB, "condition": "Ready", "status": "True"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Scrape:
    """One scrape: samples by name, read by a subset of their labels (summed)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = [s for f in text_string_to_metric_families(text) for s in f.samples]

    def value(self, name: str, **labels: str) -> float:
        return sum(
            s.value
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )


def scraper(port: int) -> Callable[[], Scrape]:
    def scrape() -> Scrape:
        return Scrape(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)

    return scrape


def answers(scrape: Callable[[], Scrape]) -> Scrape | None:
    try:
        return scrape()
    except httpx.HTTPError:
        return None


def test_series_follow_a_database_from_create_to_deletion(
    make_operator: Callable[..., Operator], databases: Databases, sim: Sim
) -> None:
    port = free_port()
    make_operator(ASTRA_METRICS_PORT=str(port))
    scrape = scraper(port)
    before: Scrape = wait_for("the metrics endpoint", lambda: answers(scrape))
    assert before.value("astra_operator_api_requests_total", **CREATE) == 0
    assert before.value("astra_operator_objects", **DB) == 0
    assert "astra_operator_passes_running" in before.text
    successes = before.value("astra_operator_reconcile_total", **DB, result="success")

    databases.apply("metered", SPEC)
    databases.wait_condition("metered", "Ready", "True", "Available")
    ready = wait_for(
        "the Ready gauge",
        lambda: (s := scrape()).value("astra_operator_objects", **READY) == 1 and s,
    )
    assert ready.value("astra_operator_api_requests_total", **CREATE, code="201") == 1
    assert ready.value("astra_operator_api_requests_total", **CREATE) == 1
    assert ready.value("astra_operator_api_request_duration_seconds_count", **CREATE) == 1
    assert ready.value("astra_operator_databases", phase="ACTIVE") == 1
    assert ready.value("astra_operator_objects_watched", **DB) == 1
    assert ready.value("astra_operator_generation_to_ready_seconds_count", **DB) == 1
    assert ready.value("astra_operator_reconcile_total", **DB, result="success") > successes
    assert ready.value("astra_operator_reconcile_duration_seconds_count", **DB) >= 2
    database_id = str((databases.get("metered") or {})["status"]["databaseID"])
    assert database_id not in ready.text, "a label carries the database ID"
    assert "/v2/databases/{databaseId}" in ready.text  # the route template, not the path

    passes = ready.value("astra_operator_reconcile_total", **DB)
    wait_for(  # steady: the loop goes on (poll interval 2 s), from the lists or directly
        "another pass",
        lambda: scrape().value("astra_operator_reconcile_total", **DB) > passes,
        timeout=15,
    )

    databases.delete("metered")
    wait_for("the database to be released", lambda: databases.get("metered") is None, 60)
    after = wait_for(
        "the gauges to forget the object",
        lambda: (s := scrape()).value("astra_operator_objects", **DB) == 0 and s,
    )
    assert after.value("astra_operator_objects_watched", **DB) == 0
    assert after.value("astra_operator_databases") == 0
    assert after.value("astra_operator_api_requests_total", **CREATE) == 1
    assert sim.databases("metered")[0]["status"] in ("TERMINATING", "TERMINATED")
