"""What the benchmark scripts share: loopback ports, seeded keys, the client's loop, the latency
figures they print, a node in a subprocess and a probe in its own process. Scripts put the repository on sys.path and import `benchmarks.benchkit`
(tests load the scripts by path, where a sibling import would not resolve)."""
from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import math
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
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


# --- a node in a subprocess -----------------------------------------------------------------

@contextlib.contextmanager
def node_process(command: list[str], env: dict[str, str], log_path: Path, url: str, start_timeout: float) -> Iterator[subprocess.Popen[bytes]]:
    """Run `command` (a node serving `url`), its output in `log_path`, until GET /health
    answers; terminated (killed if it must) on exit."""
    with log_path.open("wb") as log:
        node = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                if node.poll() is not None or time.monotonic() > deadline:
                    how = f"exited {node.returncode}" if node.returncode is not None else "timeout"
                    raise RuntimeError(f"node did not start ({how}): {log_path.read_text(errors='replace')[-1500:]}")
                try:
                    with urllib.request.urlopen(f"{url}/health", timeout=2):
                        break
                except OSError:
                    time.sleep(0.1)
            yield node
        finally:
            node.terminate()
            try:
                node.wait(15)
            except subprocess.TimeoutExpired:
                node.kill()
                node.wait(15)


# --- a probe in its own process (so the benchmark's own loop cannot delay it) ----------------

PROBE_FLAG = "--internal-probe"
Request = tuple[str, str, bytes | None, dict[str, str]]  # method, path, body, headers


def probe_loop(url: str, interval: float, request: Callable[[], Request]) -> int:
    """Send `request()` every `interval` s on one keep-alive connection until stdin closes, then
    print JSON [[monotonic start, seconds, status], ...] (status 0: no reply). Each request is
    built before its clock starts. CLOCK_MONOTONIC is shared by all processes."""
    parts = urllib.parse.urlsplit(url)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    conn: http.client.HTTPConnection | None = None
    samples: list[tuple[float, float, int]] = []
    due = time.monotonic()
    deadline = due + 3600  # never outlive a lost parent by much
    while not stop.is_set() and time.monotonic() < deadline:
        method, path, body, headers = request()
        started = time.monotonic()
        status = 0
        try:
            if conn is None:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            if conn is not None:
                conn.close()
            conn = None
        samples.append((started, time.monotonic() - started, status))
        due += interval
        delay = due - time.monotonic()
        if delay > 0:
            stop.wait(delay)
        else:
            due = time.monotonic()
    json.dump(samples, sys.stdout)
    return 0


class ProbeProcess:
    """`python <script> --internal-probe <url> <interval>`: the script calls `probe_loop` then."""

    def __init__(self, script: str, url: str, interval: float) -> None:
        self.script, self.url, self.interval = script, url, interval
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, self.script, PROBE_FLAG, self.url, str(self.interval),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )

    async def stop(self) -> list[tuple[float, float, int]]:
        if self.proc is None:
            return []
        try:
            out, _ = await asyncio.wait_for(self.proc.communicate(b""), 30)
            return [(float(a), float(b), int(c)) for a, b, c in json.loads(out or b"[]")]
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
