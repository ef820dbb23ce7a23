"""AstraClient against the real simulator: organization, roles, tokens and access lists."""

from __future__ import annotations

import contextlib
import uuid

import pytest

from astra_operator.astra import client as astra_client
from astra_operator.astra import errors, models, retry
from tests.client import simtools


def _policy(org_id: str, *actions: str) -> models.Policy:
    return models.Policy(
        description="test role",
        resources=[f"drn:astra:org:{org_id}", f"drn:astra:org:{org_id}:db:*"],
        actions=list(actions),
    )


async def test_current_organization_matches_state(
    astra: astra_client.AstraClient, admin: simtools.Admin
) -> None:
    org = await astra.current_organization()
    assert org.id == (await admin.state())["orgId"]


async def test_role_crud(astra: astra_client.AstraClient) -> None:
    org = await astra.current_organization()
    builtin = await astra.list_roles()
    assert builtin
    assert all(r.id and r.name for r in builtin)

    name = f"ops-{uuid.uuid4().hex[:6]}"
    role = await astra.create_role(name, _policy(org.id, "org-db-view"))
    assert role.name == name
    assert role.policy is not None
    assert role.policy.actions == ["org-db-view"]
    fetched = await astra.get_role(role.id)
    assert fetched.id == role.id
    assert fetched.policy == role.policy
    assert role.id in {r.id for r in await astra.list_roles()}

    await astra.update_role(role.id, name + "-v2", _policy(org.id, "org-db-view", "db-cql"))
    updated = await astra.get_role(role.id)
    assert updated.name == name + "-v2"
    assert updated.policy is not None
    assert updated.policy.actions == ["org-db-view", "db-cql"]

    await astra.delete_role(role.id)
    with pytest.raises(errors.NotFound):
        await astra.get_role(role.id)
    assert role.id not in {r.id for r in await astra.list_roles()}


async def test_token_create_list_use_revoke(
    sim: simtools.Sim, astra: astra_client.AstraClient
) -> None:
    org = await astra.current_organization()
    role = await astra.create_role(f"tok-{uuid.uuid4().hex[:6]}", _policy(org.id, "org-db-view"))
    created = await astra.create_token([role.id], org_id=org.id)
    assert created.roles == [role.id]
    assert created.token is not None
    minted = created.token.get_secret_value()
    assert minted.startswith("AstraCS:")
    assert minted not in repr(created)
    listed = {t.client_id: t for t in await astra.list_tokens()}
    assert listed[created.client_id].roles == [role.id]

    policy = retry.RetryPolicy(max_attempts=1)
    async with astra_client.AstraClient(sim.url, retry=policy) as other:
        assert (await other.current_organization(token=minted)).id == org.id
        assert await other.list_databases(token=minted) == []
        await astra.revoke_token(created.client_id)
        assert created.client_id not in {t.client_id for t in await astra.list_tokens()}
        with pytest.raises(errors.Unauthorized):
            await other.list_databases(token=minted)


async def test_token_description_is_sent_and_listed(astra: astra_client.AstraClient) -> None:
    org = await astra.current_organization()
    role = await astra.create_role(f"desc-{uuid.uuid4().hex[:6]}", _policy(org.id, "org-db-view"))
    created = await astra.create_token([role.id], description="app [astra-operator ns/a uid]")
    try:
        listed = {t.client_id: t for t in await astra.list_tokens()}
        assert listed[created.client_id].description == "app [astra-operator ns/a uid]"
    finally:
        await astra.revoke_token(created.client_id)


async def test_access_list_add_replace_delete(astra: astra_client.AstraClient) -> None:
    db_id = await simtools.active_database(astra)
    try:
        initial = (await astra.get_access_list(db_id)).addresses
    except errors.NotFound:
        initial = []
    assert initial == []

    await astra.add_access_list_addresses(
        db_id,
        [
            models.AddressRequest(address="1.2.3.4/32", description="laptop"),
            models.AddressRequest(address="10.0.0.0/8", enabled=False),
            models.AddressRequest(address="192.168.1.0/24"),
        ],
    )
    acl = await astra.get_access_list(db_id)
    assert acl.database_id in (None, db_id)
    by_address = {a.address: a for a in acl.addresses}
    assert set(by_address) == {"1.2.3.4/32", "10.0.0.0/8", "192.168.1.0/24"}
    assert by_address["1.2.3.4/32"].description == "laptop"
    assert by_address["10.0.0.0/8"].enabled is False

    await astra.delete_access_list_addresses(db_id, ["1.2.3.4/32", "10.0.0.0/8"])
    remaining = (await astra.get_access_list(db_id)).addresses
    assert [a.address for a in remaining] == ["192.168.1.0/24"]

    await astra.replace_access_list(
        db_id, [models.AddressRequest(address="8.8.8.8/32")], enabled=True
    )
    replaced = await astra.get_access_list(db_id)
    assert [a.address for a in replaced.addresses] == ["8.8.8.8/32"]
    assert replaced.enabled is True

    await astra.update_access_list(
        db_id,
        [models.AddressRequest(address="8.8.8.8/32", enabled=False, description="dns")],
        enabled=False,
    )
    listed = {a.database_id: a for a in await astra.list_access_lists()}
    assert [a.address for a in listed[db_id].addresses] == ["8.8.8.8/32"]
    patched = await astra.get_access_list(db_id)
    [entry] = patched.addresses
    assert (entry.address, entry.enabled, entry.description) == ("8.8.8.8/32", False, "dns")
    assert patched.enabled is False

    await astra.delete_access_list(db_id)
    with contextlib.suppress(errors.NotFound):
        assert (await astra.get_access_list(db_id)).addresses == []


async def test_access_list_of_unknown_database(astra: astra_client.AstraClient) -> None:
    with pytest.raises(errors.NotFound):
        await astra.get_access_list(str(uuid.uuid4()))
