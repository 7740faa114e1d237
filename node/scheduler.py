"""Long-poll wake-ups for assign: one waiting executor is woken per process that becomes assignable.

Waiters queue FIFO per (colony, executortype). A new waiting process wakes the first waiter that
could take it (executor name, location, cpu, mem), never all of them: no thundering herd. The
claim itself is done by the store; a woken waiter that loses the race simply waits again.
"""
from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

import msgspec

_json = msgspec.json.Encoder()


@dataclass(eq=False, slots=True)
class Waiter:
    colonyname: str
    executortype: str
    executorname: str
    locationname: str
    availablecpu: int
    availablemem: int
    # resolved with the (executornames, locationname, cpu, mem) of the process that woke it
    future: asyncio.Future[tuple[str, str, int, int]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def accepts(self, executornames: str, locationname: str, cpu: int, mem: int) -> bool:
        if executornames and _json.encode(self.executorname).decode() not in executornames:
            return False
        if locationname and locationname != self.locationname.lower():
            return False
        return cpu <= self.availablecpu and mem <= self.availablemem


class Scheduler:
    def __init__(self) -> None:
        self._waiters: dict[tuple[str, str], deque[Waiter]] = {}

    def register(self, waiter: Waiter) -> Waiter:
        self._waiters.setdefault((waiter.colonyname, waiter.executortype), deque()).append(waiter)
        return waiter

    def unregister(self, waiter: Waiter) -> None:
        queue = self._waiters.get((waiter.colonyname, waiter.executortype))
        if queue is not None:
            try:
                queue.remove(waiter)
            except ValueError:
                pass
            if not queue:
                self._waiters.pop((waiter.colonyname, waiter.executortype), None)

    def notify(self, colonyname: str, executortype: str, executornames: str, locationname: str, cpu: int, mem: int) -> bool:
        """A process became assignable: wake one waiter that can take it. True if one was woken."""
        queue = self._waiters.get((colonyname, executortype))
        if not queue:
            return False
        for waiter in queue:
            if not waiter.future.done() and waiter.accepts(executornames, locationname, cpu, mem):
                queue.remove(waiter)
                waiter.future.set_result((executornames, locationname, cpu, mem))
                return True
        return False

    def pass_on(self, waiter: Waiter) -> None:
        """A woken waiter that will not claim: wake another one for the same process."""
        if waiter.future.done() and not waiter.future.cancelled() and waiter.future.result() is not None:
            self.notify(waiter.colonyname, waiter.executortype, *waiter.future.result())

    def wake_colony(self, colonyname: str) -> None:
        """Wake every waiter of a colony (assignments resumed, colony removed)."""
        for key in [k for k in self._waiters if k[0] == colonyname]:
            for waiter in self._waiters.pop(key):
                if not waiter.future.done():
                    waiter.future.set_result(None)  # type: ignore[arg-type]

    def waiting_count(self, colonyname: str, executortype: str) -> int:
        return len(self._waiters.get((colonyname, executortype), ()))
