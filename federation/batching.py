"""Coalescing calls per peer: at most one call in flight to a peer per message kind; whatever is
asked for meanwhile travels together in the next call. A lone item goes out at once (no timer),
a burst costs one round trip per batch instead of one per item."""
from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
I = TypeVar("I")
R = TypeVar("R")

# send(key, items) → one result per item, in order; raising fails every item of the batch
Send = Callable[[K, list[I]], Awaitable[Sequence[R]]]


class Coalescer(Generic[K, I, R]):
    def __init__(self, send: Send[K, I, R], *, max_batch: int = 256) -> None:
        self._send = send
        self.max_batch = max_batch
        self._queues: dict[K, deque[tuple[I, asyncio.Future[R]]]] = {}
        self._running: dict[K, asyncio.Task[None]] = {}

    def submit(self, key: K, item: I) -> asyncio.Future[R]:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(key, deque()).append((item, future))
        if key not in self._running:
            self._running[key] = asyncio.create_task(self._drain(key), name=f"federation-batch-{key}")
        return future

    async def call(self, key: K, item: I) -> R:
        return await self.submit(key, item)

    async def _drain(self, key: K) -> None:
        queue = self._queues[key]
        try:
            while queue:
                batch = [queue.popleft() for _ in range(min(len(queue), self.max_batch))]
                live = [(item, future) for item, future in batch if not future.done()]
                if not live:
                    continue
                try:
                    results = await self._send(key, [item for item, _ in live])
                except asyncio.CancelledError:
                    for _, future in live:
                        future.cancel()
                    raise
                except Exception as err:  # the whole batch failed: every caller sees why
                    for _, future in live:
                        if not future.done():
                            future.set_exception(err)
                    continue
                for (_, future), result in zip(live, results):
                    if not future.done():
                        future.set_result(result)
        finally:
            del self._running[key]
            if not queue:
                self._queues.pop(key, None)
            else:  # cancelled with items left: they fail rather than hang
                for _, future in queue:
                    future.cancel()
                queue.clear()
                self._queues.pop(key, None)

    async def close(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
