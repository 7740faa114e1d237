"""A node SIGKILLed under a steady submit/assign/close load, on each store, restarted on the same
data: every acknowledged submit is there, every acknowledged close is SUCCESSFUL, no process was
handed to two executors or closed twice, and the colony's counts add up."""
from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from colonies import crypto, dev
from colonies.client import AsyncClient, func_spec
from colonies.models import RUNNING, SUCCESS, WAITING
from colonies.wire import RPCError
from tests.federation.sites import free_port
from tests.federation.test_failover import spawn_dev_node
from tests.support.rpc import call
from tests.support.env import clean_env

LOAD_SECONDS = 2.0
EXECUTORS = 3


def start(tmp_path: Path, port: int, store_url: str) -> subprocess.Popen[bytes]:
    env = clean_env()
    if store_url:
        env["COLONIES_STORE_URL"] = store_url
    return spawn_dev_node(tmp_path, port, [], name="node", env=env)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return ""
    return request.getfixturevalue("postgres").new_database()


def add_executor(url: str) -> str:
    key = crypto.generate_private_key()
    name = f"crash-{crypto.random_id()[:8]}"
    executor = {"executorid": crypto.id_from_private_key(key), "executortype": "crash", "executorname": name, "colonyname": dev.COLONY_NAME}
    call(url, {"msgtype": "addexecutormsg", "executor": executor}, dev.COLONY_PRVKEY)
    call(url, {"msgtype": "approveexecutormsg", "colonyname": dev.COLONY_NAME, "executorname": name}, dev.COLONY_PRVKEY)
    return key


async def load(url: str, keys: list[str], stop: asyncio.Event) -> tuple[list[str], collections.Counter[str], collections.Counter[str]]:
    """Submits and executors until `stop` or the node dies: acknowledged submits, assignments
    and acknowledged closes per process id."""
    submitted: list[str] = []
    assigned: collections.Counter[str] = collections.Counter()
    closed: collections.Counter[str] = collections.Counter()

    async def submitter() -> None:
        async with AsyncClient(url, dev.PRVKEY) as client:
            while not stop.is_set():
                try:
                    submitted.append((await client.submit(func_spec("crash", dev.COLONY_NAME, "crash"))).processid)
                except (RPCError, OSError, asyncio.TimeoutError, Exception):
                    return  # the node is gone: what was acknowledged is in `submitted`

    async def executor(key: str) -> None:
        async with AsyncClient(url, key) as client:
            while not stop.is_set():
                try:
                    process = await client.assign(dev.COLONY_NAME, 1)
                except RPCError as err:
                    if err.status == 404:
                        continue
                    return
                except Exception:
                    return
                assigned[process.processid] += 1
                try:
                    await client.close(process, ["done"])
                except Exception:
                    return
                closed[process.processid] += 1

    await asyncio.gather(submitter(), *(executor(k) for k in keys))
    return submitted, assigned, closed


async def test_a_node_killed_under_load_keeps_everything_it_acknowledged(store: str, tmp_path: Path) -> None:
    port = free_port()
    node = start(tmp_path, port, store)
    url = f"http://127.0.0.1:{port}"
    try:
        keys = [add_executor(url) for _ in range(EXECUTORS)]
        stop = asyncio.Event()
        running = asyncio.ensure_future(load(url, keys, stop))
        await asyncio.sleep(LOAD_SECONDS)
        os.kill(node.pid, signal.SIGKILL)
        node.wait(10)
        submitted, assigned, closed = await asyncio.wait_for(running, 30)
        stop.set()
        assert len(submitted) > 50 and sum(closed.values()) > 20, (len(submitted), sum(closed.values()))

        node = start(tmp_path, port, store)
        async with AsyncClient(url, dev.PRVKEY) as client:
            states: dict[str, Any] = {}
            for pid in submitted:
                states[pid] = (await client.get_process(pid)).state  # a missing one raises 404
            assert all(states[pid] == SUCCESS for pid in closed)
            assert set(assigned.values()) <= {1} and set(closed.values()) <= {1}
            stats = await client.colony_stats(dev.COLONY_NAME)
        ended_here = sum(1 for s in states.values() if s == SUCCESS)
        assert ended_here >= len(closed)  # a close may have committed without its reply arriving
        total = stats.waitingprocesses + stats.runningprocesses + stats.successfulprocesses + stats.failedprocesses
        # every acknowledged submit exists; at most the one in flight when the node died is extra
        assert len(submitted) <= total <= len(submitted) + 1
        assert stats.successfulprocesses >= len(closed) and stats.failedprocesses == 0
        assert all(s in (WAITING, RUNNING, SUCCESS) for s in states.values())
    finally:
        if node.poll() is None:
            node.kill()
            node.wait(10)
