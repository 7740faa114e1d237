#!/usr/bin/env python3
"""Submit, drain and latency figures for any Colonies node (ours or upstream), over the wire.

Creates a throw-away colony (random name) with K approved executors and one user, runs the
chosen phases and removes the colony again. Prints one JSON object; see benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import secrets
import sys
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: benchmarks.benchkit

from benchmarks.benchkit import latency_summary  # noqa: E402
from benchmarks.benchkit import run as on_client_loop  # noqa: E402
from colonies import crypto  # noqa: E402
from colonies.client import AsyncClient, func_spec  # noqa: E402
from colonies.models import WAITING, Process  # noqa: E402
from colonies.wire import RPCError  # noqa: E402

EXECUTOR_TYPE = "bench"
FUNCNAME = "bench"
PHASES = ("submit", "drain", "latency")


@dataclass
class Setup:
    url: str
    server_key: str
    colony_key: str
    colonyname: str
    user_key: str
    executor_keys: list[str]
    admin: AsyncClient
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)

    def session(self, limit: int) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=limit, limit_per_host=0)
        made = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120))
        self.sessions.append(made)
        return made

    def submitter(self, limit: int) -> AsyncClient:
        return AsyncClient(self.url, self.user_key, session=self.session(limit))

    def executors(self) -> list[AsyncClient]:
        shared = self.session(len(self.executor_keys) + 4)
        return [AsyncClient(self.url, key, session=shared) for key in self.executor_keys]

    def spec(self, phase: str, index: int) -> Any:
        return func_spec(FUNCNAME, self.colonyname, EXECUTOR_TYPE, args=[phase, index])


def check_loopback(url: str) -> None:
    """Refuse anything but localhost or a loopback IP literal (no name lookups)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"{url} is not a loopback address; pass --allow-remote to benchmark it anyway")


def describe(err: BaseException) -> str:
    if isinstance(err, RPCError):
        return f"RPCError {err.status}: {err.message}"
    return repr(err)


# --- setup / teardown ---------------------------------------------------------------------
async def create_colony(args: argparse.Namespace) -> Setup:
    admin = AsyncClient(args.url, args.server_prvkey)
    colony_key = args.colony_prvkey or crypto.generate_private_key()
    colonyname = f"bench-{secrets.token_hex(4)}"
    try:
        await admin.add_colony(crypto.id_from_private_key(colony_key), colonyname)
    except BaseException:
        await admin.aclose()
        raise
    setup = Setup(
        url=args.url,
        server_key=args.server_prvkey,
        colony_key=colony_key,
        colonyname=colonyname,
        user_key=crypto.generate_private_key(),
        executor_keys=[crypto.generate_private_key() for _ in range(args.executors)],
        admin=admin,
    )
    try:
        user_id = crypto.id_from_private_key(setup.user_key)
        await admin.add_user(colonyname, user_id, "bench-user", prvkey=colony_key)
        for i, key in enumerate(setup.executor_keys):
            name = f"bench-executor-{i}"
            executorid = crypto.id_from_private_key(key)
            await admin.add_executor(colonyname, executorid, name, EXECUTOR_TYPE, prvkey=colony_key)
            await admin.approve_executor(colonyname, name, prvkey=colony_key)
            await admin.add_function(colonyname, name, EXECUTOR_TYPE, FUNCNAME, prvkey=key)
    except BaseException:
        await teardown(setup)
        raise
    return setup


async def teardown(setup: Setup) -> str:
    try:
        await setup.admin.remove_colony(setup.colonyname)
        result = "removed"
    except Exception as err:  # report, never hide the figures
        result = f"remove failed: {describe(err)}"
    for session in setup.sessions:
        await session.close()
    await setup.admin.aclose()
    return result


