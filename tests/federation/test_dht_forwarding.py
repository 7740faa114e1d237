"""Forwarding with providers found through the DHT only (no configured peers)."""
from __future__ import annotations

import asyncio
import contextlib
import socket
import time

from colonies import dev
from colonies.client import AsyncClient, func_spec
from colonies.models import SUCCESS
from colonies.wire import RPCError
from tests.federation.test_failover import add_executor
from tests.federation.sites import free_port
from tests.support.nodes import RunningNode, start_node


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dht_node(tmp_path, name: str, udp: int, bootstrap: list[int]) -> RunningNode:
    running = start_node(
        tmp_path / name,
        port=free_port(),
        federation_name=dev.FEDERATION_NAME,
        federation_authority_id=dev.FEDERATION_AUTHORITY_ID,
        federation_authority_prvkey=dev.FEDERATION_AUTHORITY_PRVKEY,
        dht_host="127.0.0.1",
        dht_port=udp,
        bootstrap=",".join(f"127.0.0.1:{p}" for p in bootstrap),
        advertise_interval=0.5,
    )
    running.call(running.node.bootstrap_dev())
    return running


async def test_work_follows_dht_records_to_the_node_with_the_executor(tmp_path):
    ua, ub, uc = free_udp_port(), free_udp_port(), free_udp_port()
    a = dht_node(tmp_path, "a", ua, [])
    b = dht_node(tmp_path, "b", ub, [ua])
    c = dht_node(tmp_path, "c", uc, [ua, ub])
    try:
        gpu_key = add_executor(c.url, "gpu")
        async with AsyncClient(c.url, gpu_key) as at_c, AsyncClient(a.url, dev.PRVKEY) as origin:
            polling = asyncio.ensure_future(at_c.assign(dev.COLONY_NAME, 1))
            # C's record for the gpu type reaches the DHT
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                found = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(
                    a.node.core.federation.cache.source.lookup(dev.COLONY_NAME, "gpu"), a.loop))
                if any(p.live for p in found):
                    break
                await asyncio.sleep(0.2)
            assert any(p.node_id == c.node.core.federation.identity.node_id for p in found)
            try:
                await polling
            except RPCError:
                pass
            process = await origin.submit(func_spec("render", dev.COLONY_NAME, "gpu", args=["frame"]))
            assigned = await at_c.assign(dev.COLONY_NAME, 10)
            assert assigned.spec.args == ["frame"]
            await at_c.close(assigned, ["rendered at c"])
            done = await origin.wait(process, timeout=10)
            assert done.state == SUCCESS and done.output == ["rendered at c"]
    finally:
        for running in (c, b, a):
            running.stop()


async def test_leaving_withdraws_the_nodes_records(tmp_path):
    ua, ub = free_udp_port(), free_udp_port()
    a = dht_node(tmp_path, "a", ua, [])
    b = dht_node(tmp_path, "b", ub, [ua])
    try:
        key = add_executor(b.url, "cpu")
        async with AsyncClient(b.url, key) as at_b:
            with contextlib.suppress(RPCError):
                await at_b.assign(dev.COLONY_NAME, -1)  # live at B
        lookup = lambda: asyncio.wrap_future(asyncio.run_coroutine_threadsafe(  # noqa: E731
            a.node.core.federation.cache.source.lookup(dev.COLONY_NAME, "cpu"), a.loop))
        deadline = time.monotonic() + 10
        while not await lookup() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert [p.node_id for p in await lookup()] == [b.node.core.federation.identity.node_id]
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(b.node.core.federation.leave(0), b.loop))
        deadline = time.monotonic() + 5
        while await lookup() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert await lookup() == []
    finally:
        b.stop()
        a.stop()
