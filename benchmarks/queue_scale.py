#!/usr/bin/env python3
"""Queue-size scaling: submit and assign latency with 1k, 100k and 1M waiting processes, and how
long the node's event loop stalls under a mixed load, on SQLite and on PostgreSQL.

For every store and size the script

1. makes a fresh store (SQLite file in a temporary data dir; or a new database on a throwaway
   PostgreSQL 15 cluster: initdb/pg_ctl as the `postgres` user, a free port on 127.0.0.1,
   fsync off, stopped and removed at the end; the system cluster is never touched), creates the
   node's own schema with the node's own code (`Database.open`, i.e. its migrations), and fills
   it with the node stopped, much faster than through the API: each row is made by the node's
   own `submission.process_row` from a validated spec and written by its own
   `store.processes.insert_process` (so each row, attributes included, is what a
   `submitfuncspecmsg` writes, whatever columns that derives), `--chunk` processes per
   transaction, into the SQLite file; for PostgreSQL into a staging SQLite file whose rows are
   then COPYed over, followed by `VACUUM (ANALYZE)` as autovacuum would do on a live server.
   The fill: N waiting processes of type `queue-scale`:
   * `--targeted` (0.5) of them target executor names that never poll
     (`conditions.executornames` = ghost-0..7), a third of those also with cpu/mem conditions;
   * `--oversized` (0.1) ask more cpu (4000m) or memory (8Gi) than the executors offer
     (1000m, 1Gi);
   * the rest can be assigned: plain, or with cpu/mem that fit, some with env (attributes);
   * about 5 % carry env (attribute rows);
   * `--layout head` (default): every unassignable process is older than every assignable one,
     so each assign has to skip all of them: the steady state of a queue whose executors keep up
     (what they cannot take piles up at the head). `--layout interleaved`: mixed at random
     in submission order (a queue filled while nobody drained it);
   * besides the N waiting ones, `--successful` × N SUCCESSFUL processes from hours ago (work for
     the history reads and the removal below).
2. starts `python -m colonies.cli dev --port P --data-dir D` on that data (COLONIES_STORE_URL
   for PostgreSQL; COLONIES_* and AWS_* of the caller are not passed on), registers 4 executors
   of the type (addexecutormsg + approveexecutormsg signed by the dev colony key), and measures
   over HTTP with real signed requests (colonies.client.AsyncClient, uvloop when installed):
   * `submit`: `--samples` submits one after the other (dev user key): latency p50/p99;
   * `assign`: `--samples` assigns one after the other (timeout 1 s, offering 1000m and 1Gi),
     each assigned process closed right away (untimed), so the queue keeps its size (the
     submits above added as many at its tail as the assigns take from its head): latency
     p50/p99, and `wrong_assignments` (processes it should have skipped; must be 0);
3. runs the mixed load for `--mixed-seconds` (10): the 4 executors draining (assign + close),
   2 clients reading `getprocesshistmsg` (SUCCESSFUL, last 600 s; 0.1 s pause after each reply),
   at 1 s one 10,000-node workflow (`submitworkflowspecmsg`; 100 roots, then layers of 100 in
   which odd nodes depend on one node of the layer before, even ones on two; type
   `queue-scale-wf`, which nobody runs), at 3 s a `removeallprocessesmsg` of the SUCCESSFUL
   processes followed by 50 `removeprocessmsg` of waiting ones (a window under 10 s moves the two
   to a tenth and three tenths of it). The load ends when the window is over and all of these
   have answered. `workflow.submit_seconds` is the whole call at the client (encode, sign, send,
   reply); `client_encode_sign_ms` is the client's own share, measured apart beforehand.

The node has no stall metric, so the stall is measured from outside: a separate probe process
(its own keep-alive connection and nothing else to do, so the benchmark client's own loop cannot
delay it) sends GET /health every 5 ms (`--probe-interval-ms`), from 2 s before the load (the
idle baseline) until the load ends. /health does no work in the node: a probe's response time is
the loopback round trip, aiohttp's parsing, and the time the request waited for the node's event
loop. So `health_probe.max_ms` bounds from above every loop stall a probe ran into (it also holds
queueing behind other ready handlers and OS scheduling on a shared machine, so it over-states
the stall, never under-states it), and `max_minus_baseline_ms` (max minus the idle p50) is the
figure held against the stall target. Probes go out at most 5 ms apart while the node answers,
and the one in flight when a stall begins (or the next, sent within 5 ms) waits it out, so a
stall of S ms cannot slip between them: the longest probe is at least S - interval. `longest` lists the five longest probes, when they started (seconds after the load
began) and which of the discrete steps (workflow, removals) were in flight meanwhile.

Output: one JSON object per store, one line each (`--pretty` indents), with the per-size figures,
the mixed-load figures and `targets` (issue): assign p99 at the largest size ≤ 2 × at the
smallest; the longest stall (`max_minus_baseline_ms`, worst size) ≤ 50 ms; the 10,000-node
workflow submitted (client: encode, sign, send, reply) in ≤ 2 s (worst size). Exit status 1 if
any request failed. Nodes and the PostgreSQL cluster are stopped at the end, also on errors.
Everything runs on 127.0.0.1. The node, PostgreSQL, the client and the probe share the
machine's cores: compare figures taken on one machine only.

    python benchmarks/queue_scale.py                              # both stores, 1k, 100k, 1M
    python benchmarks/queue_scale.py --store sqlite --sizes 1000,10000 --samples 50
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: benchmarks, tests.support

from benchmarks.benchkit import PROBE_FLAG, Request, probe_loop  # noqa: E402


def health_request() -> Request:
    return "GET", "/health", None, {}


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == PROBE_FLAG:
    # the probe's own process: only the standard library and benchkit
    sys.exit(probe_loop(sys.argv[2], float(sys.argv[3]), health_request))


# --- everything else ------------------------------------------------------------------------

from sqlalchemy import Boolean, create_engine, event  # noqa: E402

from benchmarks.benchkit import HOST, ProbeProcess, free_port, latency_summary, node_process, percentile, run, seeded_key  # noqa: E402
from tests.support.postgres import PostgresCluster, start_cluster  # noqa: E402

from colonies import crypto, dev, messages, models, wire  # noqa: E402
from colonies.client import AsyncClient, func_spec  # noqa: E402
from colonies.models import SUCCESS, FunctionSpec  # noqa: E402
from colonies.node.resources import cpu_millicores, mem_mebibytes  # noqa: E402
from colonies.node.store.database import Database  # noqa: E402
from colonies.node.store.processes import insert_process  # noqa: E402
from colonies.node.store.schema import attributes, processes  # noqa: E402
from colonies.node.domain.submission import process_row, validate_spec  # noqa: E402
from colonies.wire import RPCError  # noqa: E402

COLONY = dev.COLONY_NAME
EXECUTOR_TYPE = "queue-scale"
WORKFLOW_TYPE = "queue-scale-wf"
FUNCNAME = "work"
GHOSTS = [f"ghost-{k}" for k in range(8)]  # executor names nobody registers or polls with
OFFERED_CPU, OFFERED_MEM = "1000m", "1Gi"  # what the benchmark's executors offer per assign
ASSIGN_TIMEOUT = 1  # seconds, the assign long-poll
EXECUTORS = 4
WARMUP = 10
HISTORY_READERS = 2
HISTORY_SECONDS = 600
HISTORY_PAUSE = 0.1
WORKFLOW_NODES = 10_000
WORKFLOW_ROOTS = 100
SINGLE_REMOVALS = 50
BASELINE_SECONDS = 2.0
NODE_START_TIMEOUT = 120
PG_TIMEOUT = 120
LONG_CALL_TIMEOUT = 300.0  # removeall / the workflow: seconds before the client gives up
NS = 1_000_000_000
TARGET_ASSIGN_RATIO = 2.0
TARGET_STALL_MS = 50.0
TARGET_WORKFLOW_S = 2.0



# --- small helpers --------------------------------------------------------------------------

def describe(err: BaseException) -> str:
    if isinstance(err, RPCError):
        return f"RPCError {err.status}: {err.message[:300]}"
    return repr(err)[:300]


# --- the store and its fill -----------------------------------------------------------------

@dataclass
class Store:
    kind: str  # "sqlite" | "postgresql"
    url: str  # the node's store URL
    data_dir: Path  # the dev node's data dir (the SQLite file lives there)
    pg: PostgresCluster | None = None
    dbname: str = ""


@dataclass
class Fill:
    waiting: int = 0
    targeted: int = 0
    oversized: int = 0
    assignable: int = 0
    successful: int = 0
    attribute_rows: int = 0
    seconds: float = 0.0
    removable: list[str] = field(default_factory=list)  # waiting ids for removeprocessmsg

    def summary(self) -> dict[str, Any]:
        return {
            "waiting": self.waiting, "targeted_at_ghosts": self.targeted, "oversized": self.oversized,
            "assignable": self.assignable, "successful": self.successful,
            "attribute_rows": self.attribute_rows, "seconds": round(self.seconds, 2),
        }


TARGETED, OVERSIZED, ASSIGNABLE = 0, 1, 2


def waiting_spec(kind: int, index: int, rng: random.Random) -> FunctionSpec:
    env = {"RUN": str(index)} if rng.random() < 0.05 else None
    executornames = cpu = mem = None
    if kind == TARGETED:
        executornames = [rng.choice(GHOSTS)]
        if rng.random() < 1 / 3:
            cpu, mem = "2000m", "4Gi"
    elif kind == OVERSIZED:
        if rng.random() < 0.5:
            cpu = "4000m"
        else:
            mem = "8Gi"
    elif rng.random() < 0.25:
        cpu, mem = "500m", "512Mi"  # fits what the executors offer
    return func_spec(FUNCNAME, COLONY, EXECUTOR_TYPE, args=[index], executornames=executornames,
                     cpu=cpu or "", mem=mem or "", env=env)


Chunk = list[tuple[dict[str, Any], list[dict[str, Any]]]]


def fill_chunks(size: int, args: argparse.Namespace, rng: random.Random, fill: Fill) -> Iterator[Chunk]:
    """[(process row, its attribute rows)] in chunks, oldest first, as `process_row` makes them
    for `submitfuncspecmsg`."""
    now = time.time_ns()
    pid = lambda: rng.randbytes(32).hex()  # noqa: E731  (seeded 64-hex ids)
    fake_executor = crypto.id_from_private_key(seeded_key(rng))
    chunk: Chunk = []

    # SUCCESSFUL history: submitted 3 h to 2 h ago, each ran for a second
    successful = round(size * args.successful)
    step = (3600 * NS) // max(successful, 1)
    for i in range(successful):
        submitted = now - 3 * 3600 * NS + i * step
        spec = validate_spec(func_spec(FUNCNAME, COLONY, EXECUTOR_TYPE, args=[i]))
        row, mine = process_row(spec, initiatorid=dev.ID, initiatorname=dev.USER_NAME, now=submitted, processid=pid())
        row.update(state=SUCCESS, isassigned=True, assignedexecutorid=fake_executor, starttime=submitted + NS,
                   endtime=submitted + 2 * NS, output='["done"]')
        for a in mine:
            a["state"] = SUCCESS
        chunk.append((row, mine))
        fill.attribute_rows += len(mine)
        if len(chunk) >= args.chunk:
            yield chunk
            chunk = []
    fill.successful = successful

    # WAITING: submitted over the hour before the fill, in `layout` order
    targeted = round(size * args.targeted)
    oversized = round(size * args.oversized)
    assignable = size - targeted - oversized
    unassignable = [TARGETED] * targeted + [OVERSIZED] * oversized
    rng.shuffle(unassignable)
    kinds = unassignable + [ASSIGNABLE] * assignable
    if args.layout == "interleaved":
        rng.shuffle(kinds)
    step = (3000 * NS) // max(size, 1)
    for i, kind in enumerate(kinds):
        submitted = now - 3600 * NS + i * step
        spec = validate_spec(waiting_spec(kind, i, rng))
        row, mine = process_row(spec, initiatorid=dev.ID, initiatorname=dev.USER_NAME, now=submitted, processid=pid())
        chunk.append((row, mine))
        fill.attribute_rows += len(mine)
        if kind == TARGETED and len(fill.removable) < SINGLE_REMOVALS:
            fill.removable.append(row["processid"])
        if len(chunk) >= args.chunk:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
    fill.waiting, fill.targeted, fill.oversized, fill.assignable = size, targeted, oversized, assignable


async def create_schema(url: str) -> None:
    """The node's own schema, made by the node's own code (its migrations)."""
    db = await Database.open(url)
    await db.close()


def fill_sqlite_file(path: Path, size: int, args: argparse.Namespace, rng: random.Random) -> Fill:
    """Fill an SQLite store through the node's own insert (`processes.insert_process`, which
    completes the row as a submit does), `--chunk` processes per transaction."""
    fill = Fill()
    started = time.perf_counter()
    run(create_schema(f"sqlite:///{path}"))
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA synchronous=OFF"))
    try:
        for chunk in fill_chunks(size, args, rng, fill):
            with engine.begin() as conn:
                for row, mine in chunk:
                    insert_process(conn, row, mine)
    finally:
        engine.dispose()
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    fill.seconds = time.perf_counter() - started
    return fill


BOOLEAN_COLUMNS = {t.name: {c.name for c in t.columns if isinstance(c.type, Boolean)} for t in (processes, attributes)}


async def copy_sqlite_to_postgresql(staging: Path, store: Store) -> None:
    """COPY every process and attribute row of the staging SQLite store into the PostgreSQL one."""
    import asyncpg

    assert store.pg is not None
    conn = await asyncpg.connect(host=HOST, port=store.pg.port, user="postgres", database=store.dbname, timeout=30)
    try:
        with contextlib.closing(sqlite3.connect(staging, timeout=30)) as source:
            for table in ("processes", "attributes"):
                cursor = source.execute(f"SELECT * FROM {table}")
                columns = [d[0] for d in cursor.description]
                booleans = [i for i, c in enumerate(columns) if c in BOOLEAN_COLUMNS[table]]
                while batch := cursor.fetchmany(20_000):
                    records = []
                    for values in batch:
                        record = list(values)
                        for i in booleans:
                            record[i] = bool(record[i])
                        records.append(record)
                    await conn.copy_records_to_table(table, records=records, columns=columns, timeout=PG_TIMEOUT)
        # what autovacuum does on a live server: planner statistics, visibility map
        for table in ("processes", "attributes"):
            await conn.execute(f"VACUUM (ANALYZE) {table}", timeout=PG_TIMEOUT)
    finally:
        await conn.close(timeout=10)


def fill_store(store: Store, size: int, args: argparse.Namespace, rng: random.Random, workdir: Path) -> Fill:
    if store.kind == "sqlite":
        return fill_sqlite_file(store.data_dir / "colonies.db", size, args, rng)
    # PostgreSQL: the same rows, written by the node's insert into a staging SQLite store, then
    # copied (so both stores hold exactly what the node's own insert path makes of each row)
    staging = workdir / f"staging-{size}.db"
    try:
        fill = fill_sqlite_file(staging, size, args, rng)
        started = time.perf_counter()
        run(create_schema(store.url))
        run(copy_sqlite_to_postgresql(staging, store))
        fill.seconds += time.perf_counter() - started
        return fill
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{staging}{suffix}").unlink(missing_ok=True)


# --- the node -------------------------------------------------------------------------------

def child_env(store: Store) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLONIES_", "AWS_"))}
    if store.kind == "postgresql":
        env["COLONIES_STORE_URL"] = store.url
    return env


@contextlib.contextmanager
def running_node(store: Store, log_path: Path) -> Iterator[str]:
    """A dev node on the store; killed on exit."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    command = [sys.executable, "-m", "colonies.cli", "dev", "--host", HOST, "--port", str(port), "--data-dir", str(store.data_dir)]
    with node_process(command, child_env(store), log_path, url, NODE_START_TIMEOUT):
        yield url


