"""Workflows / process graphs (spec §2.7, §4.4)."""
from __future__ import annotations

from typing import Any

from colonies import models
from colonies.messages import (
    AddChildMsg,
    GetProcessGraphsMsg,
    ProcessGraphIdMsg,
    RemoveAllProcessGraphsMsg,
    SubmitWorkflowSpecMsg,
)
from colonies.models import RUNNING, WAITING
from colonies.node import bounds
from colonies.node.handlers.processes import MAX_COUNT
from colonies.node.rpc import EMPTY, Call, bad_request, not_found, require, rpc
from colonies.node.store import processes as pq
from colonies.node.store import workflows as wq
from colonies.node.domain import processes, removals, submission
from colonies.node.validate import require_count
from colonies.wire import RPCError


@rpc("submitworkflowspecmsg", SubmitWorkflowSpecMsg, sliced=("spec", "functionspecs"))
async def submit(call: Call, msg: SubmitWorkflowSpecMsg) -> models.ProcessGraph:
    require(msg.spec is not None, "Failed to submit workflow, spec is missing")
    assert msg.spec is not None
    initiator = call.require_member(msg.spec.colonyname)
    bounds.check_specs(call.node.config, msg.spec.functionspecs or (), "submit workflow")
    graph = await submission.submit_workflow(call.node, msg.spec, initiatorid=call.caller_id, initiatorname=initiator)
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

    await removals.remove_graph(call.node, msg.processgraphid)
    return EMPTY


@rpc("removeallprocessgraphsmsg", RemoveAllProcessGraphsMsg)
async def remove_all_graphs(call: Call, msg: RemoveAllProcessGraphsMsg) -> dict[str, Any]:
    call.require_colony_owner(msg.colonyname)
    await removals.remove_all_graphs(call.node, msg.colonyname, msg.state)
    return EMPTY


@rpc("cancelprocessgraphmsg", ProcessGraphIdMsg)
async def cancel_graph(call: Call, msg: ProcessGraphIdMsg) -> dict[str, Any]:
    await _member_graph(call, msg.processgraphid)
    await processes.cancel_graph(call.node, msg.processgraphid, call.now())
    return EMPTY


@rpc("addchildmsg", AddChildMsg)
async def add_child(call: Call, msg: AddChildMsg) -> models.Process:
    require(msg.spec is not None, "Failed to add child, spec is missing")
    assert msg.spec is not None
    parent = await call.node.db.read(lambda conn: pq.get_record(conn, msg.parentprocessid))
    if parent is None:
        raise not_found(f"Process with id {msg.parentprocessid} not found")
    initiator = call.require_member(parent.colonyname)
    bounds.check_spec(call.node.config, msg.spec, "add child")
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
    return await submission.add_child(
        call.node, msg.spec, parent=parent, initiatorid=call.caller_id, initiatorname=initiator,
        childid=msg.childprocessid, insert_between=msg.insert, now=call.now(),
    )
