"""The provider cache: hits and misses reused for their lifetime, one crawl per key at a time."""
from __future__ import annotations

import asyncio

from colonies.federation.messages import Provider
from colonies.federation.providers import ProviderCache


class Source:
    def __init__(self, answer: list[Provider]) -> None:
        self.answer = answer
        self.calls = 0

    async def lookup(self, colonyname: str, executortype: str) -> list[Provider]:
        self.calls += 1
        await asyncio.sleep(0.01)
        return list(self.answer)


def provider(node: str) -> Provider:
    return Provider(node_id=node, api_url=f"http://{node}", colonyname="c", executortype="t", live=1, waiting=0)


async def test_concurrent_lookups_of_one_key_share_one_crawl_and_misses_are_cached():
    source = Source([])
    cache = ProviderCache(source, hit_ttl=60, miss_ttl=60)
    results = await asyncio.gather(*(cache.get("c", "t") for _ in range(20)))
    assert results == [[]] * 20
    assert await cache.get("c", "t") == []
    assert source.calls == 1 and cache.lookups == 1


async def test_invalidation_ends_a_cached_miss_at_once():
    source = Source([])
    cache = ProviderCache(source, hit_ttl=60, miss_ttl=60)
    assert await cache.get("c", "t") == []
    source.answer = [provider("p")]
    cache.invalidate("c", "t")
    assert [p.node_id for p in await cache.get("c", "t")] == ["p"]
    assert source.calls == 2


async def test_an_expired_set_of_providers_is_served_while_it_is_refreshed():
    source = Source([provider("old")])
    cache = ProviderCache(source, hit_ttl=0.05, miss_ttl=0.05)
    await cache.get("c", "t")
    await asyncio.sleep(0.06)
    source.answer = [provider("new")]
    assert [p.node_id for p in await cache.get("c", "t")] == ["old"]  # no wait for the crawl
    await asyncio.sleep(0.03)
    assert [p.node_id for p in await cache.get("c", "t")] == ["new"]
    await cache.close()


async def test_a_fresher_offer_from_the_provider_replaces_its_cached_one():
    cache = ProviderCache(Source([provider("p")]), hit_ttl=60, miss_ttl=60)
    await cache.get("c", "t")
    cache.update(Provider(node_id="p", api_url="http://p", colonyname="c", executortype="t", live=3, waiting=7))
    [offer] = await cache.get("c", "t")
    assert (offer.live, offer.waiting) == (3, 7)
