#!/usr/bin/env python3
"""DHT figures on loopback: join → visible at every node, lookup latency, providers visible per
key, memory and datagrams per node at rest, cost of a dead peer.

Starts N `colonies.dht.DHTNode`s in this process (N-1 form the DHT, then one more joins and
advertises a new executor type), all on 127.0.0.1 with free ports. Every record carries a real
membership certificate (`colonies.federation.membership`) from a throw-away authority, checked
by the verifier as in the federation. Every random choice (node keys, bootstrap peers, which
node looks up which key) comes from `--seed`; only timings vary between runs. Prints one JSON
object; see docs/dht.md.
"""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import random
import statistics
import sys
import time
from collections import Counter
from typing import Any

import msgspec

from colonies import crypto
from colonies.dht import DHTNode, ProviderRecord
from colonies.federation import membership
from colonies.federation.discovery import record_verifier

COLONY = "bench"
SHARED = "shared"  # the executor type that `shared` nodes all offer
KSIZE = 20


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary(samples_ms: list[float]) -> dict[str, float]:
    return {
        "count": len(samples_ms),
        "p50_ms": round(_percentile(samples_ms, 0.50), 2),
        "p99_ms": round(_percentile(samples_ms, 0.99), 2),
        "max_ms": round(max(samples_ms), 2),
        "mean_ms": round(statistics.fmean(samples_ms), 2),
    }


def seeded_prvkey(rng: random.Random) -> str:
    # 32 random bytes are a valid secp256k1 key but with probability ~2^-128.
    return rng.randbytes(32).hex()


class Authority:
    """A throw-away federation authority: certifies nodes and verifies their records."""

    def __init__(self, rng: random.Random) -> None:
        self.prvkey = seeded_prvkey(rng)
        self.id = crypto.id_from_private_key(self.prvkey)
        self.verify = record_verifier(self.id)  # the federation's own record check

    def certify(self, node: DHTNode) -> None:
        cert = membership.issue(
            self.prvkey, federation="bench", node_id=node.node_id, api_url=node.api_url,
            dht_address=node.dht_address, ttl_seconds=3600,
        )
        node.cert = msgspec.to_builtins(cert)


class CountingTransport:
    """Wraps a node's UDP transport and counts the datagrams it sends, by kind."""

    def __init__(self, transport: Any, counts: Counter[str]) -> None:
        self._transport = transport
        self.counts = counts

    def sendto(self, data: bytes, addr: Any = None) -> None:
        self.counts[_kind(data)] += 1
        self._transport.sendto(data, addr)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _kind(datagram: bytes) -> str:
    if datagram[:1] == b"\x01":
        return "reply"
    for name in ("find_value", "find_page", "find_node", "store", "ping"):  # msgpack [name, args] after the id
        if datagram[21:40].find(name.encode()) >= 0:
            return name
    return "other"


def count_datagrams(node: DHTNode, counts: Counter[str]) -> None:
    protocol = node._server.protocol if node._server else None  # instrumentation reaches inside
    assert protocol is not None
    protocol.transport = CountingTransport(protocol.transport, counts)


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def at_rest(nodes: list[DHTNode], counts: Counter[str], seconds: float, interval: float) -> dict[str, Any]:
    """Datagrams sent while every node re-advertises its unchanged records each interval, as the
    federation does, and the republish loops run."""

    async def federation_loop(node: DHTNode) -> None:
        while True:
            await node.advertise(node.advertised())
            await asyncio.sleep(interval)

    records = sum(len(node.advertised()) for node in nodes)
    counts.clear()
    loops = [asyncio.create_task(federation_loop(node)) for node in nodes]
    await asyncio.sleep(seconds)
    for loop in loops:
        loop.cancel()
    await asyncio.gather(*loops, return_exceptions=True)
    sent = dict(counts)
    per_second = 1 / (len(nodes) * seconds)
    storers = min(KSIZE, len(nodes) - 1)
    return {
        "seconds": seconds,
        "republish_interval_s": interval,
        "datagrams_per_node_per_s": round(sum(sent.values()) * per_second, 2),
        "sent_per_node_per_s": {kind: round(n * per_second, 2) for kind, n in sorted(sent.items())},
        "records": records,
        "stores_per_record_per_interval": round(sent.get("store", 0) / records / storers / (seconds / interval), 2),
    }


