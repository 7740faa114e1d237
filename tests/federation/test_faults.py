"""Federation under backlog, stalls, restarts, cancels and bursts (issue 7): real nodes on loopback,
peers that are SIGSTOPped or SIGKILLed in their own processes, executors that count what they ran."""
from __future__ import annotations

import asyncio
import collections
import os
import signal
import time
from pathlib import Path
from typing import Any, Coroutine

import pytest
from sqlalchemy import func, select

from colonies import dev
from colonies.client import AsyncClient, func_spec
from colonies.federation import store as fq
from colonies.models import CANCELLED, SUCCESS
from colonies.wire import RPCError
from tests.federation.test_failover import add_executor, dev_federation_node, spawn_dev_node
from tests.federation.sites import free_port
from tests.support.nodes import RunningNode
from tests.support.rpc import RPCFailure, call

COLONY = dev.COLONY_NAME
# quick failure detection, so that the tests stay short
FAST = {"heartbeat_interval": 0.5, "heartbeat_timeout": 1.0, "peer_timeout": 2.0}
STALL_SECONDS = 60.0

pytestmark = pytest.mark.timeout(240)


async def on(node: RunningNode, coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine on a node's own loop (its internals) from the test's loop."""
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, node.loop))


async def status(node: RunningNode) -> dict[str, Any]:
    return await on(node, node.node.core.federation.status())


async def eventually(predicate: Any, timeout: float, what: str, interval: float = 0.1) -> float:
    """Poll an async predicate until it holds; the seconds it took."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if await predicate():
            return time.monotonic() - began
        await asyncio.sleep(interval)
    raise AssertionError(f"not within {timeout} s: {what}")


async def executor_loop(url: str, key: str, stop: asyncio.Event, ran: collections.Counter[str], work: float = 0.0, answer: str = "") -> None:
    """Assign, (work), close with `answer`; counts every execution by function name."""
    async with AsyncClient(url, key) as client:
        while not stop.is_set():
            try:
                process = await client.assign(COLONY, 1)
            except RPCError as err:
                assert err.status == 404, err
                continue
            ran[process.spec.funcname] += 1
            if work:
                await asyncio.sleep(work)
            await client.close(process, [answer or url])


async def successful(client: AsyncClient) -> int:
    return (await client.colony_stats(COLONY)).successfulprocesses


def make_live(url: str, key: str) -> None:
    """One assign call without waiting: the executor counts as live there for a while."""
    with pytest.raises(RPCFailure):
        call(url, {"msgtype": "assignprocessmsg", "colonyname": COLONY, "timeout": -1, "availablecpu": "", "availablemem": ""}, key)


def inbound_rows(node: RunningNode) -> int:
    return node.call(node.node.core.db.read(lambda conn: conn.execute(select(func.count()).select_from(fq.inbound)).scalar()))


async def test_a_backlog_that_cannot_be_forwarded_blocks_no_forwarding_and_costs_no_lookups(tmp_path: Path) -> None:
    port_a, port_b = free_port(), free_port()
    a = dev_federation_node(tmp_path, "a", port_a, [port_b], **FAST)
    b = dev_federation_node(tmp_path, "b", port_b, [port_a], **FAST)
    stop = asyncio.Event()
    ran: collections.Counter[str] = collections.Counter()
    try:
        make_live(a.url, add_executor(a.url, "local"))  # local work queued at A: never forwarded
        worker = asyncio.ensure_future(executor_loop(b.url, add_executor(b.url, "cpu"), stop, ran))
        async with AsyncClient(a.url, dev.PRVKEY) as origin:
            for start in range(0, 1200, 100):
                kind = "local" if start < 200 else "nowhere"  # 200 runnable here, 1,000 runnable nowhere
                await asyncio.gather(*(origin.submit(func_spec(f"{kind}{i}", COLONY, kind)) for i in range(start, start + 100)))
            forwardable = await asyncio.gather(*(origin.submit(func_spec(f"cpu{i}", COLONY, "cpu")) for i in range(50)))
            await eventually(lambda: _all_succeeded(origin, forwardable), 60, "the 50 forwardable processes completed")
            assert sorted(ran) == sorted(f"cpu{i}" for i in range(50)) and set(ran.values()) == {1}

            cache = a.node.core.federation.cache
            before = cache.lookups
            await asyncio.sleep(3.0)
            # with 1,200 processes waiting, the forward passes of 3 s looked providers up at most
            # once per type and cache lifetime, not once per process and pass
            assert cache.lookups - before <= 2
            report = await status(a)
            assert {"colonyname": COLONY, "executortype": "nowhere", "waiting": 1000} in report["unforwardable"]
            assert all(u["executortype"] != "local" for u in report["unforwardable"])
        # the peer keeps no bookkeeping for work whose results were taken
        await eventually(lambda: _async(inbound_rows(b) == 0), 10, "inbound rows deleted after acknowledgement")
    finally:
        stop.set()
        await asyncio.gather(worker, return_exceptions=True)
        a.stop()
        b.stop()


async def _async(value: bool) -> bool:
    return value


async def _all_succeeded(client: AsyncClient, processes: list[Any]) -> bool:
    states = await asyncio.gather(*(client.get_process(p) for p in processes))
    return all(p.state == SUCCESS for p in states)


async def test_a_peer_stalled_for_a_minute_runs_nothing_twice_and_its_queue_moves_elsewhere(tmp_path: Path) -> None:
    port_a, port_b, port_d = free_port(), free_port(), free_port()
    a = dev_federation_node(tmp_path, "a", port_a, [port_b, port_d], **FAST)
    d = dev_federation_node(tmp_path, "d", port_d, [port_a, port_b], **FAST)
    b = spawn_dev_node(tmp_path, port_b, [port_a, port_d], name="b")
    b_url = f"http://127.0.0.1:{port_b}"
    stop, resume = asyncio.Event(), asyncio.Event()
    ran: collections.Counter[str] = collections.Counter()
    tasks: list[asyncio.Future[Any]] = []

    async def holder(key: str) -> None:
        """Takes one process at B, holds it through the stall, then works on as usual."""
        async with AsyncClient(b_url, key) as client:
            process = await client.assign(COLONY, 60)
            ran[process.spec.funcname] += 1
            await resume.wait()
            await client.close(process, ["b"])
        await executor_loop(b_url, key, stop, ran, answer="b")

    try:
        b_keys = [add_executor(b_url, "cpu") for _ in range(10)]
        tasks += [asyncio.ensure_future(holder(key)) for key in b_keys]
        await asyncio.sleep(0.5)
        async with AsyncClient(a.url, dev.PRVKEY) as origin:
            submitted = await asyncio.gather(*(origin.submit(func_spec(f"job{i}", COLONY, "cpu")) for i in range(60)))

            async def held_at_b() -> bool:
                peers = (await status(a))["peers"]
                return any(p["running"] == 10 and p["waiting"] == 50 for p in peers.values())

            await eventually(held_at_b, 30, "10 running and 50 queued at B")

            os.kill(b.pid, signal.SIGSTOP)
            stalled = time.monotonic()
            d_keys = [add_executor(d.url, "cpu") for _ in range(4)]
            tasks += [asyncio.ensure_future(executor_loop(d.url, key, stop, ran, answer="d")) for key in d_keys]

            async def detected() -> bool:
                return any(not p["reachable"] for p in (await status(a))["peers"].values())

            await eventually(detected, 20, "the stall detected")
            detection = time.monotonic()
            await eventually(lambda: _count_at_least(origin, 50), 30, "the 50 queued processes completed elsewhere")
            print(f"\nstall detected after {detection - stalled:.1f} s; queued work done {time.monotonic() - detection:.1f} s later")

            await asyncio.sleep(max(0.0, stalled + STALL_SECONDS - time.monotonic()))
            os.kill(b.pid, signal.SIGCONT)
            resume.set()
            await eventually(lambda: _count_at_least(origin, 60), 60, "the 10 that ran at B reported")
            await asyncio.sleep(3.0)  # B's executors keep asking: nothing revoked may reach them
            finished = await asyncio.gather(*(origin.get_process(p) for p in submitted))
        assert all(p.state == SUCCESS for p in finished)
        assert sorted(ran) == sorted(f"job{i}" for i in range(60))
        assert set(ran.values()) == {1}, {name: n for name, n in ran.items() if n > 1}
        outputs = collections.Counter(p.output[0] for p in finished)
        assert outputs == {"b": 10, "d": 50}

        async def b_forgot() -> bool:
            reply = call(b_url, {"msgtype": "nodestatusmsg"}, dev.SERVER_PRVKEY)
            return reply["forwardedin"] == 0

        await eventually(b_forgot, 15, "B dropped its revoked copies")
    finally:
        stop.set()
        resume.set()
        if b.poll() is None:
            os.kill(b.pid, signal.SIGCONT)
        await asyncio.gather(*tasks, return_exceptions=True)
        if b.poll() is None:
            b.kill()
            b.wait(10)
        a.stop()
        d.stop()


async def _count_at_least(client: AsyncClient, count: int) -> bool:
    return await successful(client) >= count


async def test_a_burst_is_spread_over_equal_providers(tmp_path: Path) -> None:
    names = ["a", "p1", "p2", "p3"]
    ports = {name: free_port() for name in names}
    nodes = {
        name: dev_federation_node(tmp_path, name, ports[name], [ports[o] for o in names if o != name], **FAST) for name in names
    }
    stop = asyncio.Event()
    ran: collections.Counter[str] = collections.Counter()
    workers = [
        asyncio.ensure_future(executor_loop(nodes[name].url, add_executor(nodes[name].url, "cpu"), stop, ran, work=0.02, answer=name))
        for name in names[1:]
    ]
    try:
        await asyncio.sleep(0.5)
        async with AsyncClient(nodes["a"].url, dev.PRVKEY) as origin:
            burst = await asyncio.gather(*(origin.submit(func_spec(f"job{i}", COLONY, "cpu")) for i in range(150)))
            await eventually(lambda: _count_at_least(origin, 150), 90, "the burst completed")
            finished = await asyncio.gather(*(origin.get_process(p) for p in burst))
        where = collections.Counter(p.output[0] for p in finished)
        assert set(ran.values()) == {1}
        assert set(where) == {"p1", "p2", "p3"} and min(where.values()) >= 30, where  # 50 each when ideal
    finally:
        stop.set()
        await asyncio.gather(*workers, return_exceptions=True)
        for node in nodes.values():
            node.stop()


async def test_cancel_and_remove_at_the_origin_reach_the_peer(tmp_path: Path) -> None:
    port_a, port_b = free_port(), free_port()
    a = dev_federation_node(tmp_path, "a", port_a, [port_b], **FAST)
    b = dev_federation_node(tmp_path, "b", port_b, [port_a], **FAST)
    try:
        b_key = add_executor(b.url, "cpu")
        make_live(b.url, b_key)
        async with AsyncClient(a.url, dev.PRVKEY) as origin, AsyncClient(b.url, b_key) as at_b:
            # B's one executor is busy, so what follows waits at B for its start to be granted
            await origin.submit(func_spec("busy", COLONY, "cpu"))
            busy = await at_b.assign(COLONY, 10)
            assert busy.spec.funcname == "busy"
            first, second, third = [await origin.submit(func_spec(name, COLONY, "cpu")) for name in ("cancelled", "removed", "kept")]

            async def where(process: Any) -> Any:
                return call(a.url, {"msgtype": "nodeprocessmsg", "processid": process.processid}, dev.PRVKEY)["runsat"]

            async def all_waiting_at_b() -> bool:
                places = [await where(p) for p in (first, second, third)]
                return all(p is not None and p["state"] == "waiting" for p in places)

            await eventually(all_waiting_at_b, 10, "all three waiting at B")
            await origin.cancel(first)
            await origin.remove_process(second)  # only waiting at the peer: it may go
            assert (await origin.get_process(first)).state == CANCELLED
            with pytest.raises(RPCError) as gone:
                await origin.get_process(second)
            assert gone.value.status == 404

            await at_b.close(busy, ["done"])
            got = await at_b.assign(COLONY, 5)  # the cancelled and removed copies never start
            assert got.spec.funcname == "kept"
            assert (await where(third))["state"] == "running"
            with pytest.raises(RPCError) as refused:
                await origin.remove_process(third)
            assert refused.value.status == 400 and "running" in refused.value.message
            with pytest.raises(RPCError):
                await at_b.assign(COLONY, 2)

            async def b_keeps_no_copies() -> bool:
                return not (await at_b.list_processes(COLONY, 0, 100))

            await eventually(b_keeps_no_copies, 10, "B dropped the revoked copies")
            await at_b.close(got, ["done"])
            done = await origin.wait(third, timeout=10)
            assert done.state == SUCCESS and done.output == ["done"]
    finally:
        a.stop()
        b.stop()


async def test_a_restarted_peer_runs_none_of_the_work_taken_back_while_it_was_gone(tmp_path: Path) -> None:
    port_a, port_b, port_d = free_port(), free_port(), free_port()
    a = dev_federation_node(tmp_path, "a", port_a, [port_b, port_d], **FAST)
    d = dev_federation_node(tmp_path, "d", port_d, [port_a, port_b], **FAST)
    b = spawn_dev_node(tmp_path, port_b, [port_a, port_d], name="b")
    b_url = f"http://127.0.0.1:{port_b}"
    stop = asyncio.Event()
    ran: collections.Counter[str] = collections.Counter()
    tasks = []
    try:
        b_key = add_executor(b_url, "cpu")
        make_live(b_url, b_key)
        async with AsyncClient(a.url, dev.PRVKEY) as origin:
            # B's one executor is busy: what follows is queued at B (not granted a start)
            await origin.submit(func_spec("busy", COLONY, "cpu"))
            async with AsyncClient(b_url, b_key) as at_b:
                assert (await at_b.assign(COLONY, 10)).spec.funcname == "busy"
            submitted = [await origin.submit(func_spec(f"job{i}", COLONY, "cpu")) for i in range(5)]

            async def queued_at_b() -> bool:
                return any(p["waiting"] == 5 for p in (await status(a))["peers"].values())

            await eventually(queued_at_b, 10, "5 queued at B")
            b.kill()
            b.wait(10)
            tasks.append(asyncio.ensure_future(executor_loop(d.url, add_executor(d.url, "cpu"), stop, ran, answer="d")))
            await eventually(lambda: _all_succeeded(origin, submitted), 30, "the work taken back ran at D")

            b = spawn_dev_node(tmp_path, port_b, [port_a, port_d], name="b")  # same data dir: its stale copies are there
            async with AsyncClient(b_url, b_key) as at_b:
                with pytest.raises(RPCError) as nothing:
                    await at_b.assign(COLONY, 3)
                assert nothing.value.status == 404

            async def b_forgot() -> bool:  # what it keeps is the one its executor still runs
                return call(b_url, {"msgtype": "nodestatusmsg"}, dev.SERVER_PRVKEY)["forwardedin"] == 1

            await eventually(b_forgot, 15, "the restarted peer dropped its stale copies")
            finished = [await origin.get_process(p) for p in submitted]
        assert all(p.state == SUCCESS and p.output == ["d"] for p in finished)
        assert set(ran.values()) == {1} and len(ran) == 5
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        if b.poll() is None:
            b.kill()
            b.wait(10)
        a.stop()
        d.stop()


async def test_forwarded_in_work_is_never_forwarded_on(tmp_path: Path) -> None:
    port_a, port_b, port_c = free_port(), free_port(), free_port()
    a = dev_federation_node(tmp_path, "a", port_a, [port_b], **FAST)
    b = dev_federation_node(tmp_path, "b", port_b, [port_a, port_c], live_window=3.0, **FAST)
    c = dev_federation_node(tmp_path, "c", port_c, [port_b], **FAST)
    stop = asyncio.Event()
    ran: collections.Counter[str] = collections.Counter()
    try:
        make_live(b.url, add_executor(b.url, "cpu"))
        async with AsyncClient(a.url, dev.PRVKEY) as origin:
            process = await origin.submit(func_spec("one-hop", COLONY, "cpu"))

            b_id = b.node.core.federation.identity.node_id

            async def waiting_at_b() -> bool:
                place = call(a.url, {"msgtype": "nodeprocessmsg", "processid": process.processid}, dev.PRVKEY)["runsat"]
                return place is not None and place["nodeid"] == b_id

            await eventually(waiting_at_b, 10, "forwarded to B")
            # B's executor is no longer live and C runs the type: B still must not pass it on
            worker = asyncio.ensure_future(executor_loop(c.url, add_executor(c.url, "cpu"), stop, ran))
            await asyncio.sleep(5.0)  # past B's live window: B runs the type no more
            assert not ran
            assert await waiting_at_b()
            stop.set()
            await worker
    finally:
        stop.set()
        a.stop()
        b.stop()
        c.stop()


async def test_queued_work_moves_off_a_busy_peer_when_another_has_idle_executors(tmp_path: Path) -> None:
    port_a, port_b, port_c = free_port(), free_port(), free_port()
    a = dev_federation_node(tmp_path, "a", port_a, [port_b, port_c], rebalance_after=1.0, **FAST)
    b = dev_federation_node(tmp_path, "b", port_b, [port_a, port_c], **FAST)
    c = dev_federation_node(tmp_path, "c", port_c, [port_a, port_b], **FAST)
    stop = asyncio.Event()
    ran: collections.Counter[str] = collections.Counter()
    worker = None
    try:
        b_key = add_executor(b.url, "cpu")
        make_live(b.url, b_key)
        async with AsyncClient(a.url, dev.PRVKEY) as origin, AsyncClient(b.url, b_key) as at_b:
            await origin.submit(func_spec("long", COLONY, "cpu"))
            long = await at_b.assign(COLONY, 10)  # B's only executor is busy from now on
            queued = [await origin.submit(func_spec(f"job{i}", COLONY, "cpu")) for i in range(5)]

            async def queued_at_b() -> bool:
                return any(p["waiting"] == 5 for p in (await status(a))["peers"].values())

            await eventually(queued_at_b, 10, "5 queued at B behind its busy executor")
            worker = asyncio.ensure_future(executor_loop(c.url, add_executor(c.url, "cpu"), stop, ran, answer="c"))
            await eventually(lambda: _all_succeeded(origin, queued), 30, "the queued work moved to C's idle executor")
            finished = [await origin.get_process(p) for p in queued]
            assert all(p.output == ["c"] for p in finished)
            assert set(ran.values()) == {1}
            await at_b.close(long, ["b"])  # B never ran the moved work: its copies were revoked
            with pytest.raises(RPCError):
                await at_b.assign(COLONY, 2)
    finally:
        stop.set()
        if worker is not None:
            await asyncio.gather(worker, return_exceptions=True)
        a.stop()
        b.stop()
        c.stop()


async def test_an_executor_back_for_more_finds_the_next_start_granted_and_only_one_per_executor(tmp_path: Path) -> None:
    port_a, port_b = free_port(), free_port()
    a = dev_federation_node(tmp_path, "a", port_a, [port_b], **FAST)
    b = dev_federation_node(tmp_path, "b", port_b, [port_a], **FAST)
    try:
        key = add_executor(b.url, "cpu")
        async with AsyncClient(a.url, dev.PRVKEY) as origin, AsyncClient(b.url, key) as executor:
            first = asyncio.ensure_future(executor.assign(COLONY, 20))
            await asyncio.sleep(0.5)  # long-polling at B: one idle executor there
            submitted = [await origin.submit(func_spec(f"job{i}", COLONY, "cpu")) for i in range(3)]
            process = await first

            async def at_b(running: int, waiting: int) -> bool:
                return any(p["running"] == running and p["waiting"] == waiting for p in (await status(a))["peers"].values())

            # the first went with its grant (the executor was idle); the others wait for theirs
            await eventually(lambda: at_b(1, 2), 10, "one started and two queued at B")
            await executor.close(process, ["b"])
            # the executor will be back: the next copy in line has its start granted already,
            # and only that one (one ahead per live executor)
            await eventually(lambda: at_b(1, 1), 10, "the next start granted ahead of its claim")
            await asyncio.sleep(1.0)
            assert await at_b(1, 1)
            for _ in range(2):
                process = await executor.assign(COLONY, 10)
                await executor.close(process, ["b"])
            await eventually(lambda: _all_succeeded(origin, submitted), 10, "all three succeeded at A")
    finally:
        a.stop()
        b.stop()
