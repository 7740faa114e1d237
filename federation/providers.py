"""A short-lived cache of provider sets per (colony, executor type), misses included.

Forwarding asks for providers on every pass; without a cache each unforwardable process would cost
a DHT crawl per pass. Hits live `hit_ttl` seconds, misses `miss_ttl`; new DHT records or a failed
peer invalidate a key at once. Concurrent lookups of one key share one crawl.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from colonies.federation.messages import Provider

log = logging.getLogger(__name__)

STALE_FACTOR = 5  # a set of providers up to this many lifetimes old is served while it is refreshed


class ProviderSource(Protocol):
    async def lookup(self, colonyname: str, executortype: str) -> list[Provider]: ...


class ProviderCache:
    def __init__(self, source: ProviderSource, *, hit_ttl: float = 2.0, miss_ttl: float = 5.0) -> None:
        self.source = source
        self.hit_ttl = hit_ttl
        self.miss_ttl = miss_ttl
        self._entries: dict[tuple[str, str], tuple[float, list[Provider]]] = {}
        self._inflight: dict[tuple[str, str], asyncio.Future[list[Provider]]] = {}
        self.lookups = 0  # crawls actually made (for tests and figures)
        self._background: set[asyncio.Task[None]] = set()

    def cached(self, colonyname: str, executortype: str) -> list[Provider] | None:
        entry = self._entries.get((colonyname, executortype))
        if entry is None:
            return None
        at, providers = entry
        ttl = self.hit_ttl if providers else self.miss_ttl
        return providers if time.monotonic() - at < ttl else None

    def fetched_at(self, colonyname: str, executortype: str) -> float:
        """Monotonic time the cached set of a key was fetched (0 when none is cached)."""
        entry = self._entries.get((colonyname, executortype))
        return entry[0] if entry is not None else 0.0

    async def get(self, colonyname: str, executortype: str) -> list[Provider]:
        found = self.cached(colonyname, executortype)
        if found is not None:
            return found
        key = (colonyname, executortype)
        pending = self._inflight.get(key)
        stale = self._entries.get(key)
        if stale is not None and stale[1] and time.monotonic() - stale[0] < STALE_FACTOR * self.hit_ttl:
            # a recent set of providers is served while a fresh one is fetched (no pass waits on it)
            if pending is None:
                self._refresh(key)
            return stale[1]
        if pending is not None:
            return await asyncio.shield(pending)
        return await self._fetch(key)

    async def _fetch(self, key: tuple[str, str]) -> list[Provider]:
        colonyname, executortype = key
        future: asyncio.Future[list[Provider]] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            self.lookups += 1
            providers = await self.source.lookup(colonyname, executortype)
            self._entries[key] = (time.monotonic(), providers)
            future.set_result(providers)
            return providers
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as err:
            future.set_exception(err)
            future.exception()  # retrieved: a failed shared lookup is not an unhandled error
            raise
        finally:
            del self._inflight[key]

    def _refresh(self, key: tuple[str, str]) -> None:
        async def fetch() -> None:
            try:
                await self._fetch(key)
            except Exception as err:  # a failed refresh leaves the stale set to expire
                log.debug("provider refresh for %s failed: %s", key, err)

        task = asyncio.ensure_future(fetch())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def update(self, provider: Provider) -> None:
        """A fresher offer from the provider itself (a heartbeat or lookup reply)."""
        key = (provider.colonyname, provider.executortype)
        entry = self._entries.get(key)
        if entry is None:
            return
        others = [p for p in entry[1] if p.node_id != provider.node_id]
        self._entries[key] = (entry[0], [*others, provider])

    def invalidate(self, colonyname: str | None = None, executortype: str | None = None) -> None:
        if colonyname is None:
            self._entries.clear()
            return
        for key in [k for k in self._entries if k[0] == colonyname and (executortype is None or k[1] == executortype)]:
            del self._entries[key]

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
