"""`colonies node status / peers / leave` against a running federated node."""
from __future__ import annotations

import json
import time

from typer.testing import CliRunner

from colonies import dev
from colonies.cli.main import app
from tests.federation.test_failover import dev_federation_node
from tests.federation.sites import free_port


def test_node_commands_report_status_and_peers_then_leave(tmp_path):
    port_a, port_b = free_port(), free_port()
    a = dev_federation_node(tmp_path, "a", port_a, [port_b])
    b = dev_federation_node(tmp_path, "b", port_b, [port_a])
    runner = CliRunner()
    env = {"COLONIES_SERVER_PRVKEY": dev.SERVER_PRVKEY}
    try:
        status = runner.invoke(app, ["node", "status", "--url", a.url, "--json"], env=env)
        assert status.exit_code == 0, status.output
        assert json.loads(status.output)["nodeid"] == a.node.core.federation.identity.node_id
        peers = runner.invoke(app, ["node", "peers", "--url", a.url, "--json", "--colony", dev.COLONY_NAME], env=env)
        assert peers.exit_code == 0, peers.output
        offers = json.loads(peers.output)
        assert {p["api_url"] for p in offers} == {b.url}  # never the node itself
        assert "" in {p["executortype"] for p in offers}  # the colony-level entry
        table = runner.invoke(app, ["node", "peers", "--url", a.url], env=env)
        assert table.exit_code == 0 and "API URL" in table.output
        assert b.node.core.federation.identity.node_id in table.output  # whole, although not a terminal
        shown = runner.invoke(app, ["node", "status", "--url", a.url], env=env)
        assert shown.exit_code == 0, shown.output
        assert a.node.core.federation.identity.node_id in shown.output
        assert "certificate expires" in shown.output and "days)" in shown.output
        left = runner.invoke(app, ["node", "leave", "--url", b.url, "--wait", "0"], env=env)
        assert left.exit_code == 0, left.output
        assert "left the federation" in left.output
        time.sleep(0.5)
        assert b.node.core.shutdown.is_set()  # the node asks its serve loop to stop
        refused = runner.invoke(app, ["node", "status", "--url", a.url], env={"COLONIES_SERVER_PRVKEY": ""})
        assert refused.exit_code == 1
    finally:
        a.stop()
        b.stop()


async def test_process_get_shows_the_node_a_forwarded_process_runs_at(tmp_path):
    import asyncio

    from colonies.client import AsyncClient, func_spec
    from tests.federation.test_failover import add_executor

    port_a, port_b = free_port(), free_port()
    a = dev_federation_node(tmp_path, "a", port_a, [port_b])
    b = dev_federation_node(tmp_path, "b", port_b, [port_a])
    try:
        key = add_executor(b.url, "cpu")
        async with AsyncClient(b.url, key) as at_b, AsyncClient(a.url, dev.PRVKEY) as origin:
            polling = asyncio.ensure_future(at_b.assign(dev.COLONY_NAME, 10))
            await asyncio.sleep(0.3)
            process = await origin.submit(func_spec("job", dev.COLONY_NAME, "cpu"))
            await asyncio.wait_for(polling, 10)
        result = await asyncio.to_thread(
            CliRunner().invoke, app, ["process", "get", process.processid, "--url", a.url, "--json"], env={"COLONIES_PRVKEY": dev.PRVKEY}
        )
        assert result.exit_code == 0, result.output
        shown = json.loads(result.output)
        assert shown["runsat"] == f"running at node {b.node.core.federation.identity.node_id} ({b.url})"
        assert shown["state"] == 1
    finally:
        a.stop()
        b.stop()
