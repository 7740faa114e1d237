#!/usr/bin/env python3
"""CID records on loopback: datagrams per node at rest while nodes advertise the CIDs they hold,
the spread of one node's republishing, and find_cid latency.

Starts N `colonies.dht.DHTNode`s in this process on 127.0.0.1 (free ports, k = 20), each with a
real membership certificate checked by the federation's verifier, as `benchmarks/dht.py` does
(whose helpers this uses). One node advertises `--big` (1 000) CIDs, every other node
`--each` (10). After the initial publishing and half a CID republish interval, the datagrams
every node sends are counted for `--rest-seconds`; then `--lookups` find_cid calls, each a
distinct (node, CID) pair so that each one crawls, each followed by the same call (answered
from the node's cache). Every
random choice comes from `--seed`; only timings vary. Prints one JSON object; see docs/dht.md.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import importlib.util
import ipaddress
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from colonies.dht import DHTNode, cid_key
from colonies.dht.records import encode_record

KSIZE = 20
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _helpers() -> Any:
    path = Path(__file__).resolve().parent / "dht.py"
    spec = importlib.util.spec_from_file_location("benchmarks_dht", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _helpers()


def seeded_cid(rng: random.Random) -> str:
    """A CIDv1 (raw, sha2-256) in base32, as Kubo prints it."""
    multihash = b"\x12\x20" + hashlib.sha256(rng.randbytes(32)).digest()
    return "b" + base64.b32encode(b"\x01\x55" + multihash).decode().lower().rstrip("=")


def seeded_multiaddrs(rng: random.Random, port: int) -> list[str]:
    peer = "12D3KooW" + "".join(rng.choice(_BASE58) for _ in range(44))
    return [f"/ip4/127.0.0.1/tcp/{port}/p2p/{peer}", f"/ip4/127.0.0.1/udp/{port}/quic-v1/p2p/{peer}"]


class StoreTimes:
    """Wraps a transport: the monotonic times of the store requests it sends."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self.times: list[float] = []

    def sendto(self, data: bytes, addr: Any = None) -> None:
        if data[:1] == b"\x00" and data[21:40].find(b"store") >= 0:
            self.times.append(time.monotonic())
        self._transport.sendto(data, addr)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def busiest_second(times: list[float]) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def run(
    nodes: int = 20,
    big: int = 1000,
    each: int = 10,
    lookups: int = 200,
    *,
    host: str = "127.0.0.1",
    cid_republish_interval: float = 60.0,
    rest_seconds: float = 20.0,
    rpc_timeout: float = 1.0,
    seed: int = 7,
) -> dict[str, Any]:
    if nodes < 3:
        raise ValueError("need at least 3 nodes")
    rng = random.Random(seed)
    authority = bench.Authority(rng)
    counts: Counter[str] = Counter()
    per_node: list[Counter[str]] = []
    rss_before = bench.rss_kib()
    started: list[DHTNode] = []
    try:
        began = time.perf_counter()
        for index in range(nodes):
            node = DHTNode(
                bench.seeded_prvkey(rng),
                authority.verify,
                api_url=f"http://{host}:{rng.randint(20000, 60000)}",
                ksize=KSIZE,
                rpc_timeout=rpc_timeout,
                cid_republish_interval=cid_republish_interval,
                max_cids=big,
            )
            await node.start(0, host, [(host, rng.choice(started).port)] if started else [])
            authority.certify(node)
            own: Counter[str] = Counter()
            bench.count_datagrams(node, own)
            bench.count_datagrams(node, counts)
            per_node.append(own)
            started.append(node)
        form_ms = (time.perf_counter() - began) * 1000
        holdings = [[seeded_cid(rng) for _ in range(big if i == 0 else each)] for i in range(nodes)]
        addrs = [seeded_multiaddrs(rng, 4101 + i) for i in range(nodes)]
        holder = started[0]
        protocol = holder._server.protocol if holder._server else None  # instrumentation reaches inside
        assert protocol is not None
        stores = StoreTimes(protocol.transport)
        protocol.transport = stores

        t = time.perf_counter()
        accepted_big = await holder.advertise_cids(holdings[0], addrs[0])
        big_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        accepted = await asyncio.gather(*(n.advertise_cids(holdings[i], addrs[i]) for i, n in enumerate(started) if i > 0))
        others_ms = (time.perf_counter() - t) * 1000
        burst = busiest_second(stores.times)

        # The first republish round starts half an interval after the initial publishing.
        await asyncio.sleep(cid_republish_interval / 2)
        for counter in (counts, *per_node):
            counter.clear()
        stores.times.clear()
        cpu = time.process_time()
        await asyncio.sleep(rest_seconds)
        cpu = time.process_time() - cpu
        sent = dict(counts)
        holder_sent = sum(per_node[0].values())
        per_second = 1 / (nodes * rest_seconds)
        records = big + each * (nodes - 1)
        storers = min(KSIZE, nodes - 1)
        at_rest = {
            "seconds": rest_seconds,
            "datagrams_per_node_per_s": round(sum(sent.values()) * per_second, 2),
            "sent_per_node_per_s": {kind: round(n * per_second, 2) for kind, n in sorted(sent.items())},
            "big_holder_sent_per_s": round(holder_sent / rest_seconds, 1),
            "busiest_node_sent_per_s": round(max(sum(c.values()) for c in per_node) / rest_seconds, 1),
            "quietest_node_sent_per_s": round(min(sum(c.values()) for c in per_node) / rest_seconds, 1),
            "big_holder_busiest_second_stores": busiest_second(stores.times),
            "process_cpu_s_per_s": round(cpu / rest_seconds, 2),
            "stores_per_record_per_interval": round(sent.get("store", 0) / records / storers / (rest_seconds / cid_republish_interval), 2),
        }

        pairs = [(n, c) for n in range(nodes) for i, held in enumerate(holdings) for c in held if i != n]
        chosen = rng.sample(pairs, min(lookups, len(pairs)))
        owner = {cid: started[i].node_id for i, held in enumerate(holdings) for cid in held}
        crawl_ms: list[float] = []
        cached_ms: list[float] = []
        wrong = 0
        for n, cid in chosen:
            for phase in (crawl_ms, cached_ms):  # the second call within cid_cache_ttl
                t = time.perf_counter()
                found = await started[n].find_cid(cid)
                phase.append((time.perf_counter() - t) * 1000)
                wrong += [p.node_id for p in found] != [owner[cid]]
        rss_all = bench.rss_kib()
        sample = holder.storage.records(cid_key(holdings[0][0]))
        return {
            "benchmark": "dht_cids",
            "nodes": nodes,
            "ksize": KSIZE,
            "seed": seed,
            "cid_republish_interval_s": cid_republish_interval,
            "cids": {"big_holder": big, "each_other_node": each, "records": records},
            "record_bytes": len(encode_record(sample[0])) if sample else None,
            "form_ms": round(form_ms, 1),
            "advertise_ms": {"big_holder": round(big_ms, 1), "others_together": round(others_ms, 1)},
            "accepted": {"big_holder": accepted_big, "others": sum(accepted)},
            "initial_busiest_second_stores": burst,
            "at_rest": at_rest,
            "find_cid": {**bench._summary(crawl_ms), "wrong_answers": wrong},
            "find_cid_cached": bench._summary(cached_ms),
            "rss": {
                "process_mib": round(rss_all / 1024, 1),
                "per_node_kib": round((rss_all - rss_before) / nodes),
                "how": "one process; per node = (RSS with all nodes up - RSS before) / nodes",
            },
        }
    finally:
        for node in started:
            await node.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--nodes", type=int, default=20, help="DHT size (20)")
    parser.add_argument("--big", type=int, default=1000, help="CIDs advertised by the first node (1000)")
    parser.add_argument("--each", type=int, default=10, help="CIDs advertised by every other node (10)")
    parser.add_argument("-l", "--lookups", type=int, default=200, help="timed find_cid crawls, each followed by a cached call (200)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (127.0.0.1)")
    parser.add_argument(
        "--cid-republish-interval", type=float, default=60.0, help="seconds (60; the node's default is 600, the rate scales as 1/interval)"
    )
    parser.add_argument(
        "--rest-seconds", type=float, default=20.0, help="datagram count window at rest (20 s; republishing is spread evenly)"
    )
    parser.add_argument("--rpc-timeout", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7, help="seed of every random choice (7)")
    args = parser.parse_args()
    if not ipaddress.ip_address(args.host).is_loopback:
        sys.exit("benchmarks bind loopback addresses only")
    result = asyncio.run(
        run(
            args.nodes, args.big, args.each, args.lookups, host=args.host, cid_republish_interval=args.cid_republish_interval,
            rest_seconds=args.rest_seconds, rpc_timeout=args.rpc_timeout, seed=args.seed,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
