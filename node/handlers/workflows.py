"""Workflows / process graphs (spec §2.7, §4.4)."""
from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy.engine import Connection

from colonies import crypto, models
from colonies.messages import (
    AddChildMsg,
    GetProcessGraphsMsg,
    ProcessGraphIdMsg,
    RemoveAllProcessGraphsMsg,
    SubmitWorkflowSpecMsg,
)
from colonies.models import RUNNING, WAITING
from colonies.node.handlers.limits import remove_in_batches
from colonies.node.handlers.processes import MAX_COUNT, states_to_remove
from colonies.node.rpc import EMPTY, Call, bad_request, not_found, require, rpc
from colonies.node.store import processes as pq
from colonies.node.store import workflows as wq
from colonies.node.store.processes import ProcessRecord
from colonies.node.submission import process_row, validate_spec
from colonies.node.submit import submit_workflow
from colonies.node.validate import require_count
from colonies.wire import RPCError


@rpc("submitworkflowspecmsg", SubmitWorkflowSpecMsg)
async def submit(call: Call, msg: SubmitWorkflowSpecMsg) -> models.ProcessGraph:
    require(msg.spec is not None, "Failed to submit workflow, spec is missing")
    assert msg.spec is not None
    initiator = call.require_member(msg.spec.colonyname)
    graph = await submit_workflow(call.node, msg.spec, initiatorid=call.caller_id, initiatorname=initiator)
    # as upstream: the submit reply carries no computed nodes or edges
    graph.processids = []
    return graph


async def _member_graph(call: Call, processgraphid: str) -> models.ProcessGraph:
    graph = await call.node.db.read(lambda conn: wq.get_graph(conn, processgraphid))
    if graph is None:
        raise not_found(f"Process graph with id {processgraphid} not found")
    call.require_member(graph.colonyname)
    return graph


@rpc("getprocessgraphmsg", ProcessGraphIdMsg)
async def get_graph(call: Call, msg: ProcessGraphIdMsg) -> models.ProcessGraph:
    return await _member_graph(call, msg.processgraphid)


@rpc("getprocessgraphsmsg", GetProcessGraphsMsg)
async def get_graphs(call: Call, msg: GetProcessGraphsMsg) -> list[models.ProcessGraph]:
    call.require_member(msg.colonyname)
    require_count(msg.count, MAX_COUNT)
    if msg.state not in models.PROCESS_STATES:
        raise bad_request(f"Invalid state {msg.state}: must be 0 to 4")
    # each graph comes with every member process
    return await call.node.db.read(lambda conn: wq.list_graphs(conn, msg.colonyname, msg.state, msg.count), offloop=True)


@rpc("removeprocessgraphmsg", ProcessGraphIdMsg)
async def remove_graph(call: Call, msg: ProcessGraphIdMsg) -> dict[str, Any]:
    graph = await _member_graph(call, msg.processgraphid)
    if graph.state == RUNNING:
        raise bad_request("Failed to remove process graph, it is running (cancel it first)")

    def remove(conn):  # type: ignore[no-untyped-def]
        current = wq.get_graph(conn, msg.processgraphid, detailed=False)
        if current is None or current.state == RUNNING:
            return 0
        return wq.remove_graph(conn, msg.processgraphid)

    if not await call.node.db.write(remove):
        raise bad_request("Failed to remove process graph, it is running or gone")
    return EMPTY


@rpc("removeallprocessgraphsmsg", RemoveAllProcessGraphsMsg)
async def remove_all_graphs(call: Call, msg: RemoveAllProcessGraphsMsg) -> dict[str, Any]:
    call.require_colony_owner(msg.colonyname)
    for state in states_to_remove(msg.state, "process graphs"):
        await remove_in_batches(call.node.db, lambda conn, limit, state=state: wq.remove_graphs_batch(conn, msg.colonyname, state, limit))
    return EMPTY


@rpc("cancelprocessgraphmsg", ProcessGraphIdMsg)
async def cancel_graph(call: Call, msg: ProcessGraphIdMsg) -> dict[str, Any]:
    await _member_graph(call, msg.processgraphid)
    now = call.now()

    def cancel(conn: Connection) -> list[ProcessRecord]:
        cancelled = wq.cancel_graph(conn, msg.processgraphid, now)
        if cancelled is None:  # nothing was written
            raise bad_request("Failed to cancel process graph, it has already ended")
        return cancelled

    await call.node.change(cancel)
    return EMPTY


@rpc("addchildmsg", AddChildMsg)
async def add_child(call: Call, msg: AddChildMsg) -> models.Process:
    require(msg.spec is not None, "Failed to add child, spec is missing")
    assert msg.spec is not None
    parent = await call.node.db.read(lambda conn: pq.get_record(conn, msg.parentprocessid))
    if parent is None:
        raise not_found(f"Process with id {msg.parentprocessid} not found")
    initiator = call.require_member(parent.colonyname)
    if parent.processgraphid != msg.processgraphid or not msg.processgraphid:
        raise bad_request("Failed to add child, the parent does not belong to that process graph")
    if parent.assignedexecutorid != call.caller_id or parent.state != RUNNING:
        raise RPCError(403, "Access denied, only the executor running the parent process may add children to it")
    if msg.childprocessid:
        child = await call.node.db.read(lambda conn: pq.get_record(conn, msg.childprocessid))
        if child is None or child.processgraphid != msg.processgraphid:
            raise bad_request("Failed to add child, childprocessid is not a process of that process graph")
        if child.state != WAITING:
            raise bad_request("Failed to add child, childprocessid has already started")
    conditions = msgspec.structs.replace(msg.spec.conditions, colonyname=parent.colonyname, dependencies=[])
    spec = validate_spec(msgspec.structs.replace(msg.spec, conditions=conditions))
    now = call.now()
    row, attrs = process_row(
        spec,
        initiatorid=call.caller_id,
        initiatorname=initiator,
        now=now,
        processgraphid=msg.processgraphid,
        waitforparents=True,
        parents=[msg.parentprocessid],
        processid=crypto.random_id(),
    )

    def write(conn):  # type: ignore[no-untyped-def]
        record = wq.add_child(
            conn,
            row=row,
            attrs=attrs,
            parentid=msg.parentprocessid,
            childid=msg.childprocessid,
            insert_between=msg.insert,
        )
        wq.refresh_state(conn, msg.processgraphid, now)
        return record

    record = await call.node.db.write(write)
    return record.process

