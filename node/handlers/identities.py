"""Changing the key behind an identity (spec §2.1): server, colony, executor and user ids.

Each reply echoes the request, as upstream does. The store is written first; the in-memory
directory (which answers every role check) follows the commit.
"""
from __future__ import annotations

from colonies.messages import ChangeColonyIdMsg, ChangeExecutorIdMsg, ChangeServerIdMsg, ChangeUserIdMsg
from colonies.models import UNREGISTERED
from colonies.node.rpc import Call, bad_request, rpc
from colonies.node.store import directory as dq
from colonies.node.validate import require_id
from colonies.wire import RPCError


@rpc("changeserveridmsg", ChangeServerIdMsg)
async def change_server_id(call: Call, msg: ChangeServerIdMsg) -> ChangeServerIdMsg:
    call.require_server_owner()
    require_id(msg.serverid, "serverid")
    await call.node.db.write(lambda conn: dq.set_fact(conn, "server_id", msg.serverid))
    call.node.directory.server_id = msg.serverid
    return msg


@rpc("changecolonyidmsg", ChangeColonyIdMsg)
async def change_colony_id(call: Call, msg: ChangeColonyIdMsg) -> ChangeColonyIdMsg:
    call.require_colony_owner(msg.colonyname)
    require_id(msg.colonyid, "colonyid")
    await call.node.db.write(lambda conn: dq.set_colony_id(conn, msg.colonyname, msg.colonyid))
    call.node.directory.change_colony_id(msg.colonyname, msg.colonyid)
    return msg


@rpc("changeexecutoridmsg", ChangeExecutorIdMsg)
async def change_executor_id(call: Call, msg: ChangeExecutorIdMsg) -> ChangeExecutorIdMsg:
    """The calling executor (approved or not) moves to a new key; its running processes follow."""
    call.colony(msg.colonyname)
    directory = call.node.directory
    executor = directory.executor_by_id(msg.colonyname, call.caller_id)
    if executor is None or executor.state == UNREGISTERED:
        raise RPCError(403, f"Access denied, caller is not an executor of Colony with name {msg.colonyname}")
    require_id(msg.executorid, "executorid")
    if msg.executorid == executor.executorid:
        return msg
    taken = directory.executor_by_id(msg.colonyname, msg.executorid)
    if taken is not None and taken.state != UNREGISTERED:
        raise bad_request(f"Executor with id {msg.executorid} already exists in colony {msg.colonyname}")
    old_id, name = executor.executorid, executor.executorname
    await call.node.db.write(lambda conn: dq.set_executor_id(conn, msg.colonyname, name, old_id, msg.executorid))
    directory.change_executor_id(msg.colonyname, name, msg.executorid)
    heard = call.node.heard_from.get(old_id)
    if heard is not None:
        call.node.heard_from[msg.executorid] = max(heard, call.node.heard_from.get(msg.executorid, 0))
    return msg


@rpc("changeuseridmsg", ChangeUserIdMsg)
async def change_user_id(call: Call, msg: ChangeUserIdMsg) -> ChangeUserIdMsg:
    """The calling user of the colony moves to a new key."""
    call.colony(msg.colonyname)
    directory = call.node.directory
    user = directory.user_by_id(msg.colonyname, call.caller_id)
    if user is None:
        raise RPCError(403, f"Access denied, caller is not a user of Colony with name {msg.colonyname}")
    require_id(msg.userid, "userid")
    if msg.userid == user.userid:
        return msg
    if directory.user_by_id(msg.colonyname, msg.userid) is not None:
        raise bad_request(f"A user with id {msg.userid} already exists in colony {msg.colonyname}")
    await call.node.db.write(lambda conn: dq.set_user_id(conn, msg.colonyname, user.name, msg.userid))
    directory.change_user_id(msg.colonyname, user.name, msg.userid)
    return msg
