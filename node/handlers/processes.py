"""Processes: submit, assign (long-poll), close, query, remove, cancel, pause (spec §2.6, §4.1–4.3)."""
from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from colonies import models
from colonies.messages import (
    AssignProcessMsg,
    CloseFailedMsg,
    CloseSuccessfulMsg,
    ColonyNameMsg,
    GetProcessesMsg,
    GetProcessHistMsg,
    ProcessIdMsg,
    RemoveAllProcessesMsg,
    SetOutputMsg,
    SubmitFuncSpecMsg,
)
from colonies.models import RUNNING
from colonies.node import bounds
from colonies.node.handlers.limits import MAX_HISTORY
from colonies.node.resources import UNLIMITED, QuantityError, cpu_millicores, mem_mebibytes
from colonies.node.rpc import EMPTY, Call, bad_request, not_found, require, rpc
from colonies.node.scheduler import Waiter
from colonies.node.store import processes as pq
from colonies.node.store.processes import ProcessRecord
from colonies.node.domain import processes, removals
from colonies.node.domain.submission import submit_process
from colonies.node.validate import require_count
from colonies.timefmt import parse_to_ns
from colonies.wire import RPCError

MAX_COUNT = 100
NO_PROCESS = "No process available for assignment"

_json = msgspec.json.Encoder()


# --- submit ---------------------------------------------------------------------------------
@rpc("submitfuncspecmsg", SubmitFuncSpecMsg)
async def submit(call: Call, msg: SubmitFuncSpecMsg) -> models.Process:
    require(msg.spec is not None, "Failed to submit function spec, spec is missing")
    assert msg.spec is not None
    initiator = call.require_member(msg.spec.conditions.colonyname)
    bounds.check_spec(call.node.config, msg.spec, "submit function spec")
    return await submit_process(call.node, msg.spec, initiatorid=call.caller_id, initiatorname=initiator)


# --- assign ---------------------------------------------------------------------------------
@rpc("assignprocessmsg", AssignProcessMsg)
async def assign(call: Call, msg: AssignProcessMsg) -> models.Process:
    executor = call.require_executor(msg.colonyname)
    if msg.timeout == 0:
        raise bad_request("Failed to assign process, timeout must not be 0 (use a negative timeout for no wait)")
    try:
        cpu = cpu_millicores(msg.availablecpu, empty=UNLIMITED)
        mem = mem_mebibytes(msg.availablemem, empty=UNLIMITED)
    except QuantityError as err:
        raise bad_request(f"Failed to assign process, {err}") from None
    node = call.node
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(msg.timeout, 0)
    node.heard_from[executor.executorid] = call.now()

    while True:
        colony = call.colony(msg.colonyname)
        if colony.paused:
            await _wait_for_resume(call, msg, deadline)
            continue
        if msg.timeout < 0:  # one try, no wait
            record = await _claim(call, executor, cpu, mem)
            if record is None:
                raise RPCError(404, NO_PROCESS)
            if await _may_start(call, record):
                return record.process
            continue  # forwarded work its origin took back: the copy is gone, try the next
        # registered before the claim, so one claim per poll suffices: a process submitted
        # after this claim looked wakes the waiter
        waiter = node.scheduler.register(
            Waiter(msg.colonyname, executor.executortype, executor.executorname, executor.locationname, cpu, mem)
        )
        woken = False
        try:
            record = await _claim(call, executor, cpu, mem)
            if record is not None and await _may_start(call, record):
                return record.process
            if record is not None:
                continue  # forwarded work its origin took back: try the next
            if deadline - loop.time() <= 0:
                raise RPCError(404, NO_PROCESS)
            try:
                await asyncio.wait_for(asyncio.shield(waiter.future), deadline - loop.time())
            except TimeoutError:
                raise RPCError(404, NO_PROCESS) from None
            woken = True  # the next claim attempt uses this wake-up
        finally:
            node.scheduler.unregister(waiter)
            if not woken:
                # woken while claiming something else or leaving: hand the wake-up on
                node.scheduler.pass_on(waiter)


async def _may_start(call: Call, record: ProcessRecord) -> bool:
    """Forwarded work starts only with its origin's consent (at most one execution)."""
    federation = call.node.federation
    if federation is None or not federation.receiver.forwarded_here(record):
        return True  # no round trip, no task: the common case on the assign path
    if federation.receiver.granted_already(record):
        return True  # its start was granted ahead: no task either
    try:
        return await asyncio.shield(federation.receiver.may_start(record))
    except asyncio.CancelledError:
        _give_back(call, record)  # the executor left while the origin was asked
        raise


async def _claim(call: Call, executor: models.Executor, cpu: int, mem: int) -> ProcessRecord | None:
    """Claim and publish; the claimed process (its workflow's state follows in the same commit)."""
    write = call.node.db.submit(processes.claim_op(executor, cpu=cpu, mem=mem, now=call.now()), then=call.node.publish)
    try:
        records = await asyncio.shield(write)
    except asyncio.CancelledError:
        # The caller went away mid-claim: a committed assignment must go back to the queue.
        write.add_done_callback(lambda done: _return_unclaimed(call, done))
        raise
    return records[0] if records else None