async def run(
    nodes: int = 20,
    lookups: int = 200,
    *,
    host: str = "127.0.0.1",
    rpc_timeout: float = 1.0,
    failure_backoff: float = 10.0,
    visible_timeout: float = 10.0,
    republish_interval: float = 5.0,
    shared: int = 40,
    rest_seconds: float = 0.0,
    kill: bool = True,
    seed: int = 7,
) -> dict[str, Any]:
    if nodes < 3:
        raise ValueError("need at least 3 nodes")
    rng = random.Random(seed)
    authority = Authority(rng)
    counts: Counter[str] = Counter()
    rss_before = rss_kib()

    def make() -> DHTNode:
        return DHTNode(
            seeded_prvkey(rng),
            authority.verify,
            api_url=f"http://{host}:{rng.randint(20000, 60000)}",
            ksize=KSIZE,
            rpc_timeout=rpc_timeout,
            failure_backoff=failure_backoff,
            republish_interval=republish_interval,
        )

    async def join(node: DHTNode, seeds: list[DHTNode]) -> None:
        await node.start(0, host, [(host, rng.choice(seeds).port)] if seeds else [])
        authority.certify(node)
        count_datagrams(node, counts)
        started.append(node)

    dht = [make() for _ in range(nodes - 1)]
    shared = min(shared, len(dht))
    started: list[DHTNode] = []
    try:
        began = time.perf_counter()
        for node in dht:
            await join(node, list(started))
        form_ms = (time.perf_counter() - began) * 1000
        # Each node offers the colony and its own executor type, as federation nodes would; the
        # first `shared` of them also offer one common type.
        await asyncio.gather(*(n.advertise(_offers(n, i, i < shared)) for i, n in enumerate(dht)))

        newcomer = make()
        t0 = time.perf_counter()
        await join(newcomer, list(dht))
        joined = time.perf_counter()
        await newcomer.advertise([newcomer.record(COLONY, live=4), newcomer.record(COLONY, "gpu", live=4)])
        advertised = time.perf_counter()

        async def first_seen(node: DHTNode) -> float | None:
            deadline = t0 + visible_timeout
            while time.perf_counter() < deadline:
                found = await node.lookup(COLONY, "gpu")
                if any(r.node_id == newcomer.node_id for r in found):
                    return (time.perf_counter() - t0) * 1000
                await asyncio.sleep(0.01)
            return None

        seen = await asyncio.gather(*(first_seen(n) for n in started))
        unseen = sum(1 for s in seen if s is None)
        rss_all = rss_kib()

        # Every key is looked up (in a seeded order), so each figure below is always produced.
        keys = [(COLONY, ""), (COLONY, "gpu"), (COLONY, SHARED)] + [(COLONY, f"type-{i}") for i in range(len(dht))]
        rng.shuffle(keys)
        lookup_ms: list[float] = []
        for index in range(lookups):
            node = rng.choice(started)
            colony, etype = keys[index % len(keys)]
            t = time.perf_counter()
            await node.lookup(colony, etype)
            lookup_ms.append((time.perf_counter() - t) * 1000)

        result: dict[str, Any] = {
            "nodes": nodes,
            "ksize": KSIZE,
            "seed": seed,
            "rpc_timeout_s": rpc_timeout,
            "republish_interval_s": republish_interval,
            "form_ms": round(form_ms, 1),
            "join_ms": round((joined - t0) * 1000, 2),
            "advertise_ms": round((advertised - joined) * 1000, 2),
            "visible_all_ms": None if unseen else round(max(s for s in seen if s is not None), 2),
            "visible_p50_ms": None if unseen else round(_percentile([s for s in seen if s is not None], 0.5), 2),
            "nodes_not_seeing": unseen,
            "lookup": _summary(lookup_ms),
            "colony_key": await _visible(rng, started, COLONY, "", providers=len(started)),
            "shared_key": await _visible(rng, started, COLONY, SHARED, providers=shared),
            "rss": {
                "process_mib": round(rss_all / 1024, 1),
                "per_node_kib": round((rss_all - rss_before) / len(started)),
                "how": "one process; per node = (RSS with all nodes up - RSS before) / nodes",
            },
        }
        if rest_seconds > 0:
            result["at_rest"] = await at_rest(started, counts, rest_seconds, republish_interval)
        if kill:
            result["after_one_node_killed"] = await _after_kill(rng, dht[1], started, lookups, rpc_timeout, failure_backoff)
        return result
    finally:
        for node in started:
            await node.stop()


