"""Write-behind of executor liveness: assign calls update memory, this flushes it to the store."""
from __future__ import annotations


from colonies.node.core import NodeCore
from colonies.node.services.base import every
from colonies.node.store import directory as dq



async def flush(core: NodeCore, flushed: dict[str, int]) -> None:
    changed = {eid: ts for eid, ts in core.heard_from.items() if flushed.get(eid) != ts}
    if changed:
        await core.db.write(lambda conn: dq.touch_executors(conn, changed))
        flushed.update(changed)


async def run(core: NodeCore, interval: float = 2.0) -> None:
    flushed: dict[str, int] = {}
    try:
        await every(interval, lambda: flush(core, flushed), what="liveness flush", wait_first=True)
    finally:
        # last flush on shutdown
        try:
            await flush(core, flushed)
        except Exception:
            pass


def service(core: NodeCore):  # type: ignore[no-untyped-def]
    return run(core)
