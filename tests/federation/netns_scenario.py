"""Run inside a network namespace by test_netns.py: node A here, node B reachable over a veth.

Prints one JSON line with the outcome; exits non-zero on failure.
"""
from __future__ import annotations

import asyncio
import json
import sys
import tempfile

from colonies import crypto
from colonies.client import AsyncClient, func_spec
from colonies.models import SUCCESS
from colonies.node.config import NodeConfig
from colonies.node.server import Node
from colonies.wire import RPCError


async def main(host_a: str, url_b: str, server_prvkey: str, authority_prvkey: str) -> dict[str, object]:
    data = tempfile.mkdtemp()
    node = Node(
        NodeConfig(
            host=host_a,
            port=50080,
            data_dir=data,
            server_prvkey=server_prvkey,
            federation_name="netns",
            federation_authority_id=crypto.id_from_private_key(authority_prvkey),
            federation_authority_prvkey=authority_prvkey,
            federation_peers=url_b,
        )
    )
    await node.start()
    try:
        owner, user = crypto.generate_private_key(), crypto.generate_private_key()
        executor = crypto.generate_private_key()
        for url in (node.url, url_b):
            async with AsyncClient(url, server_prvkey) as server:
                await server.add_colony(crypto.id_from_private_key(owner), "netns")
            async with AsyncClient(url, owner) as colony_owner:
                await colony_owner.add_user("netns", crypto.id_from_private_key(user), "alice")
                if url == url_b:
                    await colony_owner.add_executor("netns", crypto.id_from_private_key(executor), "worker", "cpu")
                    await colony_owner.approve_executor("netns", "worker")

        async def work(stop: asyncio.Event) -> None:
            async with AsyncClient(url_b, executor) as at_b:
                while not stop.is_set():
                    try:
                        process = await at_b.assign("netns", 1)
                    except RPCError:
                        continue
                    await at_b.close(process, [f"ran at {url_b}", *process.spec.args])

        stop = asyncio.Event()
        worker = asyncio.ensure_future(work(stop))
        await asyncio.sleep(0.5)
        async with AsyncClient(node.url, user) as origin:
            submitted = [await origin.submit(func_spec("job", "netns", "cpu", args=[i])) for i in range(20)]
            done = [await origin.wait(p, timeout=30) for p in submitted]
        stop.set()
        await worker
        ok = all(p.state == SUCCESS and p.output == [f"ran at {url_b}", p.spec.args[0]] for p in done)
        return {"ok": ok, "origin": node.url, "peer": url_b, "completed": sum(p.state == SUCCESS for p in done)}
    finally:
        await node.stop()


if __name__ == "__main__":
    outcome = asyncio.run(main(*sys.argv[1:5]))
    print(json.dumps(outcome))
    sys.exit(0 if outcome["ok"] else 1)
