"""Forwarding benchmark: dev federation nodes on loopback; work submitted at A runs at its peers.

Prints one JSON object with up to four measurements:

* `latency` (two nodes, --latency-samples > 0): submit at A → close at B → SUCCESS visible at A,
  one clock, p50/p99 at a fixed rate;
* `throughput` (two nodes, --count > 0): forwarded processes/s, N submitted at A at once, K
  executors at B;
* `burst` (--burst N > 0): A (no executor of the type) and P equal providers, each with E
  executors that take --work-ms per process; N submitted at A at once. Elapsed time until all are
  SUCCESS at A (or how many were after 6 × ideal + 30 s), against the ideal balanced time
  N × work / (P × E), and where the work ran;
* `backlog` (--backlog N > 0): two nodes; local submit → SUCCESS p50 at A without and with N
  queued processes of a type nobody runs, and how long 50 forwardable processes submitted behind
  that backlog take to complete at B.

Starts its own nodes (`colonies dev --peers`, each naming all the others; loopback only) and stops
them. Node and executor keys come from --seed, so node ids (and any tie-break by node id) are the
same from run to run.

    python benchmarks/federation.py [--count 1000] [--executors 4] [--latency-samples 200] [--rate 50]
    python benchmarks/federation.py --count 0 --latency-samples 0 --burst 300 --providers 3 --work-ms 100
    python benchmarks/federation.py --count 0 --latency-samples 0 --backlog 1000
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: benchmarks.benchkit

from benchmarks.benchkit import HOST, free_port, run, seeded_key  # noqa: E402
from colonies import crypto, dev, messages  # noqa: E402
from colonies.client import AsyncClient, func_spec  # noqa: E402
from colonies.wire import RPCError  # noqa: E402

TARGET_RATIO = 1.3


@dataclass(frozen=True)
class Node:
    name: str
    url: str
    node_id: str


def write_node_key(data_dir: Path, key: str) -> None:
    """A dev node uses `<data_dir>/node.key` if present: a seeded key gives a known node id."""
    data_dir.mkdir(parents=True)
    fd = os.open(data_dir / "node.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(key + "\n")


def child_env() -> dict[str, str]:
    # the caller's COLONIES_* settings (store URL, ports, peers) must not leak into the bench nodes
    return {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"node {url} did not start: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def federation(names: list[str], rng: random.Random) -> Iterator[list[Node]]:
    """Dev nodes on loopback, each with all the others as --peers; stopped on exit."""
    ports = [free_port() for _ in names]
    urls = [f"http://{HOST}:{port}" for port in ports]
    with tempfile.TemporaryDirectory(prefix="colonies-fed-bench-") as tmp, contextlib.ExitStack() as stack:
        nodes, started = [], []
        for name, port, url in zip(names, ports, urls, strict=True):
            key = seeded_key(rng)
            write_node_key(Path(tmp) / name, key)
            peers = ",".join(u for u in urls if u != url)
            command = [sys.executable, "-m", "colonies.cli", "dev", "--host", HOST, "--port", str(port), "--data-dir", str(Path(tmp) / name), "--peers", peers]
            log = Path(tmp) / f"{name}.log"
            stderr = stack.enter_context(log.open("wb"))
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=child_env())
            stack.callback(stop, process)
            started.append((url, process, log))
            nodes.append(Node(name, url, crypto.id_from_private_key(key)))
        for url, process, log in started:
            wait_healthy(url, process, log)
        yield nodes


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- executors ----------------------------------------------------------------------------

async def add_executor(url: str, executortype: str, rng: random.Random) -> str:
    key = seeded_key(rng)
    name = f"bench-{rng.randbytes(4).hex()}"
    async with AsyncClient(url, dev.COLONY_PRVKEY) as owner:
        await owner.add_executor(dev.COLONY_NAME, crypto.id_from_private_key(key), name, executortype)
        await owner.approve_executor(dev.COLONY_NAME, name)
    return key


@dataclass(frozen=True)
class Run:
    arg: Any  # the process's first argument: which submission it was
    assigned: float  # perf_counter when assign returned it
    closed: float  # perf_counter when its close was acknowledged


async def executor_loop(url: str, key: str, stop: asyncio.Event, work: float = 0.0, runs: list[Run] | None = None) -> None:
    """Assign, take `work` seconds, close; `runs` records each process run."""
    async with AsyncClient(url, key) as client:
        while not stop.is_set():
            try:
                process = await client.assign(dev.COLONY_NAME, 1)
            except RPCError as err:
                if err.status != 404:  # 404: nothing arrived within the long-poll
                    await asyncio.sleep(0.1)
                continue
            assigned = time.perf_counter()
            if work:
                await asyncio.sleep(work)
            await client.close(process, ["done"])
            if runs is not None:
                runs.append(Run(process.spec.args[0] if process.spec.args else None, assigned, time.perf_counter()))


async def wait_successful(client: AsyncClient, count: int, timeout: float) -> int:
    """Poll the colony's statistics until `count` processes succeeded; returns how many did."""
    deadline = time.monotonic() + timeout
    while True:
        stats = await client.colony_stats(dev.COLONY_NAME)
        if stats.successfulprocesses >= count or time.monotonic() > deadline:
            return stats.successfulprocesses
        await asyncio.sleep(0.1)


def summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50_ms": round(pick(0.5), 2), "p99_ms": round(pick(0.99), 2), "mean_ms": round(statistics.mean(ordered) * 1000, 2)}


# --- latency and throughput (A → B) -------------------------------------------------------

async def measure_latency(origin: AsyncClient, args: argparse.Namespace) -> dict[str, Any]:
    latencies: list[float] = []
    for _ in range(args.latency_samples):
        started = time.perf_counter()
        process = await origin.submit(func_spec("ping", dev.COLONY_NAME, "remote"))
        await origin.wait(process, timeout=30)
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(max(0.0, 1 / args.rate - (time.perf_counter() - started)))
    return {"samples": len(latencies), **summary(latencies)}


async def measure_throughput(origin: AsyncClient, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    await asyncio.gather(*(origin.submit(func_spec("bulk", dev.COLONY_NAME, "remote")) for _ in range(args.count)))
    done = await wait_successful(origin, args.count + args.latency_samples, 300) - args.latency_samples
    elapsed = time.perf_counter() - started
    return {"count": args.count, "completed": done, "executors": args.executors, "seconds": round(elapsed, 3), "per_second": round(done / elapsed, 1)}


async def measure_forwarding(a: Node, b: Node, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    keys = [await add_executor(b.url, "remote", rng) for _ in range(args.executors)]
    stop = asyncio.Event()
    workers = [asyncio.ensure_future(executor_loop(b.url, key, stop)) for key in keys]
    await asyncio.sleep(0.5)  # executors polling: live at B
    result: dict[str, Any] = {}
    async with AsyncClient(a.url, dev.PRVKEY) as origin:
        if args.latency_samples:
            result["latency"] = await measure_latency(origin, args)
        if args.count:
            result["throughput"] = await measure_throughput(origin, args)
    stop.set()
    await asyncio.gather(*workers)
    return result


# --- burst over equal providers -----------------------------------------------------------

async def providers_seen(origin: Node, executortype: str, count: int, timeout: float) -> int:
    """Wait until A knows `count` live providers of the type (node peers); returns how many it knows."""
    deadline = time.monotonic() + timeout
    seen = 0
    async with AsyncClient(origin.url, dev.SERVER_PRVKEY) as owner:
        while time.monotonic() < deadline:
            msg = messages.NodePeersMsg(msgtype="nodepeersmsg", colonyname=dev.COLONY_NAME, executortype=executortype)
            _, payload = await owner.rpc(msg)
            peers = json.loads(payload)
            seen = len({p["node_id"] for p in peers if p["node_id"] != origin.node_id and p.get("live", 0) > 0})
            if seen >= count:
                break
            await asyncio.sleep(0.2)
    return seen


async def where_they_ran(origin: AsyncClient, processids: list[str], names: dict[str, str]) -> dict[str, int]:
    """Per provider name, the processes A shows as run there (`assignedexecutorid` = that node's id)."""
    processes = await asyncio.gather(*(origin.get_process(pid) for pid in processids))
    ran = collections.Counter(names.get(p.assignedexecutorid, "elsewhere") for p in processes)
    return dict(sorted(ran.items()))


def provider_timeline(runs: list[Run], started: float, executors: int) -> dict[str, Any]:
    """How many ran at one provider, when its first one arrived and its last one closed (s after
    the submit), and the time per process of one executor there (work, assign and close)."""
    if not runs:
        return {"ran": 0}
    first = min(r.assigned for r in runs) - started
    last = max(r.closed for r in runs) - started
    pace = (last - first) * executors / len(runs) * 1000
    return {"ran": len(runs), "first_assigned_s": round(first, 3), "last_closed_s": round(last, 3), "ms_per_process": round(pace, 1)}


async def measure_burst(a: Node, providers: list[Node], args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    runs: dict[str, list[Run]] = {p.name: [] for p in providers}
    stop = asyncio.Event()
    workers = []
    for provider in providers:
        for _ in range(args.provider_executors):
            key = await add_executor(provider.url, "burst", rng)
            workers.append(asyncio.ensure_future(executor_loop(provider.url, key, stop, args.work_ms / 1000, runs[provider.name])))
    seen = await providers_seen(a, "burst", len(providers), 30)
    ideal = args.burst * args.work_ms / 1000 / (len(providers) * args.provider_executors)
    async with AsyncClient(a.url, dev.PRVKEY) as origin:
        started = time.perf_counter()
        submitted = await asyncio.gather(*(origin.submit(func_spec("burst", dev.COLONY_NAME, "burst", args=[i])) for i in range(args.burst)))
        done = await wait_successful(origin, args.burst, 6 * ideal + 30)  # then report what completed
        elapsed = time.perf_counter() - started
        ran_at = await where_they_ran(origin, [p.processid for p in submitted], {p.node_id: p.name for p in providers})
    stop.set()
    await asyncio.gather(*workers)
    per_arg = collections.Counter(r.arg for rs in runs.values() for r in rs)
    return {
        "burst": args.burst,
        "completed": done,
        "providers": len(providers),
        "providers_seen_before_submit": seen,
        "executors_per_provider": args.provider_executors,
        "work_ms": args.work_ms,
        "seconds": round(elapsed, 3),
        "ideal_seconds": round(ideal, 3),
        "ratio": round(elapsed / ideal, 2),
        "target_ratio": TARGET_RATIO,
        "ran_at": ran_at,
        "executed_at": {name: provider_timeline(rs, started, args.provider_executors) for name, rs in runs.items()},
        "duplicate_executions": sum(n - 1 for n in per_arg.values()),
        "node_ids": {p.name: p.node_id for p in [a, *providers]},
    }


# --- an unforwardable backlog beside local and forwardable work ---------------------------

async def local_latency(client: AsyncClient, samples: int, rate: float) -> dict[str, float]:
    """Submit → SUCCESS of work a local executor runs, one at a time."""
    latencies: list[float] = []
    for i in range(samples):
        started = time.perf_counter()
        process = await client.submit(func_spec("local", dev.COLONY_NAME, "local", args=[i]))
        await client.wait(process, timeout=30)
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - started)))
    return summary(latencies)