# --- measurements over HTTP -----------------------------------------------------------------

def work_spec(index: int) -> FunctionSpec:
    return func_spec(FUNCNAME, COLONY, EXECUTOR_TYPE, args=["sample", index])


OFFERED_MILLICORES, OFFERED_MIB = cpu_millicores(OFFERED_CPU), mem_mebibytes(OFFERED_MEM)


def should_have_skipped(process: models.Process) -> bool:
    """Targeted at another executor, or asking more than the executor offered."""
    cond = process.spec.conditions
    return bool(cond.executornames) or cpu_millicores(cond.cpu) > OFFERED_MILLICORES or mem_mebibytes(cond.mem) > OFFERED_MIB


async def add_executors(url: str, rng: random.Random) -> list[str]:
    keys = []
    async with AsyncClient(url, dev.COLONY_PRVKEY) as owner:
        for i in range(EXECUTORS):
            key = seeded_key(rng)
            name = f"queue-scale-{i}"
            await owner.add_executor(COLONY, crypto.id_from_private_key(key), name, EXECUTOR_TYPE)
            await owner.approve_executor(COLONY, name)
            keys.append(key)
    return keys


async def measure_submits(url: str, samples: int) -> dict[str, Any]:
    seconds: list[float] = []
    errors: list[str] = []
    async with AsyncClient(url, dev.PRVKEY) as client:
        for i in range(WARMUP + samples):
            started = time.perf_counter()
            try:
                await client.submit(work_spec(i))
            except Exception as err:
                errors.append(describe(err))
                continue
            if i >= WARMUP:
                seconds.append(time.perf_counter() - started)
    return {"samples": len(seconds), **latency_summary(seconds), "errors": len(errors), "first_error": errors[0] if errors else None}


