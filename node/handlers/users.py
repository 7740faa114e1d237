"""Users (spec §2.3)."""
from __future__ import annotations

from typing import Any

from colonies import models
from colonies.messages import AddUserMsg, ColonyNameMsg, GetUserByIdMsg, UserNameMsg
from colonies.node.rpc import EMPTY, Call, bad_request, not_found, require, rpc
from colonies.node.store import directory as dq
from colonies.node.validate import require_id, require_name


def _member_or_owner(call: Call, colonyname: str) -> None:
    entry = call.colony(colonyname)
    if entry.colonyid != call.caller_id:
        call.require_member(colonyname, approved=False)


@rpc("addusermsg", AddUserMsg)
async def add_user(call: Call, msg: AddUserMsg) -> models.User:
    require(msg.user is not None, "Failed to add user, user is missing")
    user = msg.user
    assert user is not None
    call.require_colony_owner(user.colonyname)
    require_id(user.userid, "userid")
    require_name(user.name, "user name")
    directory = call.node.directory
    if directory.user(user.colonyname, user.name) is not None:
        raise bad_request(f"A user with name {user.name} already exists in colony {user.colonyname}")
    if directory.user_by_id(user.colonyname, user.userid) is not None:
        raise bad_request(f"A user with id {user.userid} already exists in colony {user.colonyname}")
    await call.node.db.write(lambda conn: dq.add_user(conn, user))
    directory.put_user(user)
    return user


@rpc("getusersmsg", ColonyNameMsg)
async def get_users(call: Call, msg: ColonyNameMsg) -> list[models.User]:
    _member_or_owner(call, msg.colonyname)
    return call.node.directory.users_of(msg.colonyname)


@rpc("getusermsg", UserNameMsg)
async def get_user(call: Call, msg: UserNameMsg) -> models.User:
    _member_or_owner(call, msg.colonyname)
    user = call.node.directory.user(msg.colonyname, msg.name)
    if user is None:
        raise not_found(f"User with name {msg.name} not found")
    return user


@rpc("getuserbyidmsg", GetUserByIdMsg)
async def get_user_by_id(call: Call, msg: GetUserByIdMsg) -> models.User:
    _member_or_owner(call, msg.colonyname)
    user = call.node.directory.user_by_id(msg.colonyname, msg.userid)
    if user is None:
        raise not_found(f"User with id {msg.userid} not found")
    return user


@rpc("removeusermsg", UserNameMsg)
async def remove_user(call: Call, msg: UserNameMsg) -> dict[str, Any]:
    call.require_colony_owner(msg.colonyname)
    if call.node.directory.user(msg.colonyname, msg.name) is None:
        raise not_found(f"User with name {msg.name} not found")
    await call.node.db.write(lambda conn: dq.remove_user(conn, msg.colonyname, msg.name))
    call.node.directory.remove_user(msg.colonyname, msg.name)
    return EMPTY
