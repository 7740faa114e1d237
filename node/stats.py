"""Statistics of one colony or of the whole node (getcolonystatsmsg, getstatisticsmsg)."""
from __future__ import annotations

from colonies import models
from colonies.node.core import NodeCore
from colonies.node.store import processes as pq
from colonies.node.store import workflows as wq


async def statistics(core: NodeCore, colonyname: str | None) -> models.Statistics:
    """Counts for `colonyname`, or for every colony when None."""
    # counting reads every row of the colony: off the loop
    counts = await core.db.read(lambda conn: pq.count_by_state(conn, colonyname), offloop=True)
    graphs = await core.db.read(lambda conn: wq.count_by_state(conn, colonyname), offloop=True)
    if colonyname is None:
        executors = [e for name in core.directory.colonies for e in core.directory.executors_of(name)]
    else:
        executors = core.directory.executors_of(colonyname)
    return models.Statistics(
        colonies=len(core.directory.colonies) if colonyname is None else 1,
        executors=sum(1 for e in executors if e.state != models.UNREGISTERED),
        activeexecutors=sum(1 for e in executors if e.state == models.APPROVED),
        unregisteredexecutors=sum(1 for e in executors if e.state == models.UNREGISTERED),
        waitingprocesses=counts.get(models.WAITING, 0),
        runningprocesses=counts.get(models.RUNNING, 0),
        successfulprocesses=counts.get(models.SUCCESS, 0),
        failedprocesses=counts.get(models.FAILED, 0),
        cancelledprocesses=counts.get(models.CANCELLED, 0),
        waitingworkflows=graphs.get(models.WAITING, 0),
        runningworkflows=graphs.get(models.RUNNING, 0),
        successfulworkflows=graphs.get(models.SUCCESS, 0),
        failedworkflows=graphs.get(models.FAILED, 0),
        cancelledworkflows=graphs.get(models.CANCELLED, 0),
    )
