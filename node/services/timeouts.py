"""maxwaittime and maxexectime enforcement (spec §4.3), once a second."""
from __future__ import annotations


import msgspec

from colonies.node.core import NodeCore
from colonies.node.services.base import every
from colonies.node.store import processes as pq
from colonies.node.store import workflows as wq
from colonies.node.store.processes import ProcessRecord


WAIT_EXCEEDED = "Maximum waiting time limit exceeded"
EXEC_EXCEEDED = "Maximum execution time limit exceeded"
_json = msgspec.json.Encoder()


async def check_once(core: NodeCore) -> int:
    """Fail overdue waiting processes; release (or fail, when out of retries) overdue running ones."""
    now = core.now_ns()
    waiting = await core.db.read(lambda conn: pq.expired_waiting(conn, now))
    running = await core.db.read(lambda conn: pq.expired_running(conn, now))
    changed: list[ProcessRecord] = []
    for processid in waiting:
        changed += await core.change(
            lambda conn, pid=processid: wq.changed(conn, pq.fail_waiting(conn, processid=pid, now=now, errors=_json.encode([WAIT_EXCEEDED])), now)
        )
    for processid, retries, maxretries in running:
        if maxretries > -1 and retries >= maxretries:
            op = lambda conn, pid=processid: pq.fail_running(conn, processid=pid, now=now, errors=_json.encode([EXEC_EXCEEDED]))  # noqa: E731
        else:
            op = lambda conn, pid=processid: pq.release(conn, processid=pid, now=now, count_retry=True)  # noqa: E731
        changed += await core.change(lambda conn, op=op: wq.changed(conn, op(conn), now))
    return len(changed)


async def run(core: NodeCore, interval: float) -> None:
    await every(interval, lambda: check_once(core), what="timeout check")


def service(core: NodeCore):  # type: ignore[no-untyped-def]
    return run(core, core.config.timeout_check_interval)
