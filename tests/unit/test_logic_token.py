"""AstraToken: the models, the generated CRD's promises, and the pure decisions (logic/token.py).

The CEL rules are exercised against a real apiserver in tests/integration/test_token_lifecycle.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from astra_operator.astra import models
from astra_operator.logic import token as logic
from astra_operator.resources import crdgen
from astra_operator.resources import token as tk

T0 = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
ROLE_ID = "0b5e2c39-6a8f-4d2e-9a51-1c3f5e7d9b20"
MARK = logic.marker("team", "app", "u1")


def spec(**fields: Any) -> tk.AstraTokenSpec:
    return tk.AstraTokenSpec.model_validate({"roles": [{"roleID": ROLE_ID}], **fields})


def test_minimal_spec_defaults() -> None:
    parsed = spec()
    assert parsed.secret_name is None
    assert logic.secret_name(parsed, "app") == "app-token"
    assert logic.grace_period(parsed) == timedelta(minutes=10)
    assert logic.rotation_every(parsed) is None
    assert tk.Rotation().grace_period == "10m"


def test_crd_names_columns_and_rules() -> None:
    built = crdgen.build_crd(tk.DEFINITION)
    names = built["spec"]["names"]  # type: ignore[index]
    assert names["shortNames"] == ["atoken"]  # type: ignore[index]
    assert names["categories"] == ["astra"]  # type: ignore[index]
    [version] = built["spec"]["versions"]  # type: ignore[index]
    columns = [(c["name"], c.get("priority", 0)) for c in version["additionalPrinterColumns"]]
    assert columns == [("READY", 0), ("SYNCED", 0), ("CLIENT ID", 1), ("AGE", 0)]
    schema = version["schema"]["openAPIV3Schema"]["properties"]
    item = schema["spec"]["properties"]["roles"]["items"]
    assert "exactly one of roleRef, roleID and builtinRole" in str(item["x-kubernetes-validations"])
    every = schema["spec"]["properties"]["rotation"]["properties"]["every"]
    assert "pattern" not in every  # a sentence, not a regex dump
    assert "720h" in every["x-kubernetes-validations"][0]["message"]
    status = schema["status"]["properties"]
    assert {"clientId", "roles", "issuedAt", "nextRotationAt", "pendingRevocations"} <= set(status)
    assert not {"token", "clientSecret", "secret"} & set(status)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("720h", timedelta(hours=720)),
        ("10m", timedelta(minutes=10)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("90s", timedelta(seconds=90)),
        ("2h0m5s", timedelta(hours=2, seconds=5)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert logic.duration(text) == expected
    spec(rotation={"every": text})  # the model takes it too


@pytest.mark.parametrize("text", ["", "h", "10", "1d", "30m1h", "1.5h", " 1h", "-1h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        logic.duration(text)
    with pytest.raises(ValidationError):
        spec(rotation={"every": text})


def test_description_carries_the_marker_and_only_this_objects_marker_matches() -> None:
    assert logic.description(spec(), MARK) == f"[{MARK}]"
    assert logic.description(spec(description="for the app"), MARK) == f"for the app [{MARK}]"

    def info(description: str | None) -> models.TokenInfo:
        return models.TokenInfo(client_id="c", description=description)

    assert logic.carries(info(f"x [{MARK}]"), MARK)
    assert not logic.carries(info(None), MARK)
    assert not logic.carries(info(f"[{logic.marker('team', 'app', 'u2')}]"), MARK)
    assert not logic.carries(info(f"[{MARK}] edited"), MARK)


def test_roles_resolve_to_sorted_unique_ids() -> None:
    parsed = spec(
        roles=[
            {"roleRef": {"name": "readers"}},
            {"builtinRole": "RO User"},
            {"roleID": ROLE_ID},
            {"roleID": ROLE_ID},
        ]
    )
    assert logic.role_refs(parsed) == ("readers",)
    assert logic.builtin_names(parsed) == ("RO User",)
    ids = logic.role_ids(parsed, {"readers": "b"}, {"RO User": "a"})
    assert ids == tuple(sorted({"a", "b", ROLE_ID}))
    found, missing = logic.resolve_builtin(
        ["RO User", "UI View Only"], [models.Role(id="a", name="RO User")]
    )
    assert (found, missing) == ({"RO User": "a"}, ["UI View Only"])


def view(client_id: str = "c1", *, owned: bool = True, ok: bool = True) -> logic.SecretView:
    return logic.SecretView(owned=owned, client_id=client_id, fingerprint_ok=ok)


STATUS = tk.AstraTokenStatus(client_id="c1", roles=("r",), rotate_request="1")


@pytest.mark.parametrize(
    ("changes", "secret", "request_", "now", "expected"),
    [
        ({}, view(), "1", T0, []),
        ({}, view(), None, T0, []),
        ({"roles": ("r", "s")}, view(), "1", T0, ["roles changed"]),
        ({}, view(), "2", T0, ["annotation"]),
        ({"next_rotation_at": T0}, view(), "1", T0, ["every is up"]),
        ({"next_rotation_at": T0}, view(), "1", T0 - timedelta(seconds=1), []),
        ({}, None, "1", T0, ["deleted"]),
        ({}, view(ok=False), "1", T0, ["edited"]),
        ({}, view("c2"), "1", T0, ["edited"]),
    ],
)
def test_rotation_reasons(
    changes: dict[str, Any],
    secret: logic.SecretView | None,
    request_: str | None,
    now: datetime,
    expected: list[str],
) -> None:
    status = STATUS.model_copy(update=changes)
    found = logic.rotation_reasons(
        status, roles=("r",), rotate_request=request_, secret=secret, now=now
    )
    assert len(found) == len(expected)
    for reason, words in zip(found, expected, strict=True):
        assert words in reason


def test_secret_states() -> None:
    assert logic.secret_state(None) is logic.SecretState.MISSING
    assert logic.secret_state(view(owned=False)) is logic.SecretState.FOREIGN
    assert logic.secret_state(view(ok=False)) is logic.SecretState.EDITED
    assert logic.secret_state(view()) is logic.SecretState.INTACT


def test_fingerprint_follows_the_data_and_not_the_order() -> None:
    data = logic.secret_data("c", "s" * 40, "AstraCS:c:" + "0" * 64)
    assert list(data) == ["clientId", "clientSecret", "token"]
    assert logic.fingerprint(data) == logic.fingerprint(dict(reversed(data.items())))
    assert logic.fingerprint(data) != logic.fingerprint({**data, "token": "other"})
    assert "s" * 40 not in logic.fingerprint(data)


def test_due_strays_and_the_next_pass() -> None:
    pending = (
        tk.PendingRevocation(client_id="old", revoke_at=T0),
        tk.PendingRevocation(client_id="older", revoke_at=T0 + timedelta(seconds=20)),
    )
    status = STATUS.model_copy(update={"pending_revocations": pending})
    ready, waiting = logic.due(status, T0)
    assert ready == ["old"]
    assert [r.client_id for r in waiting] == ["older"]
    tokens = [
        models.TokenInfo(client_id=c, description=d)
        for c, d in [("c1", f"[{MARK}]"), ("x", f"[{MARK}]"), ("y", "someone else's")]
    ]
    assert logic.strays(tokens, MARK, {"c1"}) == ["x"]
    assert logic.next_pass(status, T0, 60, floor=1) == 1
    later = status.model_copy(update={"pending_revocations": waiting})
    assert logic.next_pass(later, T0 + timedelta(seconds=5), 60, floor=1) == 15
    assert logic.next_pass(STATUS, T0, 60, floor=1) == 60


def test_waiting_names_each_role() -> None:
    update = logic.waiting_for_roles(["b"], ["a"])
    assert update.reason == "WaitingForRole"
    assert "a (no status.roleID yet)" in update.message
    assert "b (not found in this namespace)" in update.message
