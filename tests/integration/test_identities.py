"""changeserveridmsg / changecolonyidmsg / changeexecutoridmsg / changeuseridmsg (spec §2.1)."""
from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from colonies import crypto, dev
from colonies.client import AsyncClient, func_spec
from colonies.models import RUNNING, SUCCESS
from colonies.wire import RPCError
from tests.support.nodes import start_node
from tests.support.rpc import RPCFailure, call


def _new_key() -> tuple[str, str]:
    prvkey = crypto.generate_private_key()
    return prvkey, crypto.id_from_private_key(prvkey)


def _denied(url: str, msg: dict, prvkey: str, status: int = 403) -> str:
    with pytest.raises(RPCFailure) as err:
        call(url, msg, prvkey)
    assert err.value.status == status, err.value.message
    return err.value.message


def _add_colony(url: str) -> tuple[str, str]:
    owner, owner_id = _new_key()
    name = f"colony-{secrets.token_hex(6)}"
    call(url, {"msgtype": "addcolonymsg", "colony": {"colonyid": owner_id, "name": name}}, dev.SERVER_PRVKEY)
    return name, owner


# --- server id ----------------------------------------------------------------------------
def test_server_owner_hands_the_server_to_a_new_key_and_the_reply_echoes_the_request(tmp_path: Path):
    running = start_node(tmp_path)
    try:
        new_key, new_id = _new_key()
        reply = call(running.url, {"msgtype": "changeserveridmsg", "serverid": new_id}, dev.SERVER_PRVKEY)
        assert reply == {"msgtype": "changeserveridmsg", "serverid": new_id}
        assert isinstance(call(running.url, {"msgtype": "getcoloniesmsg"}, new_key), list)
        _denied(running.url, {"msgtype": "getcoloniesmsg"}, dev.SERVER_PRVKEY)
    finally:
        running.stop()


def test_changed_server_id_is_stored_and_survives_a_restart(tmp_path: Path):
    running = start_node(tmp_path)
    new_key, new_id = _new_key()
    try:
        call(running.url, {"msgtype": "changeserveridmsg", "serverid": new_id}, dev.SERVER_PRVKEY)
    finally:
        running.stop()
    # no server id in the config: the stored one is in force
    running = start_node(tmp_path, server_id="")
    try:
        call(running.url, {"msgtype": "getcoloniesmsg"}, new_key)
        _denied(running.url, {"msgtype": "getcoloniesmsg"}, dev.SERVER_PRVKEY)
    finally:
        running.stop()


def test_only_the_server_owner_changes_the_server_id(colony):
    executor, user = colony.add_executor(), colony.add_user()
    _, new_id = _new_key()
    for key in (colony.owner_prvkey, executor.prvkey, user.prvkey, crypto.generate_private_key()):
        _denied(colony.url, {"msgtype": "changeserveridmsg", "serverid": new_id}, key)
    call(colony.url, {"msgtype": "getcoloniesmsg"}, dev.SERVER_PRVKEY)


@pytest.mark.parametrize("serverid", ["", "abc", "g" * 64, "A" * 64])
def test_malformed_server_id_is_a_400(node, serverid):
    _denied(node.url, {"msgtype": "changeserveridmsg", "serverid": serverid}, dev.SERVER_PRVKEY, status=400)


# --- colony id ----------------------------------------------------------------------------
async def test_colony_owner_hands_the_colony_to_a_new_key(colony):
    new_key, new_id = _new_key()
    reply = call(colony.url, {"msgtype": "changecolonyidmsg", "colonyname": colony.name, "colonyid": new_id}, colony.owner_prvkey)
    assert reply == {"msgtype": "changecolonyidmsg", "colonyname": colony.name, "colonyid": new_id}
    async with AsyncClient(colony.url, new_key) as new_owner:
        await new_owner.add_location(colony.name, "lab")
    async with AsyncClient(colony.url, colony.owner_prvkey) as old_owner:
        with pytest.raises(RPCError) as err:
            await old_owner.add_location(colony.name, "other")
        assert err.value.status == 403
    async with AsyncClient(colony.url, dev.SERVER_PRVKEY) as server:
        assert {c.name: c.colonyid for c in await server.list_colonies()}[colony.name] == new_id
    colony.owner_prvkey = new_key  # so the fixture's teardown still works


def test_only_the_colony_owner_changes_the_colony_id(colony):
    executor, user = colony.add_executor(), colony.add_user()
    _, new_id = _new_key()
    msg = {"msgtype": "changecolonyidmsg", "colonyname": colony.name, "colonyid": new_id}
    for key in (executor.prvkey, user.prvkey, dev.SERVER_PRVKEY, crypto.generate_private_key()):
        _denied(colony.url, msg, key)
    call(colony.url, {"msgtype": "getlocationsmsg", "colonyname": colony.name}, colony.owner_prvkey)


