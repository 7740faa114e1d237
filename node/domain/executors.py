"""Executors leaving a colony, for the removeexecutormsg handler and the stale-executor service."""
from __future__ import annotations

from sqlalchemy.engine import Connection

from colonies import models
from colonies.models import UNREGISTERED
from colonies.node.core import NodeCore
from colonies.node.domain.processes import change
from colonies.node.store import directory as dq
from colonies.node.store import processes as pq
from colonies.node.store.processes import ProcessRecord


async def unregister(node: NodeCore, executor: models.Executor) -> int:
    """Remove an executor from its colony (removeexecutormsg, stale-executor cleanup): its functions
    go, it is kept as UNREGISTERED, and the processes it was running go back to the queue.
    Returns how many processes changed."""
    colonyname, name, executorid = executor.colonyname, executor.executorname, executor.executorid
    now = node.now_ns()

    def step(conn: Connection) -> list[ProcessRecord]:
        dq.unregister_executor(conn, colonyname, name)
        return pq.release_executor_processes(conn, colonyname, executorid, now)

    released = await change(node, step, now)
    node.directory.update_executor(colonyname, name, state=UNREGISTERED)
    node.directory.forget_functions_of(colonyname, name)
    return len(released)
