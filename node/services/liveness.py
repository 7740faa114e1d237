"""Executor liveness: any signed call of a known executor updates memory (node/app.py, the assign
handler), this flushes it to the store and, at start, recalls what the store last held."""
from __future__ import annotations


from colonies.node.core import NodeCore
from colonies.node.services.base import every
from colonies.node.store import directory as dq


async def recall(core: NodeCore, flushed: dict[str, int]) -> None:
    """The stored last contacts, so that after a restart an executor that only closes, logs or
    sets outputs (a busy one does not poll) is still known as one whose calls count."""
    rows = await core.db.read(dq.executor_liveness)
    for _colony, _name, executorid, _commissioned, stored in rows:
        if stored and core.heard_from.get(executorid, 0) < stored:
            core.heard_from[executorid] = flushed[executorid] = stored


async def flush(core: NodeCore, flushed: dict[str, int]) -> None:
    changed = {eid: ts for eid, ts in core.heard_from.items() if flushed.get(eid) != ts}
    if changed:
        await core.db.write(lambda conn: dq.touch_executors(conn, changed))
        flushed.update(changed)


async def run(core: NodeCore, interval: float = 2.0) -> None:
    flushed: dict[str, int] = {}
    try:
        await recall(core, flushed)
        await every(interval, lambda: flush(core, flushed), what="liveness flush", wait_first=True)
    finally:
        # last flush on shutdown
        try:
            await flush(core, flushed)
        except Exception:
            pass


def service(core: NodeCore):  # type: ignore[no-untyped-def]
    return run(core)
