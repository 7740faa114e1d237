"""Forwarding benchmark: two dev federation nodes on loopback, work submitted at A runs at B.

Prints one JSON object: forward latency (submit at A → close at B → SUCCESS visible at A, one
clock) p50/p99 at a fixed rate, and forwarded processes/s (N submitted at A at once, K executors
at B). Starts its own nodes (`colonies dev --peers`, loopback only) and stops them.

    python benchmarks/federation.py [--count 1000] [--executors 4] [--latency-samples 200] [--rate 50]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from colonies import crypto, dev
from colonies.client import AsyncClient, func_spec
from colonies.wire import RPCError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(port: int, peer: int, data_dir: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "colonies.cli", "dev", "--port", str(port), "--data-dir", str(data_dir), "--peers", f"http://127.0.0.1:{peer}"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"node on port {port} did not start")


async def add_executor(url: str, executortype: str) -> str:
    key = crypto.generate_private_key()
    name = f"bench-{crypto.random_id()[:8]}"
    async with AsyncClient(url, dev.COLONY_PRVKEY) as owner:
        await owner.add_executor(dev.COLONY_NAME, crypto.id_from_private_key(key), name, executortype)
        await owner.approve_executor(dev.COLONY_NAME, name)
    return key


async def executor_loop(url: str, key: str, stop: asyncio.Event) -> None:
    async with AsyncClient(url, key) as client:
        while not stop.is_set():
            try:
                process = await client.assign(dev.COLONY_NAME, 1)
            except RPCError:
                continue
            await client.close(process, ["done"])


def summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50_ms": round(pick(0.5), 2), "p99_ms": round(pick(0.99), 2), "mean_ms": round(statistics.mean(ordered) * 1000, 2)}


async def measure(a_url: str, b_url: str, args: argparse.Namespace) -> dict[str, Any]:
    keys = [await add_executor(b_url, "remote") for _ in range(args.executors)]
    stop = asyncio.Event()
    workers = [asyncio.ensure_future(executor_loop(b_url, key, stop)) for key in keys]
    await asyncio.sleep(0.5)  # executors polling: live at B
    result: dict[str, Any] = {}
    async with AsyncClient(a_url, dev.PRVKEY) as origin:
        latencies: list[float] = []
        for _ in range(args.latency_samples):
            started = time.perf_counter()
            process = await origin.submit(func_spec("ping", dev.COLONY_NAME, "remote"))
            await origin.wait(process, timeout=30)
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(max(0.0, 1 / args.rate - (time.perf_counter() - started)))
        result["latency"] = {"samples": len(latencies), **summary(latencies)}

        started = time.perf_counter()
        submitted = await asyncio.gather(*(origin.submit(func_spec("bulk", dev.COLONY_NAME, "remote")) for _ in range(args.count)))
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            stats = await origin.colony_stats(dev.COLONY_NAME)
            if stats.successfulprocesses >= args.count + args.latency_samples:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        result["throughput"] = {"count": len(submitted), "executors": args.executors, "seconds": round(elapsed, 3), "per_second": round(len(submitted) / elapsed, 1)}
    stop.set()
    await asyncio.gather(*workers)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--executors", type=int, default=4)
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0, help="latency probes per second")
    args = parser.parse_args()
    port_a, port_b = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="colonies-fed-bench-") as tmp:
        a = spawn(port_a, port_b, Path(tmp) / "a")
        b = spawn(port_b, port_a, Path(tmp) / "b")
        try:
            result = asyncio.run(measure(f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}", args))
        finally:
            for process in (a, b):
                process.terminate()
                process.wait(10)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
