"""Choosing providers for a batch of processes: spread in proportion to live executors.

A provider's load is what it queues and runs per live executor, counting what this node has sent
it since that figure was reported. Each choice adds one to the chosen provider's load, so a burst
fills providers evenly instead of piling onto whichever looked least loaded first.
"""
from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

from colonies.federation.messages import Provider


def load(provider: Provider, sent: int) -> float:
    return (provider.waiting + provider.running + sent) / max(provider.live, 1)


def allocate(count: int, providers: Sequence[Provider], sent: Mapping[str, int], rtt: Mapping[str, float]) -> list[Provider]:
    """`count` choices among `providers` (live > 0), least loaded first; ties go to the nearest
    (smoothed round trip), then the lowest node id, so the same inputs give the same choices."""
    usable = [p for p in providers if p.live > 0]
    if not usable or count <= 0:
        return []
    extra = {p.node_id: sent.get(p.node_id, 0) for p in usable}
    heap = [(load(p, extra[p.node_id]), rtt.get(p.node_id, 1.0), p.node_id, i) for i, p in enumerate(usable)]
    heapq.heapify(heap)
    choices = []
    for _ in range(count):
        _, near, node_id, i = heapq.heappop(heap)
        provider = usable[i]
        choices.append(provider)
        extra[node_id] += 1
        heapq.heappush(heap, (load(provider, extra[node_id]), near, node_id, i))
    return choices
