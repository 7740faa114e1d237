"""Executors leaving a colony or losing its trust, for the removeexecutormsg and rejectexecutormsg
handlers and the stale-executor service: the processes they were running go back to the queue."""
from __future__ import annotations

from typing import Callable

from sqlalchemy.engine import Connection

from colonies import models
from colonies.models import REJECTED, UNREGISTERED
from colonies.node.core import NodeCore
from colonies.node.domain.processes import change
from colonies.node.store import directory as dq
from colonies.node.store import processes as pq
from colonies.node.store.processes import ProcessRecord


async def _without_its_processes(node: NodeCore, executor: models.Executor, update: Callable[[Connection], None]) -> int:
    """`update` the executor and put the processes it was running back in the queue (a retry
    each: it will not close them), in one commit. How many processes went back."""
    colonyname, executorid = executor.colonyname, executor.executorid
    now = node.now_ns()

    def step(conn: Connection) -> list[ProcessRecord]:
        update(conn)
        return pq.release_executor_processes(conn, colonyname, executorid, now)

    return len(await change(node, step, now))


async def unregister(node: NodeCore, executor: models.Executor) -> int:
    """Remove an executor from its colony (removeexecutormsg, stale-executor cleanup): its functions
    go, it is kept as UNREGISTERED, and the processes it was running go back to the queue.
    Returns how many processes changed."""
    colonyname, name = executor.colonyname, executor.executorname
    released = await _without_its_processes(node, executor, lambda conn: dq.unregister_executor(conn, colonyname, name))
    node.directory.update_executor(colonyname, name, state=UNREGISTERED)
    return released


async def reject(node: NodeCore, executor: models.Executor) -> int:
    """The colony owner rejects an executor: it may no longer set outputs or close, so what it
    was running goes back to the queue. Returns how many processes changed."""
    colonyname, name = executor.colonyname, executor.executorname
    released = await _without_its_processes(node, executor, lambda conn: dq.set_executor_state(conn, colonyname, name, REJECTED))
    node.directory.update_executor(colonyname, name, state=REJECTED)
    return released


async def release_orphaned(node: NodeCore) -> int:
    """Processes still RUNNING on an executor that was removed or rejected (a crash between, or
    a store from before those released them) go back to the queue. Ids the directory does not
    know are left alone: they are peer nodes running forwarded work (federation watches them).
    Returns how many processes changed."""
    released = 0
    colonies = list(node.directory.colonies)
    for colonyname, executorid, _started in await node.db.read(lambda conn: pq.running_assignees(conn, colonies)):
        executor = node.directory.executor_by_id(colonyname, executorid)
        if executor is not None and executor.executorid == executorid and executor.state in (UNREGISTERED, REJECTED):
            released += await _without_its_processes(node, executor, lambda conn: None)
    return released
