"""A peer dies (SIGKILL) holding forwarded work: the origin takes its queued work back at once, its
running work after the running lease, and another peer runs all of it once."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from colonies import crypto, dev
from colonies.client import AsyncClient, func_spec
from colonies.models import SUCCESS
from colonies.wire import RPCError
from tests.federation.sites import free_port
from tests.support.nodes import RunningNode, start_node
from tests.support.rpc import call


def dev_federation_node(tmp_path: Path, name: str, port: int, peers: list[int], **overrides: object) -> RunningNode:
    running = start_node(
        tmp_path / name,
        port=port,
        federation_name=dev.FEDERATION_NAME,
        federation_authority_id=dev.FEDERATION_AUTHORITY_ID,
        federation_authority_prvkey=dev.FEDERATION_AUTHORITY_PRVKEY,
        federation_peers=",".join(f"http://127.0.0.1:{p}" for p in peers),
        **overrides,
    )
    running.call(running.node.bootstrap_dev())
    return running


def spawn_dev_node(
    tmp_path: Path, port: int, peers: list[int], name: str = "spawned", env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """A dev node in its own process (so that it can be stopped, killed, restarted): a federation
    node with `peers`, a lone node without."""
    command = [sys.executable, "-m", "colonies.cli", "dev", "--port", str(port), "--data-dir", str(tmp_path / name)]
    if peers:
        command += ["--peers", ",".join(f"http://127.0.0.1:{p}" for p in peers)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the spawned dev node did not come up")


def add_executor(url: str, executortype: str) -> str:
    key = crypto.generate_private_key()
    name = f"{executortype}-{crypto.random_id()[:6]}"
    executor = {"executorid": crypto.id_from_private_key(key), "executortype": executortype, "executorname": name, "colonyname": dev.COLONY_NAME}
    call(url, {"msgtype": "addexecutormsg", "executor": executor}, dev.COLONY_PRVKEY)
    call(url, {"msgtype": "approveexecutormsg", "colonyname": dev.COLONY_NAME, "executorname": name}, dev.COLONY_PRVKEY)
    return key


async def test_work_held_by_a_killed_peer_completes_elsewhere_once(tmp_path):
    port_a, port_b, port_d = free_port(), free_port(), free_port()
    a = dev_federation_node(tmp_path, "a", port_a, [port_b, port_d], peer_timeout=1.0, running_lease=3.0)
    d = dev_federation_node(tmp_path, "d", port_d, [port_a, port_b])
    b = spawn_dev_node(tmp_path, port_b, [port_a, port_d])
    try:
        b_url = f"http://127.0.0.1:{port_b}"
        b_key = add_executor(b_url, "cpu")
        async with AsyncClient(b_url, b_key) as at_b, AsyncClient(a.url, dev.PRVKEY) as origin:
            with_b = asyncio.ensure_future(at_b.assign(dev.COLONY_NAME, 20))  # B's executor is live and waits
            await asyncio.sleep(0.3)
            submitted = [await origin.submit(func_spec(f"job{i}", dev.COLONY_NAME, "cpu")) for i in range(10)]
            held = await asyncio.wait_for(with_b, 10)  # one of them reached B and is running there
            assert held.spec.funcname.startswith("job")

            os.kill(b.pid, signal.SIGKILL)
            b.wait(10)

            d_key = add_executor(d.url, "cpu")
            closed: dict[str, int] = {}
            async with AsyncClient(d.url, d_key) as at_d:
                deadline = time.monotonic() + 60
                while len(closed) < 10 and time.monotonic() < deadline:
                    try:
                        process = await at_d.assign(dev.COLONY_NAME, 1)
                    except RPCError as err:
                        assert err.status == 404
                        continue
                    await at_d.close(process, ["from d"])
                    closed[process.spec.funcname] = closed.get(process.spec.funcname, 0) + 1
            assert sorted(closed) == sorted(p.spec.funcname for p in submitted)
            assert set(closed.values()) == {1}
            for process in submitted:
                done = await origin.wait(process, timeout=20)
                assert done.state == SUCCESS and done.output == ["from d"]
                assert done.assignedexecutorid == d.node.core.federation.identity.node_id
    finally:
        if b.poll() is None:
            b.kill()
            b.wait(10)
        a.stop()
        d.stop()
