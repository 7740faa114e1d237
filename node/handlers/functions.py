"""Function registry (spec §2.5)."""
from __future__ import annotations

from typing import Any

import msgspec

from colonies import crypto, models
from colonies.messages import AddFunctionMsg, GetFunctionsMsg, RemoveFunctionMsg
from colonies.node.handlers.limits import MAX_LIST
from colonies.node.rpc import EMPTY, Call, bad_request, not_found, require, rpc
from colonies.node.store import directory as dq
from colonies.node.validate import require_name
from colonies.wire import RPCError


@rpc("addfunctionmsg", AddFunctionMsg)
async def add_function(call: Call, msg: AddFunctionMsg) -> models.Function:
    require(msg.fun is not None, "Failed to add function, fun is missing")
    fun = msg.fun
    assert fun is not None
    call.require_member(fun.colonyname)
    require_name(fun.funcname, "funcname")
    executor = call.node.directory.executor(fun.colonyname, fun.executorname)
    if executor is None or executor.executorid != call.caller_id:
        raise RPCError(403, f"Access denied, caller is not executor {fun.executorname}")
    existing = await call.node.db.read(lambda conn: dq.find_function(conn, fun.colonyname, fun.executorname, fun.funcname))
    if existing is not None:
        raise bad_request(f"Function {fun.funcname} is already registered by executor {fun.executorname}")
    stored = msgspec.structs.replace(
        fun,
        functionid=fun.functionid or crypto.random_id(),
        executortype=executor.executortype,
        locationname=executor.locationname,
        counter=0,
        minwaittime=0.0,
        maxwaittime=0.0,
        minexectime=0.0,
        maxexectime=0.0,
        avgwaittime=0.0,
        avgexectime=0.0,
    )
    await call.node.db.write(lambda conn: dq.add_function(conn, stored))
    return stored


@rpc("getfunctionsmsg", GetFunctionsMsg)
async def get_functions(call: Call, msg: GetFunctionsMsg) -> list[models.Function]:
    call.require_member(msg.colonyname)
    return await call.node.db.read(lambda conn: dq.list_functions(conn, msg.colonyname, msg.executorname, MAX_LIST))


@rpc("removefunctionmsg", RemoveFunctionMsg)
async def remove_function(call: Call, msg: RemoveFunctionMsg) -> dict[str, Any]:
    fun = await call.node.db.read(lambda conn: dq.get_function(conn, msg.functionid))
    if fun is None:
        raise not_found(f"Function with id {msg.functionid} not found")
    call.require_member(fun.colonyname)
    executor = call.node.directory.executor(fun.colonyname, fun.executorname)
    if executor is None or executor.executorid != call.caller_id:
        raise RPCError(403, f"Access denied, only executor {fun.executorname} may remove its functions")
    await call.node.db.write(lambda conn: dq.remove_function(conn, msg.functionid))
    return EMPTY