def _offers(node: DHTNode, index: int, shares: bool) -> list[ProviderRecord]:
    offers = [node.record(COLONY, live=1), node.record(COLONY, f"type-{index}", live=1, waiting=index)]
    if shares:
        offers.append(node.record(COLONY, SHARED, live=1 + index % 3, waiting=index % 5, running=index % 2))
    return offers


async def _visible(rng: random.Random, started: list[DHTNode], colony: str, etype: str, *, providers: int) -> dict[str, int]:
    """Providers returned by lookups of one key at five seeded nodes (the smallest answer)."""
    found = [len(await node.lookup(colony, etype)) for node in rng.sample(started, min(5, len(started)))]
    return {"providers": providers, "visible": min(found)}


async def _after_kill(
    rng: random.Random, victim: DHTNode, started: list[DHTNode], lookups: int, rpc_timeout: float, failure_backoff: float
) -> dict[str, Any]:
    """Stop one node without withdrawing, then time lookups from the others."""
    await victim.stop()
    started.remove(victim)
    after: list[float] = []
    for _ in range(lookups):
        node = rng.choice(started)
        t = time.perf_counter()
        await node.lookup(COLONY, "gpu")
        after.append((time.perf_counter() - t) * 1000)
    return {
        **_summary(after),
        "lookups_over_rpc_timeout": sum(1 for a in after if a >= rpc_timeout * 1000),
        "failure_backoff_s": failure_backoff,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--nodes", type=int, default=20, help="DHT size including the joining node (20)")
    parser.add_argument("-l", "--lookups", type=int, default=200, help="timed lookups per phase (200)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (127.0.0.1)")
    parser.add_argument("--rpc-timeout", type=float, default=1.0)
    parser.add_argument("--failure-backoff", type=float, default=10.0)
    parser.add_argument("--visible-timeout", type=float, default=10.0, help="how long to wait for the newcomer (10 s)")
    parser.add_argument(
        "--republish-interval", type=float, default=5.0, help="seconds; 5 = the federation's advertise_interval default"
    )
    parser.add_argument("--shared", type=int, default=40, help="nodes advertising one common executor type (40)")
    parser.add_argument("--rest-seconds", type=float, default=10.0, help="datagram count window at rest (10 s; 0 skips)")
    parser.add_argument("--seed", type=int, default=7, help="seed of every random choice (7)")
    parser.add_argument("--no-kill", action="store_true", help="skip the dead-peer phase")
    args = parser.parse_args()
    if not ipaddress.ip_address(args.host).is_loopback:
        sys.exit("benchmarks bind loopback addresses only")
    result = asyncio.run(
        run(
            args.nodes, args.lookups, host=args.host, rpc_timeout=args.rpc_timeout, failure_backoff=args.failure_backoff,
            visible_timeout=args.visible_timeout, republish_interval=args.republish_interval, shared=args.shared,
            rest_seconds=args.rest_seconds, kill=not args.no_kill, seed=args.seed,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
