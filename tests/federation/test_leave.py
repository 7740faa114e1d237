"""A node leaving the federation hands its queued forwarded work back; that work completes elsewhere."""
from __future__ import annotations

import asyncio
import time

from colonies import crypto, dev
from colonies.client import AsyncClient, func_spec
from colonies.models import SUCCESS
from colonies.wire import RPCError
from tests.federation.test_failover import add_executor, dev_federation_node
from tests.federation.sites import free_port
from tests.support.rpc import RPCFailure, call


async def test_leaving_node_hands_back_queued_work_which_completes_elsewhere(tmp_path):
    port_a, port_b, port_d = free_port(), free_port(), free_port()
    a = dev_federation_node(tmp_path, "a", port_a, [port_b, port_d])
    b = dev_federation_node(tmp_path, "b", port_b, [port_a, port_d])
    d = dev_federation_node(tmp_path, "d", port_d, [port_a, port_b])
    try:
        b_key = add_executor(b.url, "cpu")
        async with AsyncClient(b.url, b_key) as at_b, AsyncClient(a.url, dev.PRVKEY) as origin:
            with_b = asyncio.ensure_future(at_b.assign(dev.COLONY_NAME, 20))
            await asyncio.sleep(0.3)
            submitted = [await origin.submit(func_spec(f"job{i}", dev.COLONY_NAME, "cpu")) for i in range(6)]
            running_at_b = await asyncio.wait_for(with_b, 10)

            # everything went to B (the only live cpu executor); one runs there, the rest wait there
            async def all_forwarded() -> bool:
                states = [await origin.get_process(p) for p in submitted]
                return all(p.assignedexecutorid for p in states)

            deadline = time.monotonic() + 10
            while not await all_forwarded() and time.monotonic() < deadline:
                await asyncio.sleep(0.1)

            d_key = add_executor(d.url, "cpu")
            async with AsyncClient(d.url, d_key) as at_d:
                with_d = asyncio.ensure_future(at_d.assign(dev.COLONY_NAME, 1))
                await asyncio.sleep(0.2)
                leaving = asyncio.ensure_future(
                    asyncio.to_thread(call, b.url, {"msgtype": "nodeleavemsg", "wait": 10}, dev.SERVER_PRVKEY)
                )
                await asyncio.sleep(0.5)
                await at_b.close(running_at_b, ["finished at b"])  # running work is allowed to finish
                outcome = await leaving
                assert outcome["handedback"] == 5 and outcome["running"] == 0

                try:
                    first = await with_d
                    await at_d.close(first, ["from d"])
                except RPCError:
                    pass
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    try:
                        process = await at_d.assign(dev.COLONY_NAME, 1)
                    except RPCError:
                        states = [await origin.get_process(p) for p in submitted]
                        if all(p.state == SUCCESS for p in states):
                            break
                        continue
                    await at_d.close(process, ["from d"])

            finished = [await origin.get_process(p) for p in submitted]
            outputs = sorted(p.output[0] for p in finished)
            assert outputs == ["finished at b"] + ["from d"] * 5

            # the leaving node takes no new work
            stranger = {"colonyname": dev.COLONY_NAME, "executortype": "cpu"}
            peers = call(a.url, {"msgtype": "nodepeersmsg", **stranger}, dev.SERVER_PRVKEY)
            b_id = b.node.core.federation.identity.node_id
            assert all(p["live"] == 0 for p in peers if p["node_id"] == b_id)
    finally:
        for running in (a, b, d):
            running.stop()


def test_only_the_server_owner_may_make_a_node_leave(tmp_path):
    port = free_port()
    node = dev_federation_node(tmp_path, "solo", port, [])
    try:
        try:
            call(node.url, {"msgtype": "nodeleavemsg", "wait": 0}, crypto.generate_private_key())
            raise AssertionError("a stranger made the node leave")
        except RPCFailure as err:
            assert err.status == 403
        status = call(node.url, {"msgtype": "nodestatusmsg"}, dev.SERVER_PRVKEY)
        assert status["nodeid"] == node.node.core.federation.identity.node_id and status["leaving"] is False
    finally:
        node.stop()
