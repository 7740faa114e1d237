"""Executors (spec §2.4)."""
from __future__ import annotations

from typing import Any

import msgspec

from colonies import models
from colonies.messages import (
    AddExecutorMsg,
    ColonyNameMsg,
    ExecutorNameMsg,
    GetExecutorByIdMsg,
    ReportAllocationMsg,
    UpdateExecutorMsg,
)
from colonies.models import APPROVED, PENDING, UNREGISTERED
from colonies.node.domain.executors import reject, unregister
from colonies.node.domain.processes import change
from colonies.node.rpc import EMPTY, Call, bad_request, not_found, require, rpc
from colonies.node.store import directory as dq
from colonies.node.store import processes as pq
from colonies.node.validate import require_id, require_name
from colonies.timefmt import format_ns
from colonies.wire import RPCError


def _member_or_owner(call: Call, colonyname: str, *, approved: bool) -> None:
    entry = call.colony(colonyname)
    if entry.colonyid != call.caller_id:
        call.require_member(colonyname, approved=approved)


def _existing(call: Call, colonyname: str, name: str) -> models.Executor:
    executor = call.node.directory.executor(colonyname, name)
    if executor is None:
        raise not_found(f"Executor with name {name} not found in colony {colonyname}")
    return executor


def _with_liveness(call: Call, executor: models.Executor) -> models.Executor:
    heard = call.node.heard_from.get(executor.executorid)
    if heard is None:
        return executor
    return msgspec.structs.replace(executor, lastheardfromtime=format_ns(heard))


@rpc("addexecutormsg", AddExecutorMsg)
async def add_executor(call: Call, msg: AddExecutorMsg) -> models.Executor:
    require(msg.executor is not None, "Failed to add executor, executor is missing")
    executor = msg.executor
    assert executor is not None
    call.require_colony_owner(executor.colonyname)
    require_id(executor.executorid, "executorid")
    require_name(executor.executorname, "executor name")
    require_name(executor.executortype, "executor type")
    directory = call.node.directory
    old = directory.executor(executor.colonyname, executor.executorname)
    if old is not None and old.state != UNREGISTERED and not call.node.config.allow_executor_reregister:
        raise bad_request(f"Executor with name {executor.executorname} already exists in colony {executor.colonyname}")
    same_id = directory.executor_by_id(executor.colonyname, executor.executorid)
    if same_id is not None and same_id.executorname != executor.executorname and same_id.state != UNREGISTERED:
        raise bad_request(f"Executor with id {executor.executorid} already exists in colony {executor.colonyname}")
    now = call.now()
    stored = msgspec.structs.replace(
        executor,
        state=PENDING,
        commissiontime=format_ns(now),
        lastheardfromtime=format_ns(0),
        capabilities=executor.capabilities or models.Capabilities(),
        allocations=executor.allocations or models.Allocations(),
    )

    def write(conn):  # type: ignore[no-untyped-def]
        released = []
        if old is not None:
            dq.unregister_executor(conn, old.colonyname, old.executorname)
            # the old registration will not close what it ran (allow_executor_reregister)
            released = pq.release_executor_processes(conn, old.colonyname, old.executorid, now)
        dq.upsert_executor(conn, stored, now)
        return released

    await change(call.node, write, now)
    directory.put_executor(stored)
    return stored


@rpc("getexecutorsmsg", ColonyNameMsg)
async def get_executors(call: Call, msg: ColonyNameMsg) -> list[models.Executor]:
    _member_or_owner(call, msg.colonyname, approved=False)
    return [_with_liveness(call, e) for e in call.node.directory.executors_of(msg.colonyname)]


@rpc("getexecutormsg", ExecutorNameMsg)
async def get_executor(call: Call, msg: ExecutorNameMsg) -> models.Executor:
    _member_or_owner(call, msg.colonyname, approved=True)
    return _with_liveness(call, _existing(call, msg.colonyname, msg.executorname))


@rpc("getexecutorbyidmsg", GetExecutorByIdMsg)
async def get_executor_by_id(call: Call, msg: GetExecutorByIdMsg) -> models.Executor:
    _member_or_owner(call, msg.colonyname, approved=True)
    executor = call.node.directory.executor_by_id(msg.colonyname, msg.executorid)
    if executor is None:
        raise not_found(f"Executor with id {msg.executorid} not found in colony {msg.colonyname}")
    return _with_liveness(call, executor)


def _registered(call: Call, msg: ExecutorNameMsg) -> models.Executor:
    executor = _existing(call, msg.colonyname, msg.executorname)
    if executor.state == UNREGISTERED:
        raise bad_request(f"Executor with name {msg.executorname} is unregistered")
    return executor


async def _set_state(call: Call, msg: ExecutorNameMsg, state: int) -> dict[str, Any]:
    call.require_colony_owner(msg.colonyname)
    _registered(call, msg)
    await call.node.db.write(lambda conn: dq.set_executor_state(conn, msg.colonyname, msg.executorname, state))
    call.node.directory.update_executor(msg.colonyname, msg.executorname, state=state)
    return EMPTY


@rpc("approveexecutormsg", ExecutorNameMsg)
async def approve_executor(call: Call, msg: ExecutorNameMsg) -> dict[str, Any]:
    return await _set_state(call, msg, APPROVED)


@rpc("rejectexecutormsg", ExecutorNameMsg)
async def reject_executor(call: Call, msg: ExecutorNameMsg) -> dict[str, Any]:
    call.require_colony_owner(msg.colonyname)
    executor = _registered(call, msg)
    await reject(call.node, executor)
    return EMPTY


@rpc("removeexecutormsg", ExecutorNameMsg)
async def remove_executor(call: Call, msg: ExecutorNameMsg) -> dict[str, Any]:
    call.require_colony_owner(msg.colonyname)
    await unregister(call.node, _existing(call, msg.colonyname, msg.executorname))
    return EMPTY


def _require_self(call: Call, colonyname: str, name: str) -> models.Executor:
    call.require_member(colonyname, approved=False)
    executor = _existing(call, colonyname, name)
    if executor.executorid != call.caller_id:
        raise RPCError(403, f"Access denied, caller is not executor {name}")
    return executor


@rpc("reportallocationmsg", ReportAllocationMsg)
async def report_allocation(call: Call, msg: ReportAllocationMsg) -> dict[str, Any]:
    _require_self(call, msg.colonyname, msg.executorname)
    allocations = msg.allocations or models.Allocations()
    await call.node.db.write(lambda conn: dq.set_executor_json(conn, msg.colonyname, msg.executorname, "allocations", allocations))
    call.node.directory.update_executor(msg.colonyname, msg.executorname, allocations=allocations)
    return EMPTY


@rpc("updateexecutormsg", UpdateExecutorMsg)
async def update_executor(call: Call, msg: UpdateExecutorMsg) -> dict[str, Any]:
    _require_self(call, msg.colonyname, msg.executorname)
    capabilities = msg.capabilities or models.Capabilities()
    await call.node.db.write(lambda conn: dq.set_executor_json(conn, msg.colonyname, msg.executorname, "capabilities", capabilities))
    call.node.directory.update_executor(msg.colonyname, msg.executorname, capabilities=capabilities)
    return EMPTY
