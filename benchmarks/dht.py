#!/usr/bin/env python3
"""DHT figures on loopback: join → visible at every node, lookup latency, cost of a dead peer.

Starts N `colonies.dht.DHTNode`s in this process (N-1 form the DHT, then one more joins and
advertises a new executor type), all on 127.0.0.1 with free ports. Every record carries a
membership certificate signed by a throw-away authority and checked by the verifier, as in the
federation. Prints one JSON object; see docs/dht.md.
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
from collections.abc import Callable
from typing import Any

import msgspec

from colonies import crypto
from colonies.dht import DHTNode, ProviderRecord

COLONY = "bench"


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


def authority() -> tuple[Callable[[str], dict[str, Any]], Callable[[ProviderRecord], bool]]:
    """A throw-away federation authority: issue(node_id) → cert, and the record verifier."""
    prvkey = crypto.generate_private_key()
    authority_id = crypto.id_from_private_key(prvkey)

    def issue(node_id: str) -> dict[str, Any]:
        body = {"node_id": node_id, "expires": time.time() + 3600}
        return {**body, "signature": crypto.sign(msgspec.json.encode(body, order="sorted").decode(), prvkey)}

    def verify(record: ProviderRecord) -> bool:
        cert = record.cert
        body = {"node_id": cert.get("node_id"), "expires": cert.get("expires")}
        if body["node_id"] != record.node_id or not isinstance(body["expires"], float) or body["expires"] < time.time():
            return False
        try:
            signer = crypto.recover_id(msgspec.json.encode(body, order="sorted"), str(cert.get("signature", "")))
        except crypto.SignatureError:
            return False
        return signer == authority_id

    return issue, verify


async def run(
    nodes: int = 20,
    lookups: int = 200,
    *,
    host: str = "127.0.0.1",
    rpc_timeout: float = 1.0,
    failure_backoff: float = 10.0,
    visible_timeout: float = 10.0,
    kill: bool = True,
) -> dict[str, Any]:
    if nodes < 3:
        raise ValueError("need at least 3 nodes")
    issue, verify = authority()

    def make() -> DHTNode:
        prvkey = crypto.generate_private_key()
        node_id = crypto.id_from_private_key(prvkey)
        return DHTNode(
            prvkey,
            verify,
            api_url=f"http://{host}:{random.randint(20000, 60000)}",
            cert=issue(node_id),
            rpc_timeout=rpc_timeout,
            failure_backoff=failure_backoff,
            republish_interval=60,
        )

    dht = [make() for _ in range(nodes - 1)]
    started: list[DHTNode] = []
    try:
        began = time.perf_counter()
        for index, node in enumerate(dht):
            seeds = [(host, random.choice(started).port)] if started else []
            await node.start(0, host, seeds)
            started.append(node)
        form_ms = (time.perf_counter() - began) * 1000
        # Each node offers its own executor type and the colony, as federation nodes would.
        await asyncio.gather(
            *(n.advertise([n.record(COLONY, live=1), n.record(COLONY, f"type-{i}", live=1, waiting=i)]) for i, n in enumerate(dht))
        )

        newcomer = make()
        t0 = time.perf_counter()
        await newcomer.start(0, host, [(host, random.choice(started).port)])
        started.append(newcomer)
        joined = time.perf_counter()
        await newcomer.advertise([newcomer.record(COLONY, "gpu", live=4)])
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

        keys = [(COLONY, ""), (COLONY, "gpu")] + [(COLONY, f"type-{i}") for i in range(len(dht))]
        lookup_ms: list[float] = []
        colony_sizes: list[int] = []
        for _ in range(lookups):
            node = random.choice(started)
            colony, etype = random.choice(keys)
            t = time.perf_counter()
            found = await node.lookup(colony, etype)
            lookup_ms.append((time.perf_counter() - t) * 1000)
            if not etype:
                colony_sizes.append(len(found))

        result: dict[str, Any] = {
            "nodes": nodes,
            "ksize": 20,
            "rpc_timeout_s": rpc_timeout,
            "form_ms": round(form_ms, 1),
            "join_ms": round((joined - t0) * 1000, 2),
            "advertise_ms": round((advertised - joined) * 1000, 2),
            "visible_all_ms": None if unseen else round(max(s for s in seen if s is not None), 2),
            "visible_p50_ms": None if unseen else round(_percentile([s for s in seen if s is not None], 0.5), 2),
            "nodes_not_seeing": unseen,
            "lookup": _summary(lookup_ms),
            "colony_key_records_returned": max(colony_sizes, default=0),
        }
        if kill:
            victim = dht[1]
            await victim.stop()
            started.remove(victim)
            after: list[float] = []
            for _ in range(lookups):
                node = random.choice(started)
                t = time.perf_counter()
                await node.lookup(COLONY, "gpu")
                after.append((time.perf_counter() - t) * 1000)
            result["after_one_node_killed"] = {
                **_summary(after),
                "lookups_over_rpc_timeout": sum(1 for a in after if a >= rpc_timeout * 1000),
                "failure_backoff_s": failure_backoff,
            }
        return result
    finally:
        for node in started:
            await node.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--nodes", type=int, default=20, help="DHT size including the joining node (20)")
    parser.add_argument("-l", "--lookups", type=int, default=200, help="timed lookups per phase (200)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (127.0.0.1)")
    parser.add_argument("--rpc-timeout", type=float, default=1.0)
    parser.add_argument("--failure-backoff", type=float, default=10.0)
    parser.add_argument("--no-kill", action="store_true", help="skip the dead-peer phase")
    args = parser.parse_args()
    if not ipaddress.ip_address(args.host).is_loopback:
        sys.exit("benchmarks bind loopback addresses only")
    result = asyncio.run(
        run(args.nodes, args.lookups, host=args.host, rpc_timeout=args.rpc_timeout, failure_backoff=args.failure_backoff, kill=not args.no_kill)
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
