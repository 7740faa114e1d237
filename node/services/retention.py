"""Retention (spec §4.5), off unless `retention` is set: every `cleanup_interval` seconds, delete
successful processes (with their attributes and channels) that ended, and logs written, more than
`retention_policy` seconds ago.

Processes of a workflow go with their graph, once the whole graph has succeeded and ended more
than `retention_policy` seconds ago. Deletes run in batches of `BATCH` rows (graphs: `GRAPH_BATCH`),
one transaction each.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from colonies.node.core import NodeCore
from colonies.node.domain.removals import in_batches
from colonies.node.services.base import every
from colonies.node.store import retention as rq

log = logging.getLogger(__name__)

NS = 1_000_000_000
BATCH = 1000
GRAPH_BATCH = 100


@dataclass
class Swept:
    processes: int = 0
    graphs: int = 0
    logs: int = 0


async def sweep(core: NodeCore) -> Swept:
    cutoff = core.now_ns() - core.config.retention_policy * NS
    swept = Swept()
    db = core.db
    swept.processes = await in_batches(db, lambda conn, n: rq.delete_processes(conn, ended_before=cutoff, limit=n), BATCH)
    swept.graphs = await in_batches(db, lambda conn, n: rq.delete_graphs(conn, ended_before=cutoff, limit=n), GRAPH_BATCH)
    for colonyname in list(core.directory.colonies):
        swept.logs += await in_batches(db, lambda conn, n, name=colonyname: rq.delete_logs(conn, colonyname=name, before=cutoff, limit=n), BATCH)
    if swept.processes or swept.graphs or swept.logs:
        log.info("retention: deleted %d processes, %d workflows and %d logs", swept.processes, swept.graphs, swept.logs)
    return swept


async def run(core: NodeCore) -> None:
    await core.db.write(rq.ensure_index)
    await every(core.config.cleanup_interval, lambda: sweep(core), what="retention sweep")


def service(core: NodeCore):  # type: ignore[no-untyped-def]
    config = core.config
    if not config.retention:
        return None
    if config.retention_policy <= 0 or config.cleanup_interval <= 0:
        log.error("retention is on but retention_policy or cleanup_interval is not positive: retention disabled")
        return None
    return run(core)