def test_owner_of_another_colony_may_not_change_this_colony_id(colony, node):
    other, other_owner = _add_colony(node.url)
    try:
        _, new_id = _new_key()
        _denied(node.url, {"msgtype": "changecolonyidmsg", "colonyname": colony.name, "colonyid": new_id}, other_owner)
    finally:
        call(node.url, {"msgtype": "removecolonymsg", "colonyname": other}, dev.SERVER_PRVKEY)


def test_malformed_colony_id_is_a_400_and_an_unknown_colony_refused_as_to_a_stranger(colony):
    _denied(colony.url, {"msgtype": "changecolonyidmsg", "colonyname": colony.name, "colonyid": "abc"}, colony.owner_prvkey, 400)
    _, new_id = _new_key()
    # the owner of another colony is a stranger to this name (issue 12, item 8)
    message = _denied(colony.url, {"msgtype": "changecolonyidmsg", "colonyname": "no-such-colony", "colonyid": new_id}, colony.owner_prvkey)
    assert "not owner of Colony with name no-such-colony" in message


# --- executor id --------------------------------------------------------------------------
async def test_executor_moves_to_a_new_key_and_keeps_its_running_process(colony):
    executor, user = colony.add_executor(), colony.add_user()
    new_key, new_id = _new_key()
    async with AsyncClient(colony.url, executor.prvkey) as old, AsyncClient(colony.url, new_key) as new, AsyncClient(colony.url, user.prvkey) as us:
        submitted = await us.submit(func_spec("f", colony.name, "test"))
        assert (await old.assign(colony.name, 5)).processid == submitted.processid
        await old.change_executor_id(colony.name, new_id)
        found = await us.get_executor(colony.name, executor.name)
        assert found.executorid == new_id
        assert (await us.get_executor_by_id(colony.name, new_id)).executorname == executor.name
        with pytest.raises(RPCError) as err:
            await us.get_executor_by_id(colony.name, executor.id)
        assert err.value.status == 404
        running = await us.get_process(submitted.processid)
        assert running.state == RUNNING and running.assignedexecutorid == new_id
        await new.close(submitted.processid, ["done"])
        assert (await us.get_process(submitted.processid)).state == SUCCESS
        with pytest.raises(RPCError) as err:
            await old.assign(colony.name, -1)
        assert err.value.status == 403


def test_change_executor_id_reply_echoes_the_request(colony):
    executor = colony.add_executor()
    _, new_id = _new_key()
    msg = {"msgtype": "changeexecutoridmsg", "colonyname": colony.name, "executorid": new_id}
    assert call(colony.url, msg, executor.prvkey) == msg


def test_pending_executor_may_change_its_id(colony):
    pending = colony.add_executor(approve=False)
    new_key, new_id = _new_key()
    call(colony.url, {"msgtype": "changeexecutoridmsg", "colonyname": colony.name, "executorid": new_id}, pending.prvkey)
    call(colony.url, {"msgtype": "approveexecutormsg", "colonyname": colony.name, "executorname": pending.name}, colony.owner_prvkey)
    # approved under the new key: it may now read as an approved member
    call(colony.url, {"msgtype": "getcolonymsg", "colonyname": colony.name}, new_key)


def test_only_an_executor_of_the_colony_changes_an_executor_id(colony, node):
    executor, user = colony.add_executor(), colony.add_user()
    other, other_owner = _add_colony(node.url)
    try:
        _, new_id = _new_key()
        msg = {"msgtype": "changeexecutoridmsg", "colonyname": colony.name, "executorid": new_id}
        for key in (user.prvkey, colony.owner_prvkey, dev.SERVER_PRVKEY, other_owner, crypto.generate_private_key()):
            _denied(colony.url, msg, key)
        found = call(colony.url, {"msgtype": "getexecutormsg", "colonyname": colony.name, "executorname": executor.name}, user.prvkey)
        assert found["executorid"] == executor.id
    finally:
        call(node.url, {"msgtype": "removecolonymsg", "colonyname": other}, dev.SERVER_PRVKEY)


def test_removed_executor_may_not_change_its_id(colony):
    executor = colony.add_executor()
    call(colony.url, {"msgtype": "removeexecutormsg", "colonyname": colony.name, "executorname": executor.name}, colony.owner_prvkey)
    _, new_id = _new_key()
    _denied(colony.url, {"msgtype": "changeexecutoridmsg", "colonyname": colony.name, "executorid": new_id}, executor.prvkey)


def test_executor_id_taken_in_the_colony_is_a_400(colony):
    first, second = colony.add_executor(), colony.add_executor()
    msg = {"msgtype": "changeexecutoridmsg", "colonyname": colony.name, "executorid": second.id}
    assert "already exists" in _denied(colony.url, msg, first.prvkey, 400)


def test_malformed_executor_id_is_a_400(colony):
    executor = colony.add_executor()
    _denied(colony.url, {"msgtype": "changeexecutoridmsg", "colonyname": colony.name, "executorid": "x"}, executor.prvkey, 400)


