"""Coalescing calls per peer: one call in flight, the rest of a burst in the next batch."""
from __future__ import annotations

import asyncio

import pytest

from colonies.federation.batching import Coalescer


async def test_items_asked_for_while_a_call_is_in_flight_travel_together():
    calls: list[list[int]] = []
    gate = asyncio.Event()

    async def send(key: str, items: list[int]) -> list[int]:
        calls.append(list(items))
        if len(calls) == 1:
            await gate.wait()
        return [i * 10 for i in items]

    batcher: Coalescer[str, int, int] = Coalescer(send)
    first = batcher.submit("peer", 1)
    await asyncio.sleep(0)  # the first call is now in flight
    rest = [batcher.submit("peer", i) for i in range(2, 6)]
    gate.set()
    assert await first == 10
    assert await asyncio.gather(*rest) == [20, 30, 40, 50]
    assert calls == [[1], [2, 3, 4, 5]]


async def test_a_burst_submitted_at_once_is_one_call_and_keys_do_not_mix():
    calls: list[tuple[str, list[int]]] = []

    async def send(key: str, items: list[int]) -> list[int]:
        calls.append((key, list(items)))
        return items

    batcher: Coalescer[str, int, int] = Coalescer(send, max_batch=3)
    results = await asyncio.gather(*(batcher.submit("a", i) for i in range(5)), batcher.submit("b", 9))
    assert results == [0, 1, 2, 3, 4, 9]
    assert [items for key, items in calls if key == "a"] == [[0, 1, 2], [3, 4]]
    assert [items for key, items in calls if key == "b"] == [[9]]


async def test_a_failed_call_fails_every_item_of_its_batch_and_the_next_batch_still_goes():
    async def send(key: str, items: list[int]) -> list[int]:
        if 0 in items:
            raise ConnectionError("peer gone")
        return items

    batcher: Coalescer[str, int, int] = Coalescer(send)
    doomed = batcher.submit("a", 0)
    with pytest.raises(ConnectionError):
        await doomed
    assert await batcher.call("a", 7) == 7
