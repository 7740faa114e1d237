"""Process transitions: the one way a process changes state.

Every change (a claim, a close, a release, a cancel, a deadline, an executor leaving, federation
results and copies) is a *step*: a store operation that returns the processes it changed. `transition`
runs inside the same write and applies the workflow consequences (a success unblocks children, a
failure fails the descendants, the graph's state follows); `change` runs step and transition as one
write, and publishes every changed process after the commit (NodeCore.change: even if the caller
is cancelled meanwhile, never if the write fails).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from sqlalchemy.engine import Connection

from colonies import models
from colonies.models import FAILED, SUCCESS
from colonies.node.core import NodeCore
from colonies.node.domain.errors import Invalid
from colonies.node.store import processes as pq
from colonies.node.store import workflows as wq
from colonies.node.store.database import Op
from colonies.node.store.processes import ProcessRecord

Changed = ProcessRecord | Iterable[ProcessRecord | None] | None
Step = Callable[[Connection], Changed]

WAIT_EXCEEDED = "Maximum waiting time limit exceeded"
EXEC_EXCEEDED = "Maximum execution time limit exceeded"

_json = msgspec.json.Encoder()


def transition(conn: Connection, changed: Changed, now: int) -> list[ProcessRecord]:
    """Inside the write: each changed process followed by what its new state changed in its
    workflow, in order; all of it is what to publish."""
    if changed is None:
        return []
    out: list[ProcessRecord] = []
    for record in [changed] if isinstance(changed, ProcessRecord) else changed:
        if record is None:
            continue
        out.append(record)
        if not record.processgraphid:
            continue
        if record.state == SUCCESS:
            out += wq.unblock_children(conn, record.processid)
        elif record.state == FAILED:
            out += wq.fail_descendants(conn, record.processid, now)
        wq.refresh_state(conn, record.processgraphid, now)
    return out


def as_op(step: Step, now: int) -> Op[list[ProcessRecord]]:
    return lambda conn: transition(conn, step(conn), now)


async def change(node: NodeCore, step: Step, now: int, *, offloop: bool = False) -> list[ProcessRecord]:
    """Run one step and its consequences as one write; publish what changed after the commit."""
    return await node.change(as_op(step, now), offloop=offloop)


# --- the named changes ------------------------------------------------------------------------
def claim_op(executor: models.Executor, *, cpu: int, mem: int, now: int) -> Op[list[ProcessRecord]]:
    """The next process this executor may run, WAITING → RUNNING (none: an empty list)."""
    return as_op(
        lambda conn: pq.claim(
            conn,
            colonyname=executor.colonyname,
            executortype=executor.executortype,
            executorname=executor.executorname,
            executorid=executor.executorid,
            locationname=executor.locationname,
            availablecpu=cpu,
            availablemem=mem,
            now=now,
        ),
        now,
    )


async def close(
    node: NodeCore,
    *,
    processid: str,
    executorid: str,
    succeeded: bool,
    now: int,
    output: list[Any] | None = None,
    errors: list[str] | None = None,
    starttime: int = 0,
) -> ProcessRecord | None:
    """RUNNING → SUCCESS or FAILED by the executor it is assigned to (in its run that started at
    `starttime`, if not 0); None when it is not (the caller explains why). A success also
    records the executor's function statistics."""
    run = {"processid": processid, "executorid": executorid, "now": now, "starttime": starttime}

    def step(conn: Connection) -> ProcessRecord | None:
        if succeeded:
            encoded = _json.encode(output) if output is not None else None
            return pq.close_success(conn, output=encoded, **run)
        return pq.close(conn, state=FAILED, errors=_json.encode(errors or []), **run)

    records = await change(node, step, now)
    return records[0] if records else None


async def release(node: NodeCore, processid: str, now: int, *, count_retry: bool) -> list[ProcessRecord]:
    """RUNNING → WAITING: back to the queue (counted as a retry when the executor failed it)."""
    return await change(node, lambda conn: pq.release(conn, processid=processid, now=now, count_retry=count_retry), now)


async def cancel(node: NodeCore, processid: str, now: int) -> bool:
    """WAITING or RUNNING → CANCELLED; False when it had ended (or is gone)."""
    return bool(await change(node, lambda conn: pq.cancel(conn, processid=processid, now=now), now))


async def cancel_graph(node: NodeCore, processgraphid: str, now: int) -> list[ProcessRecord]:
    """Every member that has not ended → CANCELLED, and the graph with them."""

    def step(conn: Connection) -> list[ProcessRecord]:
        cancelled = wq.cancel_graph(conn, processgraphid, now)
        if cancelled is None:  # nothing was written
            raise Invalid("Failed to cancel process graph, it has already ended")
        return cancelled

    # the graph's state is written with its members: no consequences to add
    return await node.change(step)


async def enforce_deadlines(node: NodeCore, now: int) -> int:
    """Fail overdue waiting processes; put overdue running ones back in the queue (a retry), or
    fail them when out of retries. How many processes changed."""
    waiting = await node.db.read(lambda conn: pq.expired_waiting(conn, now))
    running = await node.db.read(lambda conn: pq.expired_running(conn, now))
    changed = 0
    for processid in waiting:
        changed += len(await change(
            node, lambda conn, pid=processid: pq.fail_waiting(conn, processid=pid, now=now, errors=_json.encode([WAIT_EXCEEDED])), now
        ))
    for processid, retries, maxretries in running:
        step: Step
        if maxretries > -1 and retries >= maxretries:
            step = lambda conn, pid=processid: pq.fail_running(conn, processid=pid, now=now, errors=_json.encode([EXEC_EXCEEDED]))  # noqa: E731
        else:
            step = lambda conn, pid=processid: pq.release(conn, processid=pid, now=now, count_retry=True)  # noqa: E731
        changed += len(await change(node, step, now))
    return changed
