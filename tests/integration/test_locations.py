"""Locations (spec §2.3) against a real node, through our SDK and the raw wire client."""
from __future__ import annotations

import secrets

import pytest

from colonies import crypto, dev
from colonies.client import AsyncClient
from colonies.wire import RPCError
from tests.support.rpc import RPCFailure, call


def _owner(colony) -> AsyncClient:
    return AsyncClient(colony.url, colony.owner_prvkey)


async def test_owner_adds_a_location_and_the_node_makes_up_its_id(colony):
    async with _owner(colony) as owner:
        added = await owner.add_location(colony.name, "lab", description="basement", long=18.07, lat=59.33)
        assert len(added.locationid) == 64
        assert (added.name, added.colonyname, added.description) == ("lab", colony.name, "basement")
        assert (added.long, added.lat) == (18.07, 59.33)
        assert await owner.get_location(colony.name, "lab") == added


async def test_location_keeps_an_id_given_by_the_client(colony):
    locationid = crypto.random_id()
    async with _owner(colony) as owner:
        added = await owner.add_location(colony.name, "lab", locationid=locationid)
    assert added.locationid == locationid


async def test_locations_are_listed_by_name_for_members_and_the_owner(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with _owner(colony) as owner:
        await owner.add_location(colony.name, "zurich")
        await owner.add_location(colony.name, "athens")
        assert [loc.name for loc in await owner.list_locations(colony.name)] == ["athens", "zurich"]
    for member in (executor, user):
        async with AsyncClient(colony.url, member.prvkey) as client:
            assert [loc.name for loc in await client.list_locations(colony.name)] == ["athens", "zurich"]
            assert (await client.get_location(colony.name, "athens")).name == "athens"


async def test_pending_executor_may_read_locations(colony):
    pending = colony.add_executor(approve=False)
    async with _owner(colony) as owner:
        await owner.add_location(colony.name, "lab")
    async with AsyncClient(colony.url, pending.prvkey) as client:
        assert (await client.get_location(colony.name, "lab")).name == "lab"


async def test_a_colony_without_locations_lists_none(colony):
    async with _owner(colony) as owner:
        assert await owner.list_locations(colony.name) == []


async def test_duplicate_location_name_in_a_colony_is_a_400(colony):
    async with _owner(colony) as owner:
        await owner.add_location(colony.name, "lab")
        with pytest.raises(RPCError) as err:
            await owner.add_location(colony.name, "lab")
    assert err.value.status == 400 and "already exists" in err.value.message


async def test_duplicate_location_id_is_a_400(colony):
    locationid = crypto.random_id()
    async with _owner(colony) as owner:
        await owner.add_location(colony.name, "one", locationid=locationid)
        with pytest.raises(RPCError) as err:
            await owner.add_location(colony.name, "two", locationid=locationid)
    assert err.value.status == 400


def test_same_location_name_may_exist_in_two_colonies(colony, node):
    other_owner = crypto.generate_private_key()
    other = f"colony-{secrets.token_hex(6)}"
    call(node.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": crypto.id_from_private_key(other_owner), "name": other}}, dev.SERVER_PRVKEY)
    try:
        for name, key in ((colony.name, colony.owner_prvkey), (other, other_owner)):
            location = {"name": "lab", "colonyname": name, "description": "", "long": 0, "lat": 0, "locationid": ""}
            call(node.url, {"msgtype": "addlocationmsg", "location": location}, key)
    finally:
        call(node.url, {"msgtype": "removecolonymsg", "colonyname": other}, dev.SERVER_PRVKEY)


@pytest.mark.parametrize(
    "location, message",
    [
        ({"name": "", "colonyname": None}, "location name"),
        ({"name": "x" * 300, "colonyname": None}, "location name"),
        ({"name": "lab", "colonyname": None, "locationid": "not-hex"}, "locationid"),
    ],
)
def test_invalid_location_is_a_400(colony, location, message):
    location = {**location, "colonyname": colony.name}
    with pytest.raises(RPCFailure) as err:
        call(colony.url, {"msgtype": "addlocationmsg", "location": location}, colony.owner_prvkey)
    assert err.value.status == 400 and message in err.value.message


def test_missing_location_object_is_a_400(colony):
    with pytest.raises(RPCFailure) as err:
        call(colony.url, {"msgtype": "addlocationmsg"}, colony.owner_prvkey)
    assert err.value.status == 400


async def test_getting_a_missing_location_is_a_404(colony):
    async with _owner(colony) as owner:
        with pytest.raises(RPCError) as err:
            await owner.get_location(colony.name, "nowhere")
    assert err.value.status == 404


async def test_owner_removes_a_location(colony):
    async with _owner(colony) as owner:
        await owner.add_location(colony.name, "lab")
        await owner.remove_location(colony.name, "lab")
        assert await owner.list_locations(colony.name) == []
        with pytest.raises(RPCError) as err:
            await owner.remove_location(colony.name, "lab")
    assert err.value.status == 404


def test_removing_a_colony_removes_its_locations(node):
    owner = crypto.generate_private_key()
    name = f"colony-{secrets.token_hex(6)}"
    colony = {"colonyid": crypto.id_from_private_key(owner), "name": name}
    location = {"name": "lab", "colonyname": name, "description": "", "long": 0, "lat": 0, "locationid": ""}
    call(node.url, {"msgtype": "addcolonymsg", "colony": colony}, dev.SERVER_PRVKEY)
    call(node.url, {"msgtype": "addlocationmsg", "location": location}, owner)
    call(node.url, {"msgtype": "removecolonymsg", "colonyname": name}, dev.SERVER_PRVKEY)
    call(node.url, {"msgtype": "addcolonymsg", "colony": colony}, dev.SERVER_PRVKEY)
    try:
        assert call(node.url, {"msgtype": "getlocationsmsg", "colonyname": name}, owner) == []
        # the name is free again: the old row is gone, not just hidden
        call(node.url, {"msgtype": "addlocationmsg", "location": location}, owner)
    finally:
        call(node.url, {"msgtype": "removecolonymsg", "colonyname": name}, dev.SERVER_PRVKEY)


# --- authorization ------------------------------------------------------------------------
async def test_only_the_colony_owner_adds_and_removes_locations(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with _owner(colony) as owner:
        await owner.add_location(colony.name, "lab")
    for key in (executor.prvkey, user.prvkey, dev.SERVER_PRVKEY, crypto.generate_private_key()):
        async with AsyncClient(colony.url, key) as client:
            with pytest.raises(RPCError) as err:
                await client.add_location(colony.name, "other")
            assert err.value.status == 403
            with pytest.raises(RPCError) as err:
                await client.remove_location(colony.name, "lab")
            assert err.value.status == 403
    async with _owner(colony) as owner:
        assert [loc.name for loc in await owner.list_locations(colony.name)] == ["lab"]


async def test_non_members_may_not_read_locations(colony):
    async with _owner(colony) as owner:
        await owner.add_location(colony.name, "lab")
    for key in (dev.SERVER_PRVKEY, crypto.generate_private_key()):
        async with AsyncClient(colony.url, key) as client:
            with pytest.raises(RPCError) as err:
                await client.list_locations(colony.name)
            assert err.value.status == 403
            with pytest.raises(RPCError) as err:
                await client.get_location(colony.name, "lab")
            assert err.value.status == 403


def test_members_of_another_colony_may_not_read_locations(colony, node):
    other_owner = crypto.generate_private_key()
    other = f"colony-{secrets.token_hex(6)}"
    call(node.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": crypto.id_from_private_key(other_owner), "name": other}}, dev.SERVER_PRVKEY)
    try:
        user_key = crypto.generate_private_key()
        user = {"colonyname": other, "userid": crypto.id_from_private_key(user_key), "name": "u", "email": "", "phone": ""}
        call(node.url, {"msgtype": "addusermsg", "user": user}, other_owner)
        for key in (user_key, other_owner):
            with pytest.raises(RPCFailure) as err:
                call(node.url, {"msgtype": "getlocationsmsg", "colonyname": colony.name}, key)
            assert err.value.status == 403
    finally:
        call(node.url, {"msgtype": "removecolonymsg", "colonyname": other}, dev.SERVER_PRVKEY)


def test_locations_of_an_unknown_colony_are_refused_to_a_stranger_as_for_an_existing_one(node, colony):
    # a stranger cannot tell which colony names exist (issue 12, item 8)
    stranger = crypto.generate_private_key()
    refusals = []
    for name in ("no-such-colony", colony.name):
        with pytest.raises(RPCFailure) as err:
            call(node.url, {"msgtype": "getlocationsmsg", "colonyname": name}, stranger)
        refusals.append((err.value.status, err.value.message.replace(name, "NAME")))
    assert refusals[0] == refusals[1] and refusals[0][0] == 403
