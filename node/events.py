"""In-process pub/sub of process state changes for /pubsub subscribers and the scheduler."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Callable

from colonies.models import WAITING
from colonies.node.scheduler import Scheduler
from colonies.node.store.processes import ProcessRecord

log = logging.getLogger(__name__)

SUBSCRIBER_BUFFER = 1000


@dataclass(eq=False)
class Subscription:
    """Either one process (processid set) or all processes of some colonies and an executor type."""

    state: int
    executortype: str
    processid: str = ""
    colonies: frozenset[str] = frozenset()
    queue: asyncio.Queue[ProcessRecord] = field(default_factory=lambda: asyncio.Queue(SUBSCRIBER_BUFFER))
    overflowed: bool = False

    def matches(self, record: ProcessRecord) -> bool:
        if record.state != self.state:
            return False
        if self.processid:
            return record.processid == self.processid
        return record.colonyname in self.colonies and record.executortype == self.executortype


class ProcessEvents:
    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self._by_process: dict[str, list[Subscription]] = {}
        self._general: list[Subscription] = []
        # called with every published record (federation watches for work it could forward)
        self.listeners: list[Callable[[ProcessRecord], None]] = []

    def subscribe(self, sub: Subscription) -> Subscription:
        if sub.processid:
            self._by_process.setdefault(sub.processid, []).append(sub)
        else:
            self._general.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub.processid:
            subs = self._by_process.get(sub.processid, [])
            if sub in subs:
                subs.remove(sub)
            if not subs:
                self._by_process.pop(sub.processid, None)
        elif sub in self._general:
            self._general.remove(sub)

    def publish(self, record: ProcessRecord) -> None:
        """Call after the change is committed."""
        if record.state == WAITING and not record.waitforparents:
            self.scheduler.notify(
                record.colonyname, record.executortype, record.executornames, record.locationname, record.cpu, record.mem
            )
        for sub in self._by_process.get(record.processid, ()):
            if sub.matches(record):
                self._deliver(sub, record)
        for sub in self._general:
            if sub.matches(record):
                self._deliver(sub, record)
        for listener in self.listeners:
            try:
                listener(record)
            except Exception:  # a watcher's bug must not fail the change that was committed
                log.exception("process event listener %r failed", listener)

    @staticmethod
    def _deliver(sub: Subscription, record: ProcessRecord) -> None:
        try:
            sub.queue.put_nowait(record)
        except asyncio.QueueFull:
            sub.overflowed = True
