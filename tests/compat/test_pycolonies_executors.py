"""Executors and users through pycolonies (spec §2.3, §2.4)."""
from __future__ import annotations

import secrets

import pytest
from crypto import Crypto
from pycolonies import ColoniesConnectionError

PENDING, APPROVED, REJECTED, UNREGISTERED = 0, 1, 2, 3


def executor_dict(colonyname: str, executortype: str = "pyc-exec") -> tuple[dict, str]:
    crypto = Crypto()
    prvkey = crypto.prvkey()
    executor = {
        "executorname": f"exe-{secrets.token_hex(4)}",
        "executorid": crypto.id(prvkey),
        "colonyname": colonyname,
        "executortype": executortype,
    }
    return executor, prvkey


def states_by_name(client, colony, prvkey) -> dict[str, int]:
    return {e["executorname"]: e["state"] for e in client.list_executors(colony.name, prvkey)}


# --- executors ------------------------------------------------------------------------------
def test_added_executor_is_pending_whatever_state_the_client_sends(client, colony):
    executor, _ = executor_dict(colony.name)
    executor["state"] = APPROVED
    added = client.add_executor(executor, colony.owner_prvkey)
    assert added["executorname"] == executor["executorname"]
    assert added["executorid"] == executor["executorid"]
    assert added["colonyname"] == colony.name
    assert added["executortype"] == "pyc-exec"
    assert added["state"] == PENDING


def test_approve_then_reject_changes_the_executor_state(client, colony):
    member = colony.add_executor()
    executor, _ = executor_dict(colony.name)
    client.add_executor(executor, colony.owner_prvkey)
    name = executor["executorname"]

    client.approve_executor(colony.name, name, colony.owner_prvkey)
    assert states_by_name(client, colony, member.prvkey)[name] == APPROVED
    assert client.get_executor(colony.name, name, member.prvkey)["state"] == APPROVED

    client.reject_executor(colony.name, name, colony.owner_prvkey)
    assert states_by_name(client, colony, member.prvkey)[name] == REJECTED


def test_list_executors_returns_every_executor_of_the_colony(client, colony):
    first = colony.add_executor()
    second = colony.add_executor(approve=False)
    listed = client.list_executors(colony.name, first.prvkey)
    assert {e["executorname"] for e in listed} == {first.name, second.name}
    assert {e["executorid"] for e in listed} == {first.id, second.id}


def test_get_executor_returns_the_named_executor(client, colony):
    member = colony.add_executor(executortype="special")
    got = client.get_executor(colony.name, member.name, member.prvkey)
    assert got["executorname"] == member.name
    assert got["executorid"] == member.id
    assert got["executortype"] == "special"
    assert got["colonyname"] == colony.name


def test_get_executor_of_unknown_name_fails_with_not_found(client, colony):
    member = colony.add_executor()
    with pytest.raises(ColoniesConnectionError, match="not found"):
        client.get_executor(colony.name, "no-such-executor", member.prvkey)


def test_removed_executor_is_unregistered_and_loses_access(client, colony):
    keeper = colony.add_executor()
    leaver = colony.add_executor()
    client.remove_executor(colony.name, leaver.name, colony.owner_prvkey)
    assert states_by_name(client, colony, keeper.prvkey)[leaver.name] == UNREGISTERED
    with pytest.raises(ColoniesConnectionError, match="not a member"):
        client.get_colony(colony.name, leaver.prvkey)


def test_only_the_colony_owner_may_add_approve_reject_or_remove_executors(client, colony):
    member = colony.add_executor()
    executor, _ = executor_dict(colony.name)
    with pytest.raises(ColoniesConnectionError, match="Access denied"):
        client.add_executor(executor, member.prvkey)
    with pytest.raises(ColoniesConnectionError, match="Access denied"):
        client.approve_executor(colony.name, member.name, member.prvkey)
    with pytest.raises(ColoniesConnectionError, match="Access denied"):
        client.reject_executor(colony.name, member.name, member.prvkey)
    with pytest.raises(ColoniesConnectionError, match="Access denied"):
        client.remove_executor(colony.name, member.name, member.prvkey)
    assert client.get_executor(colony.name, member.name, member.prvkey)["state"] == APPROVED


