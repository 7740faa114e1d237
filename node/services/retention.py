"""Retention (spec §4.5), off unless `retention` is set: every `cleanup_interval` seconds, delete
successful processes (with their attributes and channels) that ended, and logs written, more than
`retention_policy` seconds ago.

Processes that belong to a workflow are kept for now: a process graph is removed as a whole, which
is the workflow engine's business. Deletes run in batches of `BATCH` rows, one transaction each.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import partial
from typing import Callable

from sqlalchemy.engine import Connection

from colonies.node.core import NodeCore
from colonies.node.store import retention as rq

log = logging.getLogger(__name__)

NS = 1_000_000_000
BATCH = 1000


@dataclass
class Swept:
    processes: int = 0
    logs: int = 0


async def _drain(core: NodeCore, op: Callable[[Connection], int]) -> int:
    """Repeat a bounded delete until a batch comes back short."""
    total = 0
    while True:
        deleted = await core.db.write(op)
        total += deleted
        if deleted < BATCH:
            return total


async def sweep(core: NodeCore) -> Swept:
    cutoff = core.now_ns() - core.config.retention_policy * NS
    swept = Swept()
    swept.processes = await _drain(core, partial(rq.delete_processes, ended_before=cutoff, limit=BATCH))
    for colonyname in list(core.directory.colonies):
        swept.logs += await _drain(core, partial(rq.delete_logs, colonyname=colonyname, before=cutoff, limit=BATCH))
    if swept.processes or swept.logs:
        log.info("retention: deleted %d processes and %d logs", swept.processes, swept.logs)
    return swept


async def run(core: NodeCore) -> None:
    await core.db.write(rq.ensure_index)
    while True:
        try:
            await sweep(core)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("retention sweep failed")
        await asyncio.sleep(core.config.cleanup_interval)


def service(core: NodeCore):  # type: ignore[no-untyped-def]
    config = core.config
    if not config.retention:
        return None
    if config.retention_policy <= 0 or config.cleanup_interval <= 0:
        log.error("retention is on but retention_policy or cleanup_interval is not positive: retention disabled")
        return None
    return run(core)
