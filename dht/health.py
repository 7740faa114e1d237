"""Per-peer liveness: last seen, consecutive missed replies, and a back-off while suspect.

kademlia 2.2.3 drops a peer from the routing table after one missed reply (one lost UDP
datagram is enough). Here a miss only suspends the peer for a back-off that doubles per miss;
it is evicted after `max_failures` consecutive misses. A suspended peer is not dialed, so a dead
peer costs one RPC timeout per back-off window instead of one per lookup.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

_MAX_TRACKED = 4096


@dataclass
class PeerHealth:
    last_seen: float | None = None  # unix seconds of the last message from the peer
    failures: int = 0
    suspended_until: float = 0.0  # monotonic


class HealthBook:
    def __init__(self, *, max_failures: int, backoff: float) -> None:
        if max_failures < 1 or backoff < 0:
            raise ValueError("max_failures must be >= 1 and backoff >= 0")
        self.max_failures = max_failures
        self.backoff = backoff
        self._peers: dict[bytes, PeerHealth] = {}

    def get(self, node_id: bytes) -> PeerHealth:
        return self._peers.get(node_id) or PeerHealth()

    def alive(self, node_id: bytes) -> None:
        health = self._entry(node_id)
        health.last_seen = time.time()
        health.failures = 0
        health.suspended_until = 0.0

    def missed(self, node_id: bytes) -> bool:
        """Record a missed reply; True when the peer should now be evicted."""
        health = self._entry(node_id)
        health.failures += 1
        health.suspended_until = time.monotonic() + self.backoff * 2 ** (health.failures - 1)
        if health.failures >= self.max_failures:
            del self._peers[node_id]
            return True
        return False

    def suspended(self, node_id: bytes) -> bool:
        health = self._peers.get(node_id)
        return health is not None and health.suspended_until > time.monotonic()

    def forget(self, node_id: bytes) -> None:
        self._peers.pop(node_id, None)

    def _entry(self, node_id: bytes) -> PeerHealth:
        health = self._peers.get(node_id)
        if health is None:
            if len(self._peers) >= _MAX_TRACKED:
                self._prune()
            health = self._peers[node_id] = PeerHealth()
        return health

    def _prune(self) -> None:
        now = time.monotonic()
        for node_id in [n for n, h in self._peers.items() if h.suspended_until <= now]:
            del self._peers[node_id]
        while len(self._peers) >= _MAX_TRACKED:
            del self._peers[next(iter(self._peers))]
