"""Who holds a CID: CID records between real kademlia nodes over UDP on 127.0.0.1."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import random
import time
from collections import Counter
from typing import Any

import msgspec
import pytest
from kademlia.node import Node

from colonies import crypto
from colonies.dht import CidProvider, DHTNode, cid_key, encode_records, kad_id_for
from tests.federation.dht_support import HOST, cluster, issue_cert, make_node, member_record, rogue_storer, seeded_prvkey
from tests.federation.test_dht import _load_benchmark, wait_for

pytestmark = pytest.mark.timeout(60)

PEER = "12D3KooWGRUVh8pBiHpRD3cSWDn9ZDbW9Rg2zKQ4u6pUjk2XrHTQ"


def cids(count: int, salt: str = "") -> list[str]:
    """Distinct valid CIDv1s (raw codec, sha2-256)."""
    return [
        "b" + base64.b32encode(b"\x01\x55\x12\x20" + hashlib.sha256(f"{salt}{i}".encode()).digest()).decode().lower().rstrip("=")
        for i in range(count)
    ]


def addrs(node: DHTNode) -> tuple[str, ...]:
    """Multiaddrs of a (pretend) IPFS node beside the DHT node."""
    return (f"/ip4/127.0.0.1/tcp/{node.port + 1}/p2p/{PEER}", f"/ip4/127.0.0.1/udp/{node.port + 1}/quic-v1/p2p/{PEER}")


def holders(found: list[CidProvider]) -> set[str]:
    return {provider.node_id for provider in found}


async def test_a_cid_advertised_at_one_node_is_found_at_the_others():
    async with cluster(4) as nodes:
        a, b, *others = nodes
        [cid, unknown] = cids(2)
        heard: list[tuple[str, str]] = []
        b.add_change_listener(lambda colony, executortype: heard.append((colony, executortype)))
        assert await b.find_cid(cid) == []  # a miss, cached at b
        assert await a.advertise_cids([cid], addrs(a)) == 1
        assert a.advertised_cids() == [cid]
        for node in [b, *others]:  # b is among the storers: the merge cleared its cached miss
            [provider] = await node.find_cid(cid)
            assert (provider.node_id, provider.api_url, provider.dht_address, provider.multiaddrs) == (
                a.node_id, a.api_url, a.dht_address, addrs(a),
            )
            assert provider.expires > time.time()
            assert await node.find_cid(unknown) == []
            assert await node.lookup("dev") == []  # colony keys are apart
        assert heard == []  # the colony listeners never hear of CIDs
        with pytest.raises(ValueError, match="not a CID"):
            await a.advertise_cids([cid, "QmNotACid"], addrs(a))
        with pytest.raises(ValueError, match="more than 8"):
            await a.advertise_cids([cid], [f"/ip4/127.0.0.1/tcp/{4000 + i}" for i in range(9)])
        assert a.advertised_cids() == [cid]


async def test_shrinking_the_set_withdraws_and_a_republish_round_does_not_bring_it_back():
    async with cluster(4, cid_republish_interval=0.5) as nodes:  # CID TTL 1.5 s
        a, b, c, d = nodes
        kept, dropped = cids(2)
        assert await a.advertise_cids([kept, dropped], addrs(a)) == 2
        assert holders(await b.find_cid(dropped)) == {a.node_id}  # cached at b
        assert await a.advertise_cids([kept], addrs(a)) == 1
        assert a.advertised_cids() == [kept]
        for node in (b, c, d):
            assert await node.find_cid(dropped) == []
            assert holders(await node.find_cid(kept)) == {a.node_id}
        await asyncio.sleep(1.0)  # two republish intervals
        assert await c.find_cid(dropped) == []
        assert holders(await c.find_cid(kept)) == {a.node_id}
        await a.stop(withdraw=True)  # leaving withdraws the rest
        assert await d.find_cid(kept) == []


async def test_cid_records_are_republished_and_expire_once_their_node_is_gone():
    async with cluster(3, cid_cache_ttl=0.0) as nodes:
        b, c = nodes[1], nodes[2]
        short = make_node(cid_republish_interval=0.3)  # CID TTL 0.9 s
        await short.start(0, HOST, [(HOST, b.port)])
        [cid] = cids(1)
        try:
            await short.advertise_cids([cid], addrs(short))
            [first] = await c.find_cid(cid)
            await asyncio.sleep(1.5)  # longer than the TTL: only republishing keeps it alive
            [later] = await c.find_cid(cid)
            assert later.node_id == first.node_id and later.issued_ms > first.issued_ms
        finally:
            await short.stop()  # gone without withdrawing
        await wait_for(lambda: _absent(c, cid), 3)
        assert await b.find_cid(cid) == []


async def _absent(node: DHTNode, cid: str) -> bool:
    return await node.find_cid(cid) == []


async def test_forged_unsigned_tampered_and_foreign_cid_records_are_refused_by_storers():
    async with cluster(3) as nodes:
        [cid, elsewhere] = cids(2)
        key = cid_key(cid)
        fields: dict[str, Any] = {"colony": "", "executortype": "", "live": 0, "cid": cid, "multiaddrs": (f"/ip4/127.0.0.1/tcp/9/p2p/{PEER}",)}
        valid = member_record(seeded_prvkey(), **fields)
        forged = msgspec.structs.replace(member_record(seeded_prvkey(), **fields), node_id=nodes[1].node_id, cert=nodes[1].cert)
        unsigned = msgspec.structs.replace(member_record(seeded_prvkey(), **fields), signature="")
        tampered = msgspec.structs.replace(member_record(seeded_prvkey(), **fields), multiaddrs=("/ip4/127.0.0.1/tcp/6666",))
        outsider_key = seeded_prvkey()
        outsider = member_record(outsider_key, **fields, cert=issue_cert(crypto.id_from_private_key(outsider_key), authority=seeded_prvkey()))
        misplaced = member_record(seeded_prvkey(), **{**fields, "cid": elsewhere})
        value = encode_records([forged, unsigned, tampered, outsider, misplaced, valid])

        async with rogue_storer(nodes[0].port) as rogue:
            rogue.storage[key] = value  # served verbatim to every lookup
            honest = [Node(kad_id_for(n.node_id), HOST, n.port) for n in nodes]
            assert await rogue.store_at(honest, key, value) == 3  # each kept the valid record only
            assert await rogue.store_at(honest, key, encode_records([forged, unsigned, tampered, outsider])) == 0
            for node in nodes:
                assert node.storage.records(key) == [valid]
                assert await node.find_cid(cid) == [CidProvider.of(valid)]
                assert await node.find_cid(elsewhere) == []


async def test_two_holders_of_one_cid_are_both_found():
    async with cluster(5) as nodes:
        a, b, c, d, e = nodes
        shared, only_b = cids(2)
        assert await a.advertise_cids([shared], addrs(a)) == 1
        assert await b.advertise_cids([only_b, shared], addrs(b)) == 2
        for node in (c, d, e, a, b):
            found = await node.find_cid(shared)
            assert holders(found) == {a.node_id, b.node_id}
            assert {p.node_id: p.multiaddrs for p in found} == {a.node_id: addrs(a), b.node_id: addrs(b)}
            assert holders(await node.find_cid(only_b)) == {b.node_id}


async def test_twenty_nodes_all_find_a_cid_advertised_by_one():
    # Deterministic: seeded node keys and choice, and each node polls (no cache, every wait
    # bounded) until it sees the record rather than trusting one lookup racing the stores.
    async with cluster(20, cid_cache_ttl=0.0) as nodes:
        holder = random.Random(9).choice(nodes)
        [cid] = cids(1, salt="twenty")
        assert await holder.advertise_cids([cid], addrs(holder)) == 1
        polls: Counter[int] = Counter()

        async def found(index: int) -> bool:
            polls[index] += 1
            return [p.node_id for p in await nodes[index].find_cid(cid)] == [holder.node_id]

        for index in range(len(nodes)):
            await wait_for(lambda index=index: found(index), 10)
        assert len(polls) == 20


async def test_republishing_many_cids_reuses_the_storers_and_spreads_the_stores():
    # 4 s: advertising the 200 (each a crawl and two stores) must end before the first republish
    # is due, or the first count below sees republished stores too (it took over 2 s under load)
    interval, count = 4.0, 200
    async with cluster(3, cid_republish_interval=interval) as (a, b, c):
        sent: Counter[str] = Counter()
        _load_benchmark().count_datagrams(a, sent)
        store_times: list[float] = []
        protocol = a._server.protocol  # type: ignore[union-attr]
        send = protocol.transport.sendto

        def timed(data: bytes, addr: Any = None) -> None:
            if data[:1] == b"\x00" and data[21:40].find(b"store") >= 0:
                store_times.append(time.monotonic())
            send(data, addr)

        protocol.transport.sendto = timed
        some = cids(count, salt="many")
        assert await a.advertise_cids(some, addrs(a)) == count
        assert sent["store"] == 2 * count and sent["find_node"] > 0  # one crawl per new key
        sent.clear()
        store_times.clear()
        mark = time.monotonic()
        await wait_for(lambda: _all_republished_since(a, mark), 10 * interval)
        await wait_for(lambda: _at_least(sent, "store", 2 * count), 5)
        assert sent["find_node"] == 0  # the same storers, no crawl
        assert sent["store"] >= 2 * count
        # One record every interval / count, each to two storers: no burst in any second.
        busiest = max(sum(1 for t in store_times[i:] if t < start + 1.0) for i, start in enumerate(store_times))
        assert busiest <= 2 * (count / interval + 1), busiest
        assert len(await c.find_cid(some[-1])) == 1


async def _all_republished_since(node: DHTNode, mark: float) -> bool:
    return all(advert.at > mark for advert in node._cids.values())


async def _at_least(counts: Counter[str], kind: str, count: int) -> bool:
    return counts[kind] >= count
