"""AstraClient against the simulator where the real API surprised third-party clients (issue 12)."""

from __future__ import annotations

from astra_operator.astra import client as astra_client


async def test_serverless_regions_filter_by_org_disabled_lists_every_region(
    astra: astra_client.AstraClient,
) -> None:
    for region_type in (None, "vector", "all"):
        unfiltered = await astra.list_serverless_regions(region_type=region_type)
        disabled = await astra.list_serverless_regions(
            region_type=region_type, filter_by_org="disabled"
        )
        assert unfiltered
        assert [(r.cloud_provider, r.name) for r in disabled] == [
            (r.cloud_provider, r.name) for r in unfiltered
        ]