# --- user id ------------------------------------------------------------------------------
async def test_user_moves_to_a_new_key(colony):
    user = colony.add_user()
    new_key, new_id = _new_key()
    msg = {"msgtype": "changeuseridmsg", "colonyname": colony.name, "userid": new_id}
    assert call(colony.url, msg, user.prvkey) == msg
    async with AsyncClient(colony.url, new_key) as new:
        assert (await new.get_user(colony.name, user.name)).userid == new_id
        assert (await new.get_user_by_id(colony.name, new_id)).name == user.name
        with pytest.raises(RPCError) as err:
            await new.get_user_by_id(colony.name, user.id)
        assert err.value.status == 404
    async with AsyncClient(colony.url, user.prvkey) as old:
        with pytest.raises(RPCError) as err:
            await old.get_colony(colony.name)
        assert err.value.status == 403


def test_only_a_user_of_the_colony_changes_a_user_id(colony, node):
    executor, user = colony.add_executor(), colony.add_user()
    other, other_owner = _add_colony(node.url)
    try:
        _, new_id = _new_key()
        msg = {"msgtype": "changeuseridmsg", "colonyname": colony.name, "userid": new_id}
        for key in (executor.prvkey, colony.owner_prvkey, dev.SERVER_PRVKEY, other_owner, crypto.generate_private_key()):
            _denied(colony.url, msg, key)
        assert call(colony.url, {"msgtype": "getusermsg", "colonyname": colony.name, "name": user.name}, user.prvkey)["userid"] == user.id
    finally:
        call(node.url, {"msgtype": "removecolonymsg", "colonyname": other}, dev.SERVER_PRVKEY)


def test_user_id_taken_in_the_colony_is_a_400_and_malformed_one_too(colony):
    first, second = colony.add_user(), colony.add_user()
    msg = {"msgtype": "changeuseridmsg", "colonyname": colony.name, "userid": second.id}
    assert "already exists" in _denied(colony.url, msg, first.prvkey, 400)
    _denied(colony.url, {**msg, "userid": "nothex"}, first.prvkey, 400)


# --- persistence --------------------------------------------------------------------------
async def test_changed_ids_survive_a_restart(tmp_path: Path):
    running = start_node(tmp_path)
    name, owner = _add_colony(running.url)
    executor_key, executor_id = _new_key()
    user_key, user_id = _new_key()
    new_owner, new_owner_id = _new_key()
    new_executor, new_executor_id = _new_key()
    new_user, new_user_id = _new_key()
    try:
        async with AsyncClient(running.url, owner) as client:
            await client.add_executor(name, executor_id, "worker", "test")
            await client.approve_executor(name, "worker")
            await client.add_user(name, user_id, "alice")
        call(running.url, {"msgtype": "changeexecutoridmsg", "colonyname": name, "executorid": new_executor_id}, executor_key)
        call(running.url, {"msgtype": "changeuseridmsg", "colonyname": name, "userid": new_user_id}, user_key)
        call(running.url, {"msgtype": "changecolonyidmsg", "colonyname": name, "colonyid": new_owner_id}, owner)
    finally:
        running.stop()
    running = start_node(tmp_path)
    try:
        call(running.url, {"msgtype": "getcolonymsg", "colonyname": name}, new_executor)
        call(running.url, {"msgtype": "getcolonymsg", "colonyname": name}, new_user)
        call(running.url, {"msgtype": "getlocationsmsg", "colonyname": name}, new_owner)
        for key in (executor_key, user_key, owner):
            _denied(running.url, {"msgtype": "getlocationsmsg", "colonyname": name}, key)
    finally:
        running.stop()


# --- id reuse -----------------------------------------------------------------------------
def test_an_id_reused_by_a_new_executor_answers_for_it_not_for_the_removed_one(tmp_path: Path):
    running = start_node(tmp_path)
    name, owner = _add_colony(running.url)
    key, executor_id = _new_key()

    def add(executorname: str) -> None:
        executor = {"executorid": executor_id, "executortype": "test", "executorname": executorname, "colonyname": name}
        call(running.url, {"msgtype": "addexecutormsg", "executor": executor}, owner)
        call(running.url, {"msgtype": "approveexecutormsg", "colonyname": name, "executorname": executorname}, owner)

    def remove(executorname: str) -> None:
        call(running.url, {"msgtype": "removeexecutormsg", "colonyname": name, "executorname": executorname}, owner)

    try:
        add("zz-old")
        remove("zz-old")
        add("aa-new")
        remove("zz-old")  # touching the removed executor again must not unhook the live one
        call(running.url, {"msgtype": "getcolonymsg", "colonyname": name}, key)
    finally:
        running.stop()
    running = start_node(tmp_path)  # loaded in name order: the removed one comes last
    try:
        call(running.url, {"msgtype": "getcolonymsg", "colonyname": name}, key)
    finally:
        running.stop()
