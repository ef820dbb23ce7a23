"""Every path of the spec is implemented or listed as omitted, in the doc and in the simulator."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx

from astra_operator.simulator import server
from tests.simulator import spec

DOC = Path(__file__).parents[2] / "docs" / "simulator-admin-api.md"
_ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/v[0-9]+/[^`]*)` \|(.*)\|\s*$")


def _doc_table(heading: str) -> dict[tuple[str, str], list[str]]:
    """The endpoint rows of the table under ``heading`` (a ``### `` heading of the coverage)."""
    text = DOC.read_text()
    coverage = text.split("## DevOps API coverage", 1)[1].split("\n## ", 1)[0]
    table = coverage.split(f"### {heading}\n", 1)[1].split("\n### ", 1)[0]
    rows: dict[tuple[str, str], list[str]] = {}
    for line in table.splitlines():
        match = _ROW.match(line)
        if match:
            key = (match.group(1), match.group(2))
            assert key not in rows, f"{key} is listed twice under {heading}"
            rows[key] = [cell.strip() for cell in match.group(3).split("|")]
    assert rows, f"no endpoint rows under {heading}"
    return rows


def _routes() -> set[tuple[str, str]]:
    return {(route.method, route.template) for route in server.ROUTES}


def test_vendored_spec_is_the_upstream_file() -> None:
    body = spec.body_bytes()
    assert len(body) == spec.UPSTREAM_SIZE
    assert hashlib.sha256(body).hexdigest() == spec.UPSTREAM_SHA256
    assert spec.load()["info"]["version"] == "2.3.0"


def test_every_route_is_a_spec_operation() -> None:
    operations = {(m, spec.shape(p)) for m, p in spec.operations()}
    invented = {(m, t) for m, t in _routes() if (m, spec.shape(t)) not in operations}
    assert not invented


def test_doc_lists_exactly_the_implemented_routes() -> None:
    implemented = set(_doc_table("Implemented"))
    assert implemented == _routes()


def test_every_spec_operation_is_implemented_or_omitted_with_a_reason() -> None:
    implemented, omitted = _doc_table("Implemented"), _doc_table("Omitted")
    assert not set(implemented) & set(omitted)
    assert set(implemented) | set(omitted) == set(spec.operations())
    assert all(cells and cells[0] for cells in omitted.values()), "an omission without a reason"
    assert all(cells and cells[0] for cells in implemented.values()), "a permission left out"


async def test_omitted_operations_answer_no_such_endpoint(api: httpx.AsyncClient) -> None:
    for method, template in _doc_table("Omitted"):
        path = template.replace("{", "x").replace("}", "x")
        response = await api.request(method, path)
        assert response.status_code == 404, (method, path)
        assert "no such endpoint" in response.json()["errors"][0]["message"], (method, path)
