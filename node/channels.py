"""In-memory side of process channels (spec §2.11, §4.8): live subscribers and append rate limits.

The entries themselves live in the store (node/store/channels.py). A subscriber registers a
`Watch` on its channel *before* reading the log, then sleeps on the watch; after each committed
append the handler calls `ChannelHub.notify`, which wakes every watch of that channel. A woken
subscriber reads what it has not seen yet from the store, so nothing is lost between a read and a
wake-up, nothing is sent twice, and a slow subscriber is never dropped: it simply reads more at a
time (the store is its buffer).
"""
from __future__ import annotations

import asyncio
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

RATE_PER_SECOND = 100.0
BURST = 500.0
# Above this many per-process buckets, buckets that are full again (idle processes) are dropped.
PRUNE_ABOVE = 4096

ChannelKey = tuple[str, str]  # (processid, channel name)


@dataclass(eq=False)
class Watch:
    """One live subscriber of one channel; `event` is set when new entries may be readable."""

    key: ChannelKey
    event: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class TokenBucket:
    """`rate` tokens per second up to `burst`; starts full."""

    rate: float
    burst: float
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def take(self, now: float) -> bool:
        self.refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def is_full(self, now: float) -> bool:
        self.refill(now)
        return self.tokens >= self.burst


class ChannelHub:
    def __init__(
        self,
        *,
        rate: float = RATE_PER_SECOND,
        burst: float = BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._watches: dict[ChannelKey, set[Watch]] = {}
        self._buckets: dict[str, TokenBucket] = {}
        # payload bytes stored in each process's channels, counted from the store on first use
        self.stored_bytes: dict[str, int] = {}

    # --- live subscribers --------------------------------------------------------------------
    @contextmanager
    def watch(self, processid: str, name: str) -> Iterator[Watch]:
        key = (processid, name)
        watch = Watch(key)
        self._watches.setdefault(key, set()).add(watch)
        try:
            yield watch
        finally:
            watches = self._watches.get(key)
            if watches is not None:
                watches.discard(watch)
                if not watches:
                    del self._watches[key]

    def notify(self, processid: str, name: str) -> None:
        """Call after an append to the channel is committed."""
        for watch in self._watches.get((processid, name), ()):
            watch.event.set()

    def watching(self, processid: str, name: str) -> int:
        return len(self._watches.get((processid, name), ()))

    # --- quota (the byte counts; node/handlers/channels.py enforces max_channel_bytes) ----------
    def add_stored(self, processid: str, size: int) -> None:
        if processid not in self.stored_bytes and len(self.stored_bytes) >= PRUNE_ABOVE:
            self.stored_bytes.pop(next(iter(self.stored_bytes)))  # counted again from the store if it comes back
        self.stored_bytes[processid] = self.stored_bytes.get(processid, 0) + size

    # --- rate limit ------------------------------------------------------------------------
    def allow_append(self, processid: str) -> bool:
        """Take one token from the process's bucket; False when it is empty."""
        now = self._clock()
        bucket = self._buckets.get(processid)
        if bucket is None:
            if len(self._buckets) >= PRUNE_ABOVE:
                self._prune(now)
            bucket = self._buckets[processid] = TokenBucket(self.rate, self.burst, self.burst, now)
        return bucket.take(now)

    def _prune(self, now: float) -> None:
        for processid in [p for p, b in self._buckets.items() if b.is_full(now)]:
            del self._buckets[processid]
