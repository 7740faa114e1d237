"""What the benchmark scripts share: loopback ports, seeded keys, the client's loop, and the
latency figures they print. Scripts put the repository on sys.path and import `benchmarks.benchkit`
(tests load the scripts by path, where a sibling import would not resolve)."""
from __future__ import annotations

import asyncio
import math
import random
import socket
from typing import Any

HOST = "127.0.0.1"
# secp256k1's group order: a private key is a number in [1, CURVE_ORDER)
CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def free_port(host: str = HOST) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def seeded_key(rng: random.Random) -> str:
    """A private key drawn from `rng` (so a seeded run makes the same identities)."""
    while True:
        raw = rng.randbytes(32)
        if 0 < int.from_bytes(raw, "big") < CURVE_ORDER:
            return raw.hex()


def run(main: Any) -> Any:
    """The client's loop: uvloop when installed, as the CLI's nodes run (with the default loop a
    client that holds several executors is what limits the figures)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(pct / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def latency_summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)

    def ms(value: float) -> float:
        return round(value * 1000, 3)

    return {
        "p50_ms": ms(percentile(ordered, 50)),
        "p90_ms": ms(percentile(ordered, 90)),
        "p99_ms": ms(percentile(ordered, 99)),
        "max_ms": ms(ordered[-1]) if ordered else 0.0,
        "mean_ms": ms(sum(ordered) / len(ordered)) if ordered else 0.0,
    }