def _return_unclaimed(call: Call, done: "asyncio.Future[list[ProcessRecord]]") -> None:
    if done.cancelled() or done.exception() is not None or not done.result():
        return
    _give_back(call, done.result()[0])


def _give_back(call: Call, record: ProcessRecord) -> None:
    """An assignment nobody received goes back to the queue."""
    call.node.spawn(processes.release(call.node, record.processid, call.now(), count_retry=False))


async def _wait_for_resume(call: Call, msg: AssignProcessMsg, deadline: float) -> None:
    loop = asyncio.get_running_loop()
    remaining = deadline - loop.time()
    if msg.timeout < 0:
        raise RPCError(503, f"Assignments are paused for colony {msg.colonyname}")
    if remaining <= 0:
        raise RPCError(408, f"Assignments are paused for colony {msg.colonyname}")
    node = call.node
    executor = call.require_executor(msg.colonyname)
    waiter = node.scheduler.register(
        Waiter(msg.colonyname, executor.executortype, executor.executorname, executor.locationname, 0, 0)
    )
    try:
        await asyncio.wait_for(asyncio.shield(waiter.future), remaining)
    except TimeoutError:
        raise RPCError(408, f"Assignments are paused for colony {msg.colonyname}") from None
    finally:
        node.scheduler.unregister(waiter)


# --- close ----------------------------------------------------------------------------------
def _run(attempt: str) -> int:
    """The starttime (ns) a request names as the run it is for; 0 = any run."""
    try:
        return parse_to_ns(attempt)
    except ValueError as err:
        raise bad_request(f"Invalid attempt: {err}") from None


async def _explain_refusal(call: Call, processid: str, action: str, run: int = 0) -> RPCError:
    """Why an update that required 'assigned to the caller and RUNNING' (in run `run`) matched nothing."""
    record = await call.node.db.read(lambda conn: pq.get_record(conn, processid))
    if record is None:
        return not_found(f"Process with id {processid} not found")
    call.require_member(record.colonyname)
    if record.assignedexecutorid != call.caller_id:
        return RPCError(403, f"Access denied, not allowed to {action}: process is not assigned to caller")
    if record.state == RUNNING and run and record.starttime != run:
        return RPCError(409, f"Failed to {action}: the request is for an earlier run of the process, it was assigned again")
    return bad_request(f"Failed to {action}: process is not running (state {record.state})")


@rpc("closesuccessfulmsg", CloseSuccessfulMsg)
async def close_successful(call: Call, msg: CloseSuccessfulMsg) -> dict[str, Any]:
    if msg.out:
        bounds.check_output(call.node.config, _json.encode(msg.out), "close process as successful")
    run = _run(msg.attempt)
    closed = await processes.close(
        call.node, processid=msg.processid, executorid=call.caller_id, succeeded=True, now=call.now(), output=msg.out, starttime=run
    )
    if closed is None:
        raise await _explain_refusal(call, msg.processid, "close process as successful", run)
    return EMPTY


@rpc("closefailedmsg", CloseFailedMsg)
async def close_failed(call: Call, msg: CloseFailedMsg) -> dict[str, Any]:
    if msg.errors:
        bounds.check_output(call.node.config, _json.encode(msg.errors), "close process as failed")
    run = _run(msg.attempt)
    closed = await processes.close(
        call.node, processid=msg.processid, executorid=call.caller_id, succeeded=False, now=call.now(), errors=msg.errors, starttime=run
    )
    if closed is None:
        raise await _explain_refusal(call, msg.processid, "close process as failed", run)
    return EMPTY


@rpc("setoutputmsg", SetOutputMsg)
async def set_output(call: Call, msg: SetOutputMsg) -> dict[str, Any]:
    if not msg.out:
        # Upstream treats an empty output as a no-op; we still check who is asking.
        record = await call.node.db.read(lambda conn: pq.get_record(conn, msg.processid))
        if record is None:
            raise not_found(f"Process with id {msg.processid} not found")
        call.require_member(record.colonyname)
        return EMPTY
    output, run = _json.encode(msg.out), _run(msg.attempt)
    bounds.check_output(call.node.config, output, "set output")
    ok = await call.node.db.write(
        lambda conn: pq.set_output(conn, processid=msg.processid, executorid=call.caller_id, output=output, starttime=run)
    )
    if not ok:
        raise await _explain_refusal(call, msg.processid, "set output", run)
    return EMPTY


# --- queries --------------------------------------------------------------------------------
async def _member_record(call: Call, processid: str) -> ProcessRecord:
    record = await call.node.db.read(lambda conn: pq.get_record(conn, processid))
    if record is None:
        raise not_found(f"Process with id {processid} not found")
    call.require_member(record.colonyname)
    return record