async def measure_assigns(url: str, key: str, samples: int) -> dict[str, Any]:
    seconds: list[float] = []
    errors: list[str] = []
    misses = wrong = 0
    async with AsyncClient(url, key) as client:
        for i in range(WARMUP + samples):
            started = time.perf_counter()
            try:
                process = await client.assign(COLONY, ASSIGN_TIMEOUT, OFFERED_CPU, OFFERED_MEM)
            except RPCError as err:
                if err.status == 404:
                    misses += 1
                else:
                    errors.append(describe(err))
                continue
            except Exception as err:
                errors.append(describe(err))
                continue
            elapsed = time.perf_counter() - started
            if i >= WARMUP:
                seconds.append(elapsed)
            wrong += should_have_skipped(process)
            try:
                await client.close(process, ["done"])
            except Exception as err:
                errors.append(f"close {describe(err)}")
    return {
        "samples": len(seconds), **latency_summary(seconds), "misses": misses, "wrong_assignments": wrong,
        "errors": len(errors), "first_error": errors[0] if errors else None,
    }


def workflow_spec() -> models.WorkflowSpec:
    """WORKFLOW_NODES nodes in layers of WORKFLOW_ROOTS: node i depends on i-100, even ones also on i-101."""
    specs = []
    for i in range(WORKFLOW_NODES):
        deps = []
        if i >= WORKFLOW_ROOTS:
            deps.append(f"n{i - WORKFLOW_ROOTS}")
            if i % 2 == 0 and i - WORKFLOW_ROOTS - 1 >= 0:
                deps.append(f"n{i - WORKFLOW_ROOTS - 1}")
        specs.append(func_spec(FUNCNAME, COLONY, WORKFLOW_TYPE, nodename=f"n{i}", args=[i], dependencies=deps))
    return models.WorkflowSpec(colonyname=COLONY, functionspecs=specs)