# --- phases -------------------------------------------------------------------------------
async def submit_many(setup: Setup, phase: str, count: int, concurrency: int) -> dict[str, Any]:
    """`count` submits from `concurrency` concurrent submitters sharing one keep-alive pool."""
    client = setup.submitter(concurrency)
    indexes = iter(range(count))
    durations: list[float] = []
    errors: list[str] = []

    async def submitter() -> None:
        for index in indexes:
            spec = setup.spec(phase, index)
            started = time.perf_counter()
            try:
                await client.submit(spec)
                durations.append(time.perf_counter() - started)
            except Exception as err:
                errors.append(describe(err))

    started = time.perf_counter()
    await asyncio.gather(*(submitter() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "count": count,
        "concurrency": concurrency,
        "ok": len(durations),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "seconds": round(elapsed, 4),
        "per_second": round(len(durations) / elapsed, 1) if elapsed else 0.0,
        "request": latency_summary(durations),
    }


class Executors:
    """K executor loops: assign (long-poll) then close, calling `on_closed` after each close reply."""

    def __init__(self, setup: Setup, assign_timeout: int, on_closed: Callable[[Process], None]) -> None:
        self.setup = setup
        self.assign_timeout = assign_timeout
        self.on_closed = on_closed
        self.closed = 0
        self.errors: list[str] = []
        self.assign_timeouts = 0
        self.stopping = False
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._loop(client)) for client in self.setup.executors()]

    async def stop(self) -> None:
        # Let pending long-polls return instead of cancelling them: a node that does not notice
        # the hang-up could still assign a process to a poll nobody reads any more.
        self.stopping = True
        _, pending = await asyncio.wait(self.tasks, timeout=self.assign_timeout + 10)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _loop(self, client: AsyncClient) -> None:
        colonyname = self.setup.colonyname
        while not self.stopping:
            try:
                process = await client.assign(colonyname, self.assign_timeout)
            except RPCError as err:
                if err.status == 404:
                    self.assign_timeouts += 1
                else:
                    self.errors.append(f"assign {err.status}: {err.message}")
                    await asyncio.sleep(0.1)
                continue
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as err:
                self.errors.append(f"assign {describe(err)}")
                await asyncio.sleep(0.1)
                continue
            try:
                await client.close(process, [process.spec.args[-1] if process.spec.args else None])
            except (RPCError, aiohttp.ClientError, OSError, asyncio.TimeoutError) as err:
                self.errors.append(f"close {describe(err)}")
                continue
            self.closed += 1
            self.on_closed(process)


async def wait_until(condition: Callable[[], bool], timeout: float, poll: float = 0.005) -> bool:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(poll)
    return True


async def drain(setup: Setup, waiting: int, args: argparse.Namespace) -> dict[str, Any]:
    """Time for K executors to assign and close `waiting` queued processes."""
    finished = asyncio.Event()
    last_close = 0.0

    def on_closed(_: Process) -> None:
        nonlocal last_close
        last_close = time.perf_counter()
        if executors.closed >= waiting:
            finished.set()

    executors = Executors(setup, args.assign_timeout, on_closed)
    started = time.perf_counter()
    executors.start()
    try:
        await asyncio.wait_for(finished.wait(), args.phase_timeout)
        complete = True
    except asyncio.TimeoutError:
        complete = False
    await executors.stop()
    elapsed = (last_close or time.perf_counter()) - started
    return {
        "count": waiting,
        "executors": len(setup.executor_keys),
        "closed": executors.closed,
        "complete": complete,
        "errors": len(executors.errors),
        "first_error": executors.errors[0] if executors.errors else None,
        "seconds": round(elapsed, 4),
        "per_second": round(executors.closed / elapsed, 1) if elapsed > 0 else 0.0,
    }


async def latency(setup: Setup, args: argparse.Namespace) -> dict[str, Any]:
    """Open-loop submits at a fixed rate while K executors long-poll; submit→close latency."""
    submit_started: dict[int, float] = {}
    latencies: list[float] = []
    submit_errors: list[str] = []
    submitted_ok = 0

    def on_closed(process: Process) -> None:
        spec_args = process.spec.args or []
        if len(spec_args) == 2 and spec_args[0] == "latency" and spec_args[1] in submit_started:
            latencies.append(time.perf_counter() - submit_started.pop(spec_args[1]))

    client = setup.submitter(max(args.concurrency, 64))
    executors = Executors(setup, args.assign_timeout, on_closed)
    executors.start()

    async def submit_one(index: int) -> None:
        nonlocal submitted_ok
        submit_started[index] = time.perf_counter()
        try:
            await client.submit(setup.spec("latency", index))
            submitted_ok += 1
        except Exception as err:
            submit_started.pop(index, None)
            submit_errors.append(describe(err))

    inflight: set[asyncio.Task[None]] = set()
    total = int(args.rate * args.duration)
    started = time.perf_counter()
    for index in range(total):
        delay = started + index / args.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(submit_one(index))
        inflight.add(task)
        task.add_done_callback(inflight.discard)
    submit_seconds = time.perf_counter() - started
    await asyncio.gather(*inflight)
    complete = await wait_until(lambda: len(latencies) >= submitted_ok, args.grace)
    await executors.stop()
    return {
        "rate": args.rate,
        "duration": args.duration,
        "submitted": total,
        "achieved_rate": round(total / submit_seconds, 1) if submit_seconds else 0.0,
        "completed": len(latencies),
        "unfinished": submitted_ok - len(latencies),
        "complete": complete,
        "errors": len(submit_errors) + len(executors.errors),
        "first_error": (submit_errors + executors.errors)[0] if submit_errors or executors.errors else None,
        **latency_summary(latencies),
    }


