"""Stale-executor cleanup (spec §4.5): executors silent for too long are removed from their colony.

Every `cleanup_interval` seconds, an executor whose last contact (its latest signed call from its
first assign on: this node's memory, or the stored value written behind by the liveness service)
is older than `stale_executor_duration` seconds is unregistered exactly as `removeexecutormsg`
does: what it was running goes back to the queue, a retry each, whatever its maxexectime.
Executors never heard from since they were (re)registered are left alone. The same run puts
back processes left RUNNING on executors already removed or rejected.
"""
from __future__ import annotations

import logging

from colonies import models
from colonies.node.core import NodeCore
from colonies.node.services.base import every
from colonies.node.domain.executors import release_orphaned, unregister
from colonies.node.store import directory as dq
from colonies.node.store import processes as pq

log = logging.getLogger(__name__)

NS = 1_000_000_000


def _last_heard(core: NodeCore, executorid: str, commissioned: int, stored: int, started: int) -> int:
    """Latest contact since commissioning, 0 if none: a reused id must not inherit old contact.
    `started`: when the latest process it runs was assigned to it (its assign call), known even
    when the node stopped before the contact was written behind."""
    heard = max(core.heard_from.get(executorid, 0), stored, started)
    return heard if heard >= commissioned else 0


def _cutoff(core: NodeCore) -> int:
    return core.now_ns() - core.config.stale_executor_duration * NS


async def stale_executors(core: NodeCore) -> list[models.Executor]:
    cutoff = _cutoff(core)
    rows = await core.db.read(dq.executor_liveness)
    colonies = list(core.directory.colonies)
    started = {(c, e): s for c, e, s in await core.db.read(lambda conn: pq.running_assignees(conn, colonies))}
    stale = []
    for colonyname, name, executorid, commissioned, stored in rows:
        heard = _last_heard(core, executorid, commissioned, stored, started.get((colonyname, executorid), 0))
        if heard == 0 or heard >= cutoff:
            continue
        executor = core.directory.executor(colonyname, name)
        # the directory is the live truth: skip an executor removed or re-keyed meanwhile
        if executor is not None and executor.executorid == executorid and executor.state != models.UNREGISTERED:
            stale.append(executor)
    return stale


async def sweep(core: NodeCore) -> list[models.Executor]:
    """Remove the stale executors; the ones removed."""
    removed = []
    for executor in await stale_executors(core):
        # earlier removals awaited commits: the executor may have called in or changed since
        current = core.directory.executor(executor.colonyname, executor.executorname)
        if current is not executor or core.heard_from.get(executor.executorid, 0) >= _cutoff(core):
            continue
        released = await unregister(core, executor)
        log.info(
            "removed stale executor %s of colony %s (%d processes back in the queue)",
            executor.executorname,
            executor.colonyname,
            released,
        )
        removed.append(executor)
    orphans = await release_orphaned(core)
    if orphans:
        log.info("%d processes of removed or rejected executors back in the queue", orphans)
    return removed


async def run(core: NodeCore) -> None:
    await every(core.config.cleanup_interval, lambda: sweep(core), what="stale executor cleanup", wait_first=True)


def service(core: NodeCore):  # type: ignore[no-untyped-def]
    if core.config.stale_executor_duration <= 0 or core.config.cleanup_interval <= 0:
        return None
    return run(core)
