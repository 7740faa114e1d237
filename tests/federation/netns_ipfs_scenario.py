"""Run inside a network namespace by test_netns.py: the cross-site CFS scenario over a veth.

`origin HOST_A URL_B SERVER AUTHORITY OWNER USER`: node A with an embedded IPFS node whose swarm
listens on HOST_A; puts a dataset into IPFS under /dataset, submits a process that mounts it (its
executor type lives only at B), waits for SUCCESS and reads the outputs back through A's IPFS node.

`peer HOST_B URL_A SERVER AUTHORITY OWNER EXECUTOR`: node B with its embedded IPFS node on HOST_B
and the executor that runs the process (B's IPFS API is loopback inside this namespace only);
stays up, serving its outputs, until it is killed.

Each prints one JSON line with its outcome; the origin exits non-zero on failure.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

import msgspec

from colonies import crypto, models
from colonies.cfs.remote import NodeRemote, StorageStore
from colonies.cfs.storage import IpfsConfig, IpfsStorage
from colonies.cfs.sync import SyncEngine
from colonies.client import AsyncClient, func_spec
from colonies.executor import Executor, current_process
from colonies.models import FAILED, SUCCESS
from colonies.node.config import NodeConfig
from colonies.node.server import Node
from colonies.wire import RPCError

COLONY = "netns"
MiB = 1 << 20


def node_config(host: str, peer_url: str, server: str, authority: str) -> NodeConfig:
    return NodeConfig(
        host=host, port=50080, data_dir=tempfile.mkdtemp(), server_prvkey=server,
        federation_name="netns", federation_authority_id=crypto.id_from_private_key(authority), federation_authority_prvkey=authority,
        federation_peers=peer_url, ipfs_embedded=True, ipfs_swarm=f"/ip4/{host}/tcp/4001", ipfs_timeout=30.0, cfs_storage="ipfs",
    )


def ipfs_of(node: Node) -> IpfsStorage:
    core = node.core
    assert core is not None and core.ipfs is not None and core.ipfs.embedded is not None
    return IpfsStorage(IpfsConfig(api=core.ipfs.embedded.api_multiaddr, timeout=30.0))


def spec_with_mounts() -> models.FunctionSpec:
    fs = models.Filesystem(dirs=[
        models.SyncDirMount(label="/dataset", dir="/in/{processid}"),
        models.SyncDirMount(label="/outputs/{processid}", dir="/out/{processid}", onconflicts=models.OnConflicts(onclose=models.ConflictPolicy(keeplocal=True))),
    ])
    return msgspec.structs.replace(func_spec("digest", COLONY, "far"), fs=fs, maxexectime=120)


async def origin(host_a: str, url_b: str, server: str, authority: str, owner: str, user: str) -> dict[str, Any]:
    node = Node(node_config(host_a, url_b, server, authority))
    await node.start()
    try:
        for url in (node.url, url_b):
            async with AsyncClient(url, server) as at_server:
                await at_server.add_colony(crypto.id_from_private_key(owner), COLONY)
        async with AsyncClient(node.url, owner) as colony_owner:
            await colony_owner.add_user(COLONY, crypto.id_from_private_key(user), "alice")

        work = Path(tempfile.mkdtemp())
        dataset = work / "dataset"
        dataset.mkdir()
        rng = random.Random(5)
        (dataset / "big.bin").write_bytes(rng.randbytes(8 * MiB))
        for i in range(20):
            (dataset / f"small{i:02d}.txt").write_bytes(rng.randbytes(rng.randint(1, 4096)))
        expected = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in dataset.iterdir()}

        async with AsyncClient(node.url, user) as sdk, ipfs_of(node) as ipfs:
            remote, store = NodeRemote(sdk, COLONY), StorageStore(ipfs=ipfs, put_to="ipfs")
            await SyncEngine(remote, store).sync(dataset, "/dataset", keeplocal=True)
            process = await sdk.submit(spec_with_mounts())
            deadline = asyncio.get_running_loop().time() + 90
            while (done := await sdk.get_process(process)).state not in (SUCCESS, FAILED):
                if asyncio.get_running_loop().time() > deadline:
                    return {"ok": False, "why": "the process did not end within 90 s"}
                await asyncio.sleep(0.2)
            if done.state != SUCCESS:
                return {"ok": False, "why": f"the process failed: {done.errors}"}
            (output,) = await sdk.get_file(COLONY, label=f"/outputs/{done.processid}", name="digests.json")
            providers = list(output.ref.ipfsobject.providers) if output.ref.ipfsobject else []
            got = work / "got"
            await SyncEngine(remote, store).sync(got, f"/outputs/{done.processid}", keeplocal=False, direction="download")
            digests = json.loads((got / "digests.json").read_text())
        ok = done.output == [len(expected)] and digests == expected and any(f"/ip4/{url_b.split('//')[1].split(':')[0]}/" in p for p in providers)
        return {"ok": ok, "read": len(digests), "output_providers": providers, "runat": done.assignedexecutorid}
    finally:
        await node.stop()


async def peer(host_b: str, url_a: str, server: str, authority: str, owner: str, executor_key: str) -> None:
    node = Node(node_config(host_b, url_a, server, authority))
    await node.start()
    try:
        async with AsyncClient(node.url, owner) as colony_owner:
            for _ in range(600):  # the origin adds the colony here
                try:
                    await colony_owner.add_executor(COLONY, crypto.id_from_private_key(executor_key), "worker", "far")
                    break
                except RPCError:
                    await asyncio.sleep(0.1)
            await colony_owner.approve_executor(COLONY, "worker")
        root = Path(tempfile.mkdtemp())
        async with ipfs_of(node) as ipfs:
            executor = Executor(node.url, COLONY, executor_key, "worker", "far", store=StorageStore(ipfs=ipfs, put_to="ipfs"), fs_dir=root)
            read: dict[str, str] = {}

            @executor.register_function("digest")
            def digest() -> int:
                pid = current_process().processid
                origin_pid = pid
                for mounted in (root / "in").iterdir():
                    origin_pid = mounted.name  # the mounts use the origin's process id
                for path in (root / "in" / origin_pid).iterdir():
                    if path.name != ".cfs":
                        read[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
                out = root / "out" / origin_pid
                out.mkdir(parents=True, exist_ok=True)
                (out / "digests.json").write_text(json.dumps(read, sort_keys=True))
                return len(read)

            try:
                await executor.execute(await executor.client.assign(COLONY, 90))
            finally:
                await executor.client.aclose()
            print(json.dumps({"ran": True, "read": len(read)}), flush=True)
            await asyncio.sleep(300)  # serve the outputs' bytes until the test kills this process
    finally:
        await node.stop()


if __name__ == "__main__":
    role, args = sys.argv[1], sys.argv[2:8]
    if role == "peer":
        asyncio.run(peer(*args))
    else:
        outcome = asyncio.run(origin(*args))
        print(json.dumps(outcome))
        sys.exit(0 if outcome["ok"] else 1)
