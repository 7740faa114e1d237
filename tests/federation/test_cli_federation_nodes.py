"""The documented commands form a federation: `colonies dev --dht-port` and `colonies node join`."""
from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from colonies import dev
from colonies.client import AsyncClient, func_spec
from colonies.models import SUCCESS
from colonies.wire import RPCError
from tests.federation.test_dht_forwarding import free_udp_port
from tests.federation.test_failover import add_executor
from tests.federation.sites import free_port
from tests.support.env import clean_env
from tests.support.rpc import call


def wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else "exited"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("node did not come up")


async def test_dev_node_and_a_joining_node_forward_work_through_the_dht(tmp_path: Path):
    port_a, port_b, udp_a, udp_b = free_port(), free_port(), free_udp_port(), free_udp_port()
    a = subprocess.Popen(
        [sys.executable, "-m", "colonies.cli", "dev", "--port", str(port_a), "--dht-port", str(udp_a), "--data-dir", str(tmp_path / "a")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    config = tmp_path / "b.toml"
    config.write_text(
        "\n".join(
            [
                "[node]",
                'host = "127.0.0.1"',
                f"port = {port_b}",
                f'data_dir = "{tmp_path / "b"}"',
                f'federation_name = "{dev.FEDERATION_NAME}"',
                f'federation_authority_id = "{dev.FEDERATION_AUTHORITY_ID}"',
                'dht_host = "127.0.0.1"',
                "advertise_interval = 0.5",
            ]
        )
    )
    env = clean_env(COLONIES_SERVER_PRVKEY=dev.SERVER_PRVKEY, COLONIES_FEDERATION_AUTHORITY_PRVKEY=dev.FEDERATION_AUTHORITY_PRVKEY)
    b = subprocess.Popen(
        [sys.executable, "-m", "colonies.cli", "node", "join", "--bootstrap", f"127.0.0.1:{udp_a}", "--config", str(config), "--dht-port", str(udp_b)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
    )
    try:
        wait_healthy(port_a, a)
        wait_healthy(port_b, b)
        url_a, url_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
        # the joining node hosts the dev colony too (same id), with the dev user
        call(url_b, {"msgtype": "addcolonymsg", "colony": {"colonyid": dev.COLONY_ID, "name": dev.COLONY_NAME}}, dev.SERVER_PRVKEY)
        call(url_b, {"msgtype": "addusermsg", "user": {"colonyname": dev.COLONY_NAME, "userid": dev.ID, "name": dev.USER_NAME}}, dev.COLONY_PRVKEY)
        key = add_executor(url_b, "cpu")
        async with AsyncClient(url_b, key) as at_b, AsyncClient(url_a, dev.PRVKEY) as origin:
            with_b = asyncio.ensure_future(at_b.assign(dev.COLONY_NAME, 20))
            await asyncio.sleep(1.5)  # B advertises its live cpu executor
            process = await origin.submit(func_spec("job", dev.COLONY_NAME, "cpu"))
            assigned = await asyncio.wait_for(with_b, 20)
            await at_b.close(assigned, ["joined and ran it"])
            done = await origin.wait(process, timeout=20)
            assert done.state == SUCCESS and done.output == ["joined and ran it"]
        peers = call(url_a, {"msgtype": "nodepeersmsg", "colonyname": dev.COLONY_NAME, "executortype": "cpu"}, dev.SERVER_PRVKEY)
        assert [p["api_url"] for p in peers] == [url_b]
    except RPCError as err:
        raise AssertionError(err.message) from None
    finally:
        for process in (b, a):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