@dataclass
class Step:
    name: str
    start: float  # monotonic
    end: float = 0.0


class Probe(ProbeProcess):
    """The /health probe in its own process (see the module docstring)."""

    def __init__(self, url: str, interval: float) -> None:
        super().__init__(os.path.abspath(__file__), url, interval)

    async def stop(self) -> list[tuple[float, float, bool]]:  # type: ignore[override]
        return [(started, seconds, status == 200) for started, seconds, status in await super().stop()]


def probe_figures(samples: list[tuple[float, float, bool]], load_start: float, load_end: float, steps: list[Step], interval: float) -> dict[str, Any]:
    baseline = [s for s in samples[10:] if s[0] < load_start]  # the first ones open the connection
    during = [s for s in samples if load_start <= s[0] <= load_end]
    base_p50 = percentile(sorted(d for _, d, ok in baseline if ok), 50)
    ordered = sorted(d for _, d, _ in during)
    peak = ordered[-1] if ordered else 0.0
    longest = []
    for started, elapsed, ok in sorted(during, key=lambda s: -s[1])[:5]:
        overlapped = sorted({s.name for s in steps if s.start <= started + elapsed and (s.end or load_end) >= started})
        longest.append({"ms": round(elapsed * 1000, 2), "at_s": round(started - load_start, 3), "ok": ok, "during": overlapped})
    return {
        "interval_ms": round(interval * 1000, 2),
        "baseline_probes": len(baseline),
        "baseline_p50_ms": round(base_p50 * 1000, 3),
        "probes": len(during),
        "failed": sum(1 for _, _, ok in during if not ok),
        "p50_ms": round(percentile(ordered, 50) * 1000, 3),
        "p99_ms": round(percentile(ordered, 99) * 1000, 3),
        "max_ms": round(peak * 1000, 3),
        "max_minus_baseline_ms": round((peak - base_p50) * 1000, 3),
        "longest": longest,
    }


