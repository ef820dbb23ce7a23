"""The access-list plan: Astra's list against spec.accessList, compared as a set of CIDRs."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from astra_operator.astra import models
from astra_operator.logic import access_list as logic
from astra_operator.resources import database as db


def desired(*addresses: Any, enabled: bool = True) -> db.AccessList:
    items = [a if isinstance(a, dict) else {"address": a} for a in addresses]
    return db.AccessList.model_validate({"enabled": enabled, "addresses": items})


def held(*entries: tuple[str, bool, str], enabled: bool = True) -> db.ObservedAccessList:
    wire = models.AccessList.model_validate(
        {
            "addresses": [{"address": a, "enabled": e, "description": d} for a, e, d in entries],
            "configurations": {"accessListEnabled": enabled},
        }
    )
    return logic.observed(wire)


def test_a_bare_address_is_its_slash_32() -> None:
    assert logic.cidr("203.0.113.7") == "203.0.113.7/32"
    assert logic.cidr("198.51.100.0/24") == "198.51.100.0/24"
    plan = logic.plan(desired("203.0.113.7"), held(("203.0.113.7/32", True, "")))
    assert plan.empty


def test_missing_addresses_are_added_as_cidrs() -> None:
    plan = logic.plan(desired("203.0.113.7", "198.51.100.0/24"), held())
    assert [a.address for a in plan.add] == ["198.51.100.0/24", "203.0.113.7/32"]
    assert not plan.remove
    assert not plan.update
    assert plan.enable is None


def test_extra_entries_are_removed_one_by_one_as_astra_writes_them() -> None:
    plan = logic.plan(desired(), held(("10.0.0.1", True, ""), ("10.0.0.0/8", True, "")))
    assert plan.remove == ("10.0.0.0/8", "10.0.0.1")


def test_a_changed_description_or_flag_is_an_update_of_astras_entry() -> None:
    spec = desired({"address": "10.0.0.1", "description": "vpn", "enabled": False})
    plan = logic.plan(spec, held(("10.0.0.1", True, "")))
    [update] = plan.update
    assert (update.address, update.enabled, update.description) == ("10.0.0.1", False, "vpn")
    assert not plan.add
    assert not plan.remove


def test_enforcement_is_toggled_only_when_it_differs() -> None:
    assert logic.plan(desired(enabled=False), held(enabled=True)).enable is False
    assert logic.plan(desired(enabled=True), held(enabled=True)).enable is None


def test_no_list_at_all_reads_as_empty_and_not_enforced() -> None:
    assert logic.observed(None) == db.ObservedAccessList(enabled=False)
    assert logic.plan(desired(enabled=True), logic.observed(None)).enable is True


def test_held_removals_are_named_and_not_planned() -> None:
    have = held(("10.0.0.1", True, ""))
    assert logic.plan(desired(), have, removals=False).empty
    assert logic.held_back(desired(), have) == ["access-list address 10.0.0.1"]


def test_the_plan_in_words_names_each_address() -> None:
    plan = logic.plan(desired("1.2.3.4", enabled=False), held(("5.6.7.8/32", True, "")))
    assert plan.describe() == "add 1.2.3.4/32, remove 5.6.7.8/32, stop enforcing the list"


@pytest.mark.parametrize(
    "address", ["256.1.1.1", "10.0.0.1/33", "10.0.0", "fe80::1", "10.0.0.1/", " 10.0.0.1"]
)
def test_the_model_refuses_what_is_not_ipv4(address: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        desired(address)