# --- main ---------------------------------------------------------------------------------
async def run(args: argparse.Namespace) -> dict[str, Any]:
    modes = args.modes
    result: dict[str, Any] = {
        "url": args.url,
        "loop": type(asyncio.get_running_loop()).__module__.split(".")[0],
        "params": {
            "mode": modes,
            "count": args.count,
            "concurrency": args.concurrency,
            "executors": args.executors,
            "assign_timeout": args.assign_timeout,
            "rate": args.rate,
            "duration": args.duration,
        },
    }
    async with AsyncClient(args.url) as probe:
        try:
            info = await probe.server_info()
            result["server"] = {"buildversion": info.buildversion, "buildtime": info.buildtime}
        except Exception as err:
            result["server"] = {"error": describe(err)}
    try:
        setup = await create_colony(args)
    except Exception as err:
        result["error"] = f"setup failed: {describe(err)}"
        result["errors"] = 1
        return result
    result["colony"] = setup.colonyname
    try:
        waiting = 0
        if "submit" in modes:
            result["submit"] = await submit_many(setup, "submit", args.count, args.concurrency)
            waiting = result["submit"]["ok"]
        if "drain" in modes:
            if "submit" not in modes:
                prefill = await submit_many(setup, "submit", args.count, args.concurrency)
                waiting = prefill["ok"]
            result["drain"] = await drain(setup, waiting, args)
        if "latency" in modes:
            if "submit" in modes and "drain" not in modes:
                # Leftover queue would be served first and distort the latencies.
                await setup.admin.remove_all_processes(setup.colonyname, WAITING, prvkey=setup.colony_key)
            result["latency"] = await latency(setup, args)
    finally:
        result["cleanup"] = await teardown(setup)
    result["errors"] = sum(result[p]["errors"] for p in PHASES if p in result)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:50080", help="node base URL")
    parser.add_argument("--server-prvkey", required=True, help="server owner key (creates/removes the colony)")
    parser.add_argument("--colony-prvkey", default="", help="colony owner key for the new colony (default: fresh)")
    parser.add_argument("--mode", default="submit,drain,latency", help="phases: submit,drain,latency")
    parser.add_argument("-n", "--count", type=int, default=5000, help="processes to submit (submit/drain)")
    parser.add_argument("-c", "--concurrency", type=int, default=16, help="concurrent submitters")
    parser.add_argument("-k", "--executors", type=int, default=4, help="executors")
    parser.add_argument("--assign-timeout", type=int, default=2, choices=range(1, 6), metavar="1..5",
                        help="assign long-poll timeout in seconds")
    parser.add_argument("-r", "--rate", type=float, default=200.0, help="latency phase submits per second")
    parser.add_argument("-d", "--duration", type=float, default=10.0, help="latency phase seconds")
    parser.add_argument("--grace", type=float, default=30.0, help="seconds to wait for latency stragglers")
    parser.add_argument("--phase-timeout", type=float, default=600.0, help="give up draining after this")
    parser.add_argument("--out", default="", help="also write the JSON to this file")
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --url")
    args = parser.parse_args(argv)
    args.modes = [m.strip() for m in args.mode.split(",") if m.strip()]
    unknown = set(args.modes) - set(PHASES)
    if unknown or not args.modes:
        parser.error(f"--mode takes a comma-separated subset of {','.join(PHASES)}")
    if args.count < 1 or args.concurrency < 1 or args.executors < 1 or args.rate <= 0 or args.duration <= 0:
        parser.error("count, concurrency, executors, rate and duration must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.url = args.url.rstrip("/")
    if not args.allow_remote:
        check_loopback(args.url)
    result = on_client_loop(run(args))
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