@rpc("getprocessmsg", ProcessIdMsg)
async def get_process(call: Call, msg: ProcessIdMsg) -> models.Process:
    return (await _member_record(call, msg.processid)).process


def _require_state(state: int) -> None:
    if state not in models.PROCESS_STATES:
        raise bad_request(f"Invalid state {state}: must be 0 (waiting), 1 (running), 2 (successful), 3 (failed) or 4 (cancelled)")


@rpc("getprocessesmsg", GetProcessesMsg)
async def get_processes(call: Call, msg: GetProcessesMsg) -> list[models.Process]:
    call.require_member(msg.colonyname)
    require_count(msg.count, MAX_COUNT)
    _require_state(msg.state)
    # a filter may pass over many of the state's rows before it finds `count`
    filtered = bool(msg.executortype or msg.label or msg.initiator)
    return await call.node.db.read(
        lambda conn: pq.list_processes(
            conn,
            colonyname=msg.colonyname,
            state=msg.state,
            count=msg.count,
            executortype=msg.executortype,
            label=msg.label,
            initiatorname=msg.initiator,
        ),
        offloop=filtered,
    )


@rpc("getprocesshistmsg", GetProcessHistMsg)
async def get_history(call: Call, msg: GetProcessHistMsg) -> list[models.Process]:
    # Upstream answers 200 with an empty body when the caller is not a member; we answer 403.
    call.require_member(msg.colonyname)
    _require_state(msg.state)
    require(msg.seconds >= 0, "Invalid seconds: must not be negative")
    since = call.now() - msg.seconds * 1_000_000_000
    return await call.node.db.read(
        lambda conn: pq.history(
            conn, colonyname=msg.colonyname, executorid=msg.executorid, since_ns=since, state=msg.state, limit=MAX_HISTORY
        ),
        offloop=True,
    )


# --- remove / cancel ------------------------------------------------------------------------
@rpc("removeprocessmsg", ProcessIdMsg)
async def remove_process(call: Call, msg: ProcessIdMsg) -> dict[str, Any]:
    record = await _member_record(call, msg.processid)
    if record.processgraphid:
        raise bad_request("Failed to remove process, it belongs to a workflow: remove the workflow instead")
    if record.state == RUNNING:
        federation = call.node.federation
        # forwarded and still queued at the peer: not running yet, so it may go (the peer drops its copy)
        if federation is not None and await federation.remove_unstarted(msg.processid):
            return EMPTY
        raise bad_request("Failed to remove process, it is running")

    await removals.remove_process(call.node, msg.processid)
    return EMPTY


@rpc("removeallprocessesmsg", RemoveAllProcessesMsg)
async def remove_all_processes(call: Call, msg: RemoveAllProcessesMsg) -> dict[str, Any]:
    call.require_colony_owner(msg.colonyname)
    await removals.remove_all_processes(call.node, msg.colonyname, msg.state)
    return EMPTY


@rpc("cancelprocessmsg", ProcessIdMsg)
async def cancel_process(call: Call, msg: ProcessIdMsg) -> dict[str, Any]:
    record = await _member_record(call, msg.processid)
    if record.processgraphid:
        raise bad_request("Failed to cancel process, it belongs to a workflow: cancel the workflow instead")
    if not await processes.cancel(call.node, msg.processid, call.now()):
        raise bad_request("Failed to cancel process, only waiting or running processes can be cancelled")
    return EMPTY


# --- pause / resume -------------------------------------------------------------------------
async def _set_paused(call: Call, colonyname: str, paused: bool) -> None:
    from colonies.node.store import directory as dq

    call.require_colony_owner(colonyname)
    await call.node.db.write(lambda conn: dq.set_colony_paused(conn, colonyname, paused))
    call.colony(colonyname).paused = paused
    if not paused:
        call.node.scheduler.wake_colony(colonyname)


@rpc("pauseassignmentsmsg", ColonyNameMsg)
async def pause_assignments(call: Call, msg: ColonyNameMsg) -> dict[str, Any]:
    await _set_paused(call, msg.colonyname, True)
    return EMPTY


@rpc("resumeassignmentsmsg", ColonyNameMsg)
async def resume_assignments(call: Call, msg: ColonyNameMsg) -> dict[str, Any]:
    await _set_paused(call, msg.colonyname, False)
    return EMPTY


@rpc("getpausestatusmsg", ColonyNameMsg, reply_payloadtype="pausestatusreplymsg")
async def pause_status(call: Call, msg: ColonyNameMsg) -> dict[str, Any]:
    entry = call.colony(msg.colonyname)
    if entry.colonyid != call.caller_id:
        call.require_member(msg.colonyname, approved=False)
    return {"msgtype": "pausestatusreplymsg", "colonyname": msg.colonyname, "ispaused": entry.paused}
