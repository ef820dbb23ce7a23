"""One pass (handlers/kinds.py): nothing is acted on before our finalizer guards the
object's deletion (kopf adds it in parallel with the first pass)."""

from __future__ import annotations

import types
from typing import Any

import pytest

from astra_operator.handlers import kinds
from astra_operator.handlers import operator as op
from astra_operator.kube import api as kube_api
from astra_operator.reconcilers import database
from astra_operator.resources import database as db
from tests.reconcilers.fakes import FakeAstra, body, deps

SPEC = {"cloudProvider": "GCP", "region": "us-east1"}


class _Objects:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    async def get(self, ref: kube_api.ObjectRef) -> dict[str, Any]:
        return self.raw


def _runtime(raw: dict[str, Any], astra: FakeAstra) -> Any:
    return types.SimpleNamespace(kube=_Objects(raw), deps=deps(astra))


def _registration() -> kinds._Registration:
    return kinds._Registration(database.KIND, database.parse, db.AstraDatabaseStatus)


async def test_a_new_object_without_our_finalizer_waits_and_creates_nothing() -> None:
    astra = FakeAstra()
    raw = body(SPEC)
    result = await _registration().one_pass(
        _runtime(raw, astra), kube_api.ObjectRef(db.PLURAL, "team", "orders"), 0
    )
    assert result == (kinds.FINALIZER_WAIT, 0)
    assert astra.calls == []


async def test_with_the_finalizer_the_pass_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    astra = FakeAstra()
    raw = body(SPEC)
    raw["metadata"]["finalizers"] = [op.FINALIZER]
    monkeypatch.setattr(kinds, "_post", lambda b, outcome: None)  # no kopf to post Events to
    result = await _registration().one_pass(
        _runtime(raw, astra), kube_api.ObjectRef(db.PLURAL, "team", "orders"), 0
    )
    assert result is not None
    assert "create" in " ".join(astra.calls)