async def mixed_load(url: str, keys: list[str], fill: Fill, args: argparse.Namespace, workflow: models.WorkflowSpec) -> dict[str, Any]:
    stop = asyncio.Event()
    steps: list[Step] = []
    errors: list[str] = []
    assign_seconds: list[float] = []
    closed = wrong = 0
    history_seconds: list[float] = []
    history_rows: list[int] = []
    result: dict[str, Any] = {"seconds": args.mixed_seconds, "executors": len(keys), "history_readers": HISTORY_READERS}

    async def executor(key: str) -> None:
        nonlocal closed, wrong
        async with AsyncClient(url, key) as client:
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    process = await client.assign(COLONY, ASSIGN_TIMEOUT, OFFERED_CPU, OFFERED_MEM)
                except RPCError as err:
                    if err.status != 404:
                        errors.append(f"assign {describe(err)}")
                        await asyncio.sleep(0.1)
                    continue
                except Exception as err:
                    errors.append(f"assign {describe(err)}")
                    await asyncio.sleep(0.1)
                    continue
                assign_seconds.append(time.perf_counter() - started)
                wrong += should_have_skipped(process)
                try:
                    await client.close(process, ["done"])
                    closed += 1
                except Exception as err:
                    errors.append(f"close {describe(err)}")

    async def history_reader() -> None:
        async with AsyncClient(url, dev.PRVKEY) as client:
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    found = await client.process_history(COLONY, HISTORY_SECONDS, SUCCESS)
                    history_seconds.append(time.perf_counter() - started)
                    history_rows.append(len(found))
                except Exception as err:
                    errors.append(f"history {describe(err)}")
                await asyncio.sleep(HISTORY_PAUSE)

    # the client's own share of the workflow submit (encoding and signing the request), measured apart
    started = time.perf_counter()
    request = wire.build_request(messages.SubmitWorkflowSpecMsg(msgtype="submitworkflowspecmsg", spec=workflow), dev.PRVKEY)
    encode_ms, request_bytes = round((time.perf_counter() - started) * 1000, 3), len(request)
    del request

    async def submit_workflow(delay: float) -> None:
        await asyncio.sleep(delay)
        step = Step("workflow_submit", time.monotonic())
        steps.append(step)
        try:
            async with AsyncClient(url, dev.PRVKEY, timeout=LONG_CALL_TIMEOUT) as client:
                started = time.perf_counter()
                graph = await client.submit_workflow(workflow)
                result["workflow"] = {"nodes": WORKFLOW_NODES, "submit_seconds": round(time.perf_counter() - started, 4),
                                      "client_encode_sign_ms": encode_ms, "request_bytes": request_bytes,
                                      "roots": len(graph.rootprocessids), "error": None}
        except Exception as err:
            result["workflow"] = {"nodes": WORKFLOW_NODES, "submit_seconds": None, "error": describe(err)}
            errors.append(f"workflow {describe(err)}")
        step.end = time.monotonic()

    async def removals(delay: float) -> None:
        await asyncio.sleep(delay)
        step = Step("removeall_successful", time.monotonic())
        steps.append(step)
        removal: dict[str, Any] = {"successful_filled": fill.successful}
        try:
            async with AsyncClient(url, dev.COLONY_PRVKEY, timeout=LONG_CALL_TIMEOUT) as owner:
                started = time.perf_counter()
                await owner.remove_all_processes(COLONY, SUCCESS)
                removal["removeall_successful_ms"] = round((time.perf_counter() - started) * 1000, 3)
        except Exception as err:
            removal["removeall_error"] = describe(err)
            errors.append(f"removeall {describe(err)}")
        step.end = time.monotonic()
        step = Step("single_removes", time.monotonic())
        steps.append(step)
        single: list[float] = []
        async with AsyncClient(url, dev.PRVKEY) as client:
            for processid in fill.removable:
                started = time.perf_counter()
                try:
                    await client.remove_process(processid)
                    single.append(time.perf_counter() - started)
                except Exception as err:
                    errors.append(f"remove {describe(err)}")
        step.end = time.monotonic()
        removal["single_removes"] = {"count": len(single), **latency_summary(single)}
        result["removals"] = removal

    probe = Probe(url, args.probe_interval_ms / 1000)
    await probe.start()
    tasks: list[asyncio.Task[None]] = []
    steps_done: asyncio.Future[Any] | None = None
    try:
        await asyncio.sleep(BASELINE_SECONDS)
        load_start = time.monotonic()
        tasks = [asyncio.create_task(executor(k)) for k in keys]
        tasks += [asyncio.create_task(history_reader()) for _ in range(HISTORY_READERS)]
        window = args.mixed_seconds
        steps_done = asyncio.gather(submit_workflow(min(1.0, 0.1 * window)), removals(min(3.0, 0.3 * window)))
        await asyncio.sleep(window)
        try:
            await asyncio.wait_for(steps_done, LONG_CALL_TIMEOUT + 30)
        except asyncio.TimeoutError:
            errors.append("workflow or removals did not finish")
        load_end = time.monotonic()
        result["load_seconds"] = round(load_end - load_start, 3)
        stop.set()
        _, pending = await asyncio.wait(tasks, timeout=ASSIGN_TIMEOUT + 30)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        if steps_done is not None:
            steps_done.cancel()
            await asyncio.gather(steps_done, return_exceptions=True)
        samples = await probe.stop()
    result["drain"] = {"assigned_closed": closed, "per_second": round(closed / (load_end - load_start), 1),
                       "assign": latency_summary(assign_seconds), "wrong_assignments": wrong}
    result["history_reads"] = {"count": len(history_seconds), **latency_summary(history_seconds),
                               "rows_max": max(history_rows, default=0)}
    result["health_probe"] = probe_figures(samples, load_start, load_end, steps, args.probe_interval_ms / 1000)
    result["steps_s"] = {s.name: [round(s.start - load_start, 3), round((s.end or load_end) - load_start, 3)] for s in steps}
    result["errors"] = len(errors)
    result["first_error"] = errors[0] if errors else None
    return result


