"""Per-peer liveness: last seen, consecutive missed replies, suspicion and re-probing.

kademlia 2.2.3 drops a peer from the routing table after one missed reply (one lost UDP
datagram is enough), and a dead peer that others still list costs every lookup an RPC timeout.
Here a missed reply makes the peer *suspect*: lookups and node lists skip it, and it is re-probed
in the background after a back-off that doubles per miss. An answer (or any message from it)
clears it; `max_failures` misses in a row evict it from the routing table, and it stays suspect
for `quarantine` seconds so that other nodes' stale lists do not bring it back at once.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

_MAX_TRACKED = 4096


@dataclass
class PeerHealth:
    last_seen: float | None = None  # unix seconds of the last message from the peer
    failures: int = 0  # consecutive missed replies
    failed_at: float = 0.0  # monotonic time of the last miss
    retry_at: float = 0.0  # monotonic time from which a probe is due


class HealthBook:
    def __init__(self, *, max_failures: int, backoff: float, quarantine: float | None = None) -> None:
        if max_failures < 1 or backoff < 0:
            raise ValueError("max_failures must be >= 1 and backoff >= 0")
        self.max_failures = max_failures
        self.backoff = backoff
        self.quarantine = backoff * 2**max_failures if quarantine is None else quarantine
        self._peers: dict[bytes, PeerHealth] = {}

    def get(self, node_id: bytes) -> PeerHealth:
        return self._peers.get(node_id) or PeerHealth()

    def alive(self, node_id: bytes) -> None:
        health = self._entry(node_id)
        health.last_seen = time.time()
        health.failures = 0

    def missed(self, node_id: bytes) -> bool:
        """Record a missed reply; True when the peer should now be evicted."""
        health = self._entry(node_id)
        now = time.monotonic()
        health.failures += 1
        health.failed_at = now
        health.retry_at = now + self.backoff * 2 ** (health.failures - 1)
        return health.failures >= self.max_failures

    def suspended(self, node_id: bytes) -> bool:
        health = self._peers.get(node_id)
        return health is not None and health.failures > 0 and time.monotonic() < health.failed_at + self.quarantine

    def probe_due(self, node_id: bytes) -> bool:
        health = self._peers.get(node_id)
        return health is not None and 0 < health.failures < self.max_failures and health.retry_at <= time.monotonic()

    def _entry(self, node_id: bytes) -> PeerHealth:
        health = self._peers.get(node_id)
        if health is None:
            if len(self._peers) >= _MAX_TRACKED:
                self._prune()
            health = self._peers[node_id] = PeerHealth()
        return health

    def _prune(self) -> None:
        for node_id in [n for n, h in self._peers.items() if h.failures and not self.suspended(n)]:
            del self._peers[node_id]
        while len(self._peers) >= _MAX_TRACKED:
            del self._peers[next(iter(self._peers))]
