"""Which executor types run here: approved executors heard from recently, or long-polling now."""
from __future__ import annotations

import time

from colonies.models import APPROVED
from colonies.node.core import NodeCore

NS = 1_000_000_000
CACHE_SECONDS = 0.5  # asked on every published process; executors come and go far slower


class LiveExecutors:
    def __init__(self, core: NodeCore) -> None:
        self.core = core
        self._cache: dict[str, tuple[float, dict[str, int]]] = {}

    def types(self, colonyname: str) -> dict[str, int]:
        """Executor type → live executors of it in the colony."""
        cached = self._cache.get(colonyname)
        now = time.monotonic()
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        live = self._count(colonyname)
        self._cache[colonyname] = (now, live)
        return live

    def _count(self, colonyname: str) -> dict[str, int]:
        now = time.time_ns()
        window = int(self.core.config.live_window * NS)
        live: dict[str, int] = {}
        for executor in self.core.directory.executors_of(colonyname):
            if executor.state != APPROVED:
                continue
            heard = self.core.heard_from.get(executor.executorid, 0)
            if now - heard <= window or self.core.scheduler.waiting_count(colonyname, executor.executortype):
                live[executor.executortype] = live.get(executor.executortype, 0) + 1
        return live

    def forget(self) -> None:
        self._cache.clear()