async def measure(url: str, fill: Fill, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    keys = await add_executors(url, rng)
    figures: dict[str, Any] = {}
    async with AsyncClient(url, dev.PRVKEY) as user:
        stats = await user.colony_stats(COLONY)
        figures["node_sees"] = {"waiting": stats.waitingprocesses, "successful": stats.successfulprocesses}
    figures["submit"] = await measure_submits(url, args.samples)
    figures["assign"] = await measure_assigns(url, keys[0], args.samples)
    workflow = workflow_spec()
    figures["mixed"] = await mixed_load(url, keys, fill, args, workflow)
    return figures


# --- per store, per size --------------------------------------------------------------------

def one_size(kind: str, size: int, args: argparse.Namespace, workdir: Path, pg: PostgresCluster | None) -> dict[str, Any]:
    rng = random.Random(f"{args.seed}-{size}")
    data_dir = workdir / f"{kind}-{size}"
    data_dir.mkdir()
    if kind == "sqlite":
        store = Store(kind, f"sqlite:///{data_dir / 'colonies.db'}", data_dir)
    else:
        assert pg is not None
        dbname = f"queue_scale_{size}_{secrets.token_hex(3)}"
        pg.create_database(dbname)
        store = Store(kind, pg.url(dbname), data_dir, pg, dbname)
    try:
        fill = fill_store(store, size, args, rng, workdir)
        entry: dict[str, Any] = {"fill": fill.summary()}
        with running_node(store, workdir / f"{kind}-{size}.log") as url:
            entry |= run(measure(url, fill, args, random.Random(f"{args.seed}-{size}-keys")))
        return entry
    finally:
        if store.dbname and pg is not None:
            with contextlib.suppress(Exception):
                pg.drop_database(store.dbname)
        shutil.rmtree(data_dir, ignore_errors=True)


def size_errors(entry: dict[str, Any]) -> int:
    if "error" in entry:
        return 1
    return sum(entry.get(k, {}).get("errors", 0) for k in ("submit", "assign", "mixed"))


def targets(sizes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    ok = {int(s): e for s, e in sizes.items() if "error" not in e}
    out: dict[str, Any] = {}
    if len(ok) >= 2:
        small, large = min(ok), max(ok)
        p_small, p_large = ok[small]["assign"]["p99_ms"], ok[large]["assign"]["p99_ms"]
        ratio = round(p_large / p_small, 3) if p_small else None
        out["assign_p99_ratio"] = {"sizes": [small, large], "p99_ms": [p_small, p_large], "value": ratio,
                                   "limit": TARGET_ASSIGN_RATIO, "met": ratio is not None and ratio <= TARGET_ASSIGN_RATIO}
    else:
        out["assign_p99_ratio"] = {"value": None, "met": None, "note": "needs two sizes that ran"}
    stalls = {s: e["mixed"]["health_probe"]["max_minus_baseline_ms"] for s, e in ok.items()}
    worst = max(stalls.values(), default=None)
    out["longest_stall_ms"] = {"figure": "health_probe.max_minus_baseline_ms, worst size", "value": worst, "per_size": stalls,
                               "limit": TARGET_STALL_MS, "met": worst is not None and worst <= TARGET_STALL_MS}
    workflow = {s: e["mixed"].get("workflow", {}).get("submit_seconds") for s, e in ok.items()}
    known = [v for v in workflow.values() if v is not None]
    worst_wf = max(known) if known and len(known) == len(workflow) else None
    out["workflow_10000_submit_s"] = {"value": worst_wf, "per_size": workflow, "limit": TARGET_WORKFLOW_S,
                                      "met": worst_wf is not None and worst_wf <= TARGET_WORKFLOW_S}
    return out


def run_store(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {
        "store": kind,
        "params": {"sizes": args.sizes, "samples": args.samples, "seed": args.seed, "layout": args.layout,
                   "targeted": args.targeted, "oversized": args.oversized, "successful": args.successful,
                   "mixed_seconds": args.mixed_seconds, "executors": EXECUTORS, "assign_timeout_s": ASSIGN_TIMEOUT,
                   "offered": {"cpu": OFFERED_CPU, "mem": OFFERED_MEM}},
        "sizes": {},
    }
    pg = None
    try:
        if kind == "postgresql":
            pg = start_cluster()
        for size in args.sizes:
            try:
                result["sizes"][str(size)] = one_size(kind, size, args, workdir, pg)
            except Exception as err:
                result["sizes"][str(size)] = {"error": describe(err)}
    except Exception as err:
        result["error"] = describe(err)
    finally:
        if pg is not None:
            pg.stop()
    result["targets"] = targets(result["sizes"])
    result["errors"] = ("error" in result) + sum(size_errors(e) for e in result["sizes"].values())
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="1000,100000,1000000", help="waiting processes to fill, comma-separated")
    parser.add_argument("--samples", type=int, default=200, help="timed submits and assigns per size")
    parser.add_argument("--seed", type=int, default=1, help="seed of the fill, process ids and executor keys")
    parser.add_argument("--layout", choices=("head", "interleaved"), default="head",
                        help="head: every unassignable process older than every assignable one; interleaved: mixed")
    parser.add_argument("--targeted", type=float, default=0.5, help="share targeted at executor names that never poll")
    parser.add_argument("--oversized", type=float, default=0.1, help="share asking more cpu/mem than offered")
    parser.add_argument("--successful", type=float, default=0.1, help="SUCCESSFUL processes filled, × size")
    parser.add_argument("--mixed-seconds", type=float, default=10.0, help="the mixed load's window")
    parser.add_argument("--probe-interval-ms", type=float, default=5.0, help="GET /health cadence during the mixed load")
    parser.add_argument("--chunk", type=int, default=20_000, help="rows per fill transaction / COPY")
    parser.add_argument("--pretty", action="store_true", help="indent the JSON")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes comma-separated integers")
    if not args.sizes or min(args.sizes) < 1 or args.samples < 1 or args.chunk < 1:
        parser.error("sizes, samples and chunk must be positive")
    if not (0 <= args.targeted and 0 <= args.oversized and args.targeted + args.oversized <= 1 and args.successful >= 0):
        parser.error("--targeted and --oversized are shares (sum ≤ 1), --successful ≥ 0")
    if args.mixed_seconds <= 0 or args.probe_interval_ms <= 0:
        parser.error("--mixed-seconds and --probe-interval-ms must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def terminate(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)  # unwinds through the finally blocks: nodes and cluster stop

    signal.signal(signal.SIGTERM, terminate)
    kinds = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    errors = 0
    workdir = Path(tempfile.mkdtemp(prefix="colonies-queue-scale-"))
    try:
        for kind in kinds:
            result = run_store(kind, args, workdir)
            errors += result["errors"]
            print(json.dumps(result, indent=2 if args.pretty else None), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
