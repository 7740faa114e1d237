"""Request rate limits per source address and per signing identity (docs/security.md, "Rate
limiting"): one token bucket per key, refilled at `rate` requests per second up to `rate × burst`.
A refused request learns how long to wait (the reply's Retry-After)."""
from __future__ import annotations

import math
import time
from typing import Callable

from colonies.node.channels import TokenBucket

# Above this many buckets, those full again (keys gone quiet) are dropped; if none is, the oldest
# half goes: the memory an attacker with many addresses or keys can make us hold stays bounded.
MAX_BUCKETS = 50_000


class RateLimiter:
    """`rate` requests per second per key, bursts of `rate × burst_seconds`; rate 0 = no limit."""

    def __init__(self, rate: float, burst_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = max(1.0, rate * burst_seconds)
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def retry_after(self, key: str) -> int:
        """0 when a request for `key` may go ahead (its token is taken), else whole seconds to wait."""
        if not self.enabled:
            return 0
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._prune(now)
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.burst, now)
        if bucket.take(now):
            return 0
        return max(1, math.ceil((1.0 - bucket.tokens) / self.rate))

    def _prune(self, now: float) -> None:
        quiet = [key for key, bucket in self._buckets.items() if bucket.is_full(now)]
        if not quiet:
            quiet = list(self._buckets)[: len(self._buckets) // 2]
        for key in quiet:
            del self._buckets[key]
