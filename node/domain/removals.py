"""Removing processes, workflows and colonies: checked again inside the write (a process may be
assigned between the read and the write), and bulk removals as a series of short transactions so
that other requests get through between two (docs/protocol.md, "Bounded replies and bulk
removals")."""
from __future__ import annotations

import asyncio
from typing import Any, Callable, TypeVar

from sqlalchemy.engine import Connection

from colonies.models import CANCELLED, FAILED, RUNNING, SUCCESS, WAITING
from colonies.node.core import NodeCore
from colonies.node.domain.errors import Invalid
from colonies.node.store import directory as dq
from colonies.node.store import logs as lq
from colonies.node.store import processes as pq
from colonies.node.store import workflows as wq
from colonies.node.store.database import Database

# rows one transaction of a bulk removal deletes
REMOVE_BATCH = 500
# what a remove-all message with state -1 removes: all but RUNNING
REMOVABLE = (WAITING, SUCCESS, FAILED, CANCELLED)
MIN_PRIORITYTIME = -(2**63)

Cursor = TypeVar("Cursor")


def states_to_remove(state: int, what: str) -> tuple[int, ...]:
    """The states a remove-all message's `state` names (-1: every state but RUNNING)."""
    if state == -1:
        return REMOVABLE
    if state not in REMOVABLE:
        raise Invalid(f"Failed to remove {what}, state must be -1 (all but running), 0, 2, 3 or 4")
    return (state,)


async def _remove_unless_running(node: NodeCore, current: Callable[[Connection], Any], remove: Callable[[Connection], int], what: str) -> None:
    def op(conn: Connection) -> int:
        found = current(conn)
        return 0 if found is None or found.state == RUNNING else remove(conn)

    if not await node.db.write(op):
        raise Invalid(f"Failed to remove {what}, it is running or gone")


async def remove_process(node: NodeCore, processid: str) -> None:
    """A process that is not running (nor a workflow member: those go with their workflow)."""
    await _remove_unless_running(node, lambda conn: pq.get_record(conn, processid), lambda conn: pq.remove(conn, processid), "process")


async def remove_all_processes(node: NodeCore, colonyname: str, state: int) -> int:
    removed = 0
    for one in states_to_remove(state, "processes"):
        removed += await in_batches_from(
            node.db,
            lambda conn, after, limit, one=one: pq.remove_batch(conn, colonyname, one, after=after, limit=limit),
            MIN_PRIORITYTIME,
        )
    return removed


async def remove_graph(node: NodeCore, processgraphid: str) -> None:
    """A workflow that is not running, with its members."""
    await _remove_unless_running(
        node, lambda conn: wq.get_graph(conn, processgraphid, detailed=False), lambda conn: wq.remove_graph(conn, processgraphid), "process graph"
    )


async def remove_all_graphs(node: NodeCore, colonyname: str, state: int) -> int:
    removed = 0
    for one in states_to_remove(state, "process graphs"):
        removed += await in_batches(node.db, lambda conn, limit, one=one: wq.remove_graphs_batch(conn, colonyname, one, limit))
    return removed


async def remove_colony(node: NodeCore, name: str) -> None:
    """The big tables first, in short transactions; the rest goes with the colony in one. Its
    waiting executors are woken (and find it gone)."""
    db = node.db
    await in_batches(db, lambda conn, limit: pq.remove_colony_batch(conn, name, limit))
    await in_batches(db, lambda conn, limit: wq.remove_colony_graphs(conn, name, limit))
    await in_batches(db, lambda conn, limit: lq.remove_colony_batch(conn, name, limit))
    await db.write(lambda conn: dq.remove_colony(conn, name))
    node.directory.remove_colony(name)
    node.scheduler.wake_colony(name)


async def in_batches(db: Database, batch: Callable[[Connection, int], int], limit: int | None = None) -> int:
    """Repeat `batch(conn, limit)` (→ rows removed), one write transaction each, until it removes
    fewer than `limit` (REMOVE_BATCH unless given); the rows removed."""
    return await in_batches_from(db, lambda conn, _, n: (batch(conn, n), None), None, limit)


async def in_batches_from(
    db: Database, batch: Callable[[Connection, Cursor, int], tuple[int, Cursor]], cursor: Cursor, limit: int | None = None
) -> int:
    """As `in_batches`, for a batch that says where the next one goes on:
    `batch(conn, cursor, limit)` → (rows removed, next cursor)."""
    total = 0
    size = limit
    while True:
        limit = size or REMOVE_BATCH
        # off the loop on SQLite: a batch of 500 with its attributes and channels takes ~10-30 ms
        removed, cursor = await db.write(lambda conn, at=cursor, n=limit: batch(conn, at, n), offloop=True)
        total += removed
        if removed < limit:
            return total
        await asyncio.sleep(0)  # a turn for whatever else is ready before the next batch
