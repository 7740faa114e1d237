"""maxwaittime and maxexectime enforcement (spec §4.3), once a second."""
from __future__ import annotations

from colonies.node.core import NodeCore
from colonies.node.domain import processes
from colonies.node.services.base import every


async def check_once(core: NodeCore) -> int:
    return await processes.enforce_deadlines(core, core.now_ns())


async def run(core: NodeCore, interval: float) -> None:
    await every(interval, lambda: check_once(core), what="timeout check")


def service(core: NodeCore):  # type: ignore[no-untyped-def]
    return run(core, core.config.timeout_check_interval)
