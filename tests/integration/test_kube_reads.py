"""``kube.api.Kube`` reads custom objects from the API server's watch cache, no older than the
newest version it has seen; against a real API server: a pass always sees the writes before it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from astra_operator.kube import api as kube_api
from astra_operator.resources import database as db
from tests.conftest import Cluster
from tests.integration.conftest import Databases

pytestmark = pytest.mark.integration

SERVERLESS = {"cloudProvider": "GCP", "region": "us-east1"}


@pytest.fixture
async def kube(cluster: Cluster, crds_installed: list[str]) -> AsyncIterator[kube_api.Kube]:
    api = kube_api.load_api_client(str(Path(cluster.kubeconfig)), pool_size=2)
    kube = kube_api.Kube(api, workers=2)
    yield kube
    kube.close()
    api.close()  # type: ignore[no-untyped-call]


async def test_each_read_sees_the_status_written_just_before(
    kube: kube_api.Kube, databases: Databases, namespace: str
) -> None:
    databases.apply("rw", SERVERLESS)
    ref = kube_api.ObjectRef(db.PLURAL, namespace, "rw")
    first = await kube.get(ref)
    assert kube.known_version(ref) == int(first["metadata"]["resourceVersion"])  # type: ignore[index]
    for n in range(20):
        written = await kube.patch_status(ref, {"databaseID": f"00000000-0000-4000-8000-{n:012d}"})
        read = await kube.get(ref)
        assert read["status"]["databaseID"].endswith(f"{n:012d}"), f"read {n} missed its write"  # type: ignore[index]
        assert read["metadata"]["resourceVersion"] == written["metadata"]["resourceVersion"]  # type: ignore[index]


async def test_a_version_the_server_never_reached_falls_back_to_a_fresh_read(
    kube: kube_api.Kube, databases: Databases, namespace: str
) -> None:
    # As after etcd was restored from a backup: what the operator saw is ahead of the server.
    databases.apply("ahead", SERVERLESS)
    ref = kube_api.ObjectRef(db.PLURAL, namespace, "ahead")
    kube.saw(ref, {"metadata": {"resourceVersion": str(10**15)}})
    read = await kube.get(ref)
    assert read["metadata"]["name"] == "ahead"  # type: ignore[index]
    assert kube.known_version(ref) == int(read["metadata"]["resourceVersion"])  # type: ignore[index]