async def measure_backlog(a: Node, b: Node, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    """Local p50 at A without and with a backlog of processes nobody runs, and how long 50
    forwardable processes submitted behind that backlog take to complete at B."""
    stop = asyncio.Event()
    workers = [
        asyncio.ensure_future(executor_loop(a.url, await add_executor(a.url, "local", rng), stop)),
        asyncio.ensure_future(executor_loop(b.url, await add_executor(b.url, "remote", rng), stop)),
    ]
    await asyncio.sleep(0.5)
    async with AsyncClient(a.url, dev.PRVKEY) as origin:
        quiet = await local_latency(origin, args.backlog_samples, args.rate)
        for start in range(0, args.backlog, 100):
            await asyncio.gather(*(origin.submit(func_spec("stuck", dev.COLONY_NAME, "nowhere")) for _ in range(start, min(start + 100, args.backlog))))
        started = time.perf_counter()
        forwardable = await asyncio.gather(*(origin.submit(func_spec("remote", dev.COLONY_NAME, "remote")) for _ in range(50)))
        for process in forwardable:
            await origin.wait(process, timeout=60)
        forwarded_seconds = time.perf_counter() - started
        loaded = await local_latency(origin, args.backlog_samples, args.rate)
    stop.set()
    await asyncio.gather(*workers)
    return {
        "backlog": args.backlog,
        "local_without_backlog": quiet,
        "local_with_backlog": loaded,
        "p50_ratio": round(loaded["p50_ms"] / quiet["p50_ms"], 2),
        "fifty_forwardable_done_s": round(forwarded_seconds, 3),
    }


# --- main ---------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="throughput: processes submitted at A at once (0 skips)")
    parser.add_argument("--executors", type=int, default=4, help="throughput and latency: executors at B")
    parser.add_argument("--latency-samples", type=int, default=200, help="latency: processes, one at a time (0 skips)")
    parser.add_argument("--rate", type=float, default=50.0, help="latency: probes per second")
    parser.add_argument("--burst", type=int, default=0, help="burst: processes submitted at A at once (0 skips)")
    parser.add_argument("--providers", type=int, default=3, help="burst: equal provider nodes")
    parser.add_argument("--provider-executors", type=int, default=1, help="burst: executors at each provider")
    parser.add_argument("--work-ms", type=float, default=100.0, help="burst: time each process takes at an executor")
    parser.add_argument("--backlog", type=int, default=0, help="backlog: processes of a type nobody runs, queued at A (0 skips)")
    parser.add_argument("--backlog-samples", type=int, default=100, help="backlog: local latency probes before and after")
    parser.add_argument("--seed", type=int, default=1, help="seed of the node and executor keys")
    return parser


def parse_args() -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args()
    if min(args.count, args.latency_samples, args.burst, args.backlog) < 0 or args.providers < 1 or args.provider_executors < 1 or args.work_ms <= 0:
        parser.error("counts must be ≥ 0, --providers and --provider-executors ≥ 1, --work-ms > 0")
    return args


def main() -> None:
    args = parse_args()
    rng = random.Random(args.seed)
    result: dict[str, Any] = {"seed": args.seed}
    if args.count or args.latency_samples:
        with federation(["a", "b"], rng) as (a, b):
            result |= run(measure_forwarding(a, b, args, rng))
    if args.backlog:
        with federation(["a", "b"], rng) as (a, b):
            result["backlog"] = run(measure_backlog(a, b, args, rng))
    if args.burst:
        with federation(["a", *(f"p{i + 1}" for i in range(args.providers))], rng) as (a, *providers):
            result["burst"] = run(measure_burst(a, providers, args, rng))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