def test_adding_an_executor_with_an_existing_name_is_refused(client, colony):
    member = colony.add_executor()
    executor, _ = executor_dict(colony.name)
    executor["executorname"] = member.name
    with pytest.raises(ColoniesConnectionError, match="already exists"):
        client.add_executor(executor, colony.owner_prvkey)


def test_pending_executor_cannot_get_assignments(client, colony):
    executor, prvkey = executor_dict(colony.name)
    client.add_executor(executor, colony.owner_prvkey)
    with pytest.raises(ColoniesConnectionError, match="not approved"):
        client.assign(colony.name, 1, prvkey)


def test_rejected_executor_cannot_get_assignments(client, colony):
    member = colony.add_executor()
    client.reject_executor(colony.name, member.name, colony.owner_prvkey)
    with pytest.raises(ColoniesConnectionError, match="not approved"):
        client.assign(colony.name, 1, member.prvkey)


# --- users ----------------------------------------------------------------------------------
def user_dict(colonyname: str) -> tuple[dict, str]:
    crypto = Crypto()
    prvkey = crypto.prvkey()
    name = f"user-{secrets.token_hex(4)}"
    return {"colonyname": colonyname, "userid": crypto.id(prvkey), "name": name, "email": f"{name}@example.com", "phone": "+4612345"}, prvkey


def test_colony_owner_adds_a_user_and_it_is_echoed(client, colony):
    user, _ = user_dict(colony.name)
    assert client.add_user(user, colony.owner_prvkey) == user


def test_get_users_lists_every_user_of_the_colony(client, colony):
    first, first_key = user_dict(colony.name)
    second, _ = user_dict(colony.name)
    client.add_user(first, colony.owner_prvkey)
    client.add_user(second, colony.owner_prvkey)
    listed = client.get_users(colony.name, first_key)
    assert sorted(listed, key=lambda u: u["name"]) == sorted([first, second], key=lambda u: u["name"])


def test_removed_user_is_no_longer_listed_nor_a_member(client, colony):
    keeper, keeper_key = user_dict(colony.name)
    leaver, leaver_key = user_dict(colony.name)
    client.add_user(keeper, colony.owner_prvkey)
    client.add_user(leaver, colony.owner_prvkey)
    client.remove_user(colony.name, leaver["name"], colony.owner_prvkey)
    assert [u["name"] for u in client.get_users(colony.name, keeper_key)] == [keeper["name"]]
    with pytest.raises(ColoniesConnectionError, match="not a member"):
        client.get_colony(colony.name, leaver_key)


def test_only_the_colony_owner_may_add_or_remove_users(client, colony):
    member, member_key = user_dict(colony.name)
    client.add_user(member, colony.owner_prvkey)
    other, _ = user_dict(colony.name)
    with pytest.raises(ColoniesConnectionError, match="Access denied"):
        client.add_user(other, member_key)
    with pytest.raises(ColoniesConnectionError, match="Access denied"):
        client.remove_user(colony.name, member["name"], member_key)
    assert [u["name"] for u in client.get_users(colony.name, member_key)] == [member["name"]]


def test_adding_a_user_with_an_existing_name_is_refused(client, colony):
    user, _ = user_dict(colony.name)
    client.add_user(user, colony.owner_prvkey)
    again, _ = user_dict(colony.name)
    again["name"] = user["name"]
    with pytest.raises(ColoniesConnectionError, match="already exists"):
        client.add_user(again, colony.owner_prvkey)


def test_user_can_submit_but_cannot_be_assigned(client, colony):
    from pycolonies import func_spec

    user, user_key = user_dict(colony.name)
    client.add_user(user, colony.owner_prvkey)
    process = client.submit_func_spec(func_spec("f", [], colony.name, "test"), user_key)
    assert process.initiatorname == user["name"]
    with pytest.raises(ColoniesConnectionError, match="Access denied"):
        client.assign(colony.name, 1, user_key)
