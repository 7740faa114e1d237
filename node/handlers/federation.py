"""This node in its federation (server owner only): status, peers, leave (docs/federation.md)."""
from __future__ import annotations

import asyncio
from typing import Any

from colonies.messages import NodeLeaveMsg, NodePeersMsg, NodeProcessMsg, NodeStatusMsg
from colonies.node.store import processes as pq
from colonies.node.rpc import Call, rpc
from colonies.wire import RPCError

MAX_LEAVE_WAIT = 3600


def _federation(call: Call) -> Any:
    call.require_server_owner()
    if call.node.federation is None:
        raise RPCError(404, "This node is not part of a federation")
    return call.node.federation


@rpc("nodestatusmsg", NodeStatusMsg)
async def status(call: Call, msg: NodeStatusMsg) -> dict[str, Any]:
    return await _federation(call).status()


@rpc("nodepeersmsg", NodePeersMsg)
async def peers(call: Call, msg: NodePeersMsg) -> list[dict[str, Any]]:
    return await _federation(call).peers(msg.colonyname, msg.executortype)


@rpc("nodeprocessmsg", NodeProcessMsg)
async def where(call: Call, msg: NodeProcessMsg) -> dict[str, Any]:
    """Where a process of the caller's colony runs: here, or waiting / running at a peer."""
    record = await call.node.db.read(lambda conn: pq.get_record(conn, msg.processid))
    if record is None:
        raise RPCError(404, f"Process with id {msg.processid} not found")
    call.require_member(record.colonyname)
    federation = call.node.federation
    peer = await federation.where(msg.processid) if federation is not None else None
    return {"processid": msg.processid, "runsat": peer}


@rpc("nodeleavemsg", NodeLeaveMsg)
async def leave(call: Call, msg: NodeLeaveMsg) -> dict[str, Any]:
    federation = _federation(call)
    if not 0 <= msg.wait <= MAX_LEAVE_WAIT:
        raise RPCError(400, f"wait must be between 0 and {MAX_LEAVE_WAIT} seconds")
    outcome = await federation.leave(float(msg.wait))
    # the reply goes out first; then the node stops (the CLI's serve loop waits for this)
    asyncio.get_running_loop().call_later(0.2, call.node.shutdown.set)
    return outcome
