"""Colonies through pycolonies: add, list, get, remove (spec §2.2)."""
from __future__ import annotations

import secrets

import pytest
from crypto import Crypto
from pycolonies import ColoniesConnectionError

from colonies import dev


def new_colony(client) -> tuple[str, str, str]:
    crypto = Crypto()
    prvkey = crypto.prvkey()
    colonyid = crypto.id(prvkey)
    name = f"pyc-{secrets.token_hex(5)}"
    return name, prvkey, colonyid


def test_server_owner_adds_a_colony_and_gets_it_back(client):
    name, _, colonyid = new_colony(client)
    added = client.add_colony({"colonyid": colonyid, "name": name}, dev.SERVER_PRVKEY)
    try:
        assert added == {"colonyid": colonyid, "name": name}
    finally:
        client.del_colony(name, dev.SERVER_PRVKEY)


def test_list_colonies_contains_added_colony_and_not_removed_one(client):
    name, _, colonyid = new_colony(client)
    client.add_colony({"colonyid": colonyid, "name": name}, dev.SERVER_PRVKEY)
    listed = client.list_colonies(dev.SERVER_PRVKEY)
    assert {"colonyid": colonyid, "name": name} in listed
    client.del_colony(name, dev.SERVER_PRVKEY)
    assert name not in [c["name"] for c in client.list_colonies(dev.SERVER_PRVKEY)]


def test_removed_colony_cannot_be_fetched(client, colony):
    member = colony.add_user()
    name, _, colonyid = new_colony(client)
    client.add_colony({"colonyid": colonyid, "name": name}, dev.SERVER_PRVKEY)
    client.del_colony(name, dev.SERVER_PRVKEY)
    with pytest.raises(ColoniesConnectionError, match="not a member"):
        client.get_colony(name, member.prvkey)


def test_member_executor_gets_its_colony(client, colony):
    executor = colony.add_executor()
    got = client.get_colony(colony.name, executor.prvkey)
    assert got == {"colonyid": colony.colonyid, "name": colony.name}


def test_member_user_gets_its_colony(client, colony):
    user = colony.add_user()
    assert client.get_colony(colony.name, user.prvkey)["colonyid"] == colony.colonyid


def test_non_member_cannot_get_colony(client, colony):
    stranger = Crypto().prvkey()
    with pytest.raises(ColoniesConnectionError, match="not a member"):
        client.get_colony(colony.name, stranger)


def test_only_server_owner_may_add_a_colony(client, colony):
    name, prvkey, colonyid = new_colony(client)
    with pytest.raises(ColoniesConnectionError, match="not server owner"):
        client.add_colony({"colonyid": colonyid, "name": name}, colony.owner_prvkey)
    with pytest.raises(ColoniesConnectionError, match="not server owner"):
        client.add_colony({"colonyid": colonyid, "name": name}, prvkey)


def test_only_server_owner_may_list_or_remove_colonies(client, colony):
    with pytest.raises(ColoniesConnectionError, match="not server owner"):
        client.list_colonies(colony.owner_prvkey)
    with pytest.raises(ColoniesConnectionError, match="not server owner"):
        client.del_colony(colony.name, colony.owner_prvkey)
    assert colony.name in [c["name"] for c in client.list_colonies(dev.SERVER_PRVKEY)]


def test_adding_a_colony_with_an_existing_name_is_refused(client, colony):
    _, _, colonyid = new_colony(client)
    with pytest.raises(ColoniesConnectionError, match="already exists"):
        client.add_colony({"colonyid": colonyid, "name": colony.name}, dev.SERVER_PRVKEY)


def test_adding_a_colony_with_a_short_id_is_refused(client):
    name, _, _ = new_colony(client)
    with pytest.raises(ColoniesConnectionError, match="colonyid"):
        client.add_colony({"colonyid": "abc", "name": name}, dev.SERVER_PRVKEY)
    assert name not in [c["name"] for c in client.list_colonies(dev.SERVER_PRVKEY)]


def test_removing_a_colony_removes_its_members_access(client):
    name, owner_prvkey, colonyid = new_colony(client)
    client.add_colony({"colonyid": colonyid, "name": name}, dev.SERVER_PRVKEY)
    crypto = Crypto()
    user_prvkey = crypto.prvkey()
    user = {"colonyname": name, "userid": crypto.id(user_prvkey), "name": "doomed", "email": "", "phone": ""}
    client.add_user(user, owner_prvkey)
    assert client.get_colony(name, user_prvkey)["name"] == name
    client.del_colony(name, dev.SERVER_PRVKEY)
    with pytest.raises(ColoniesConnectionError, match="not a member"):
        client.get_colony(name, user_prvkey)
