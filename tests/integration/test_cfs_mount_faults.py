"""An executor's mount when the IPFS provider its file's reference names is SIGKILLed while the
file is being fetched (real Kubo nodes, a real node, a real S3 server): the fetch goes on from a
second provider found by `more_providers`, and when no IPFS holder is left, from the file's S3
copy. Either way the process succeeds with the bytes checked and no partial file is left."""
from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import msgspec

from colonies import models
from colonies.cfs.remote import NodeRemote, StorageStore
from colonies.cfs.storage import IpfsStorage, S3Storage
from colonies.cfs.sync import Stored, SyncEngine
from colonies.client import AsyncClient, func_spec
from colonies.executor import Executor, current_process
from colonies.models import SUCCESS
from tests.support.ipfs import IpfsTestNode, seeded_bytes

MiB = 1 << 20
SIZE = 64 * MiB  # big enough that the fetch is still running when its provider is killed


class DualHomedUpload(StorageStore):
    """Uploads every file to S3 and to IPFS: one reference naming both copies."""

    async def put_file(self, path: Path, stamp: Any = None) -> Stored:
        assert self.storage is not None and self.ipfs is not None
        s3_ref, ipfs_ref = await asyncio.gather(self.storage.put_file(path, stamp=stamp), self.ipfs.put_file(path, stamp=stamp))
        reference = {"protocol": "s3", "s3object": s3_ref.to_s3object(), "ipfsobject": ipfs_ref.to_ipfsobject()}
        return Stored(reference, s3_ref.size or 0, s3_ref.sha256 or "")


def mounting(colony: str, label: str) -> models.FunctionSpec:
    fs = models.Filesystem(dirs=[models.SyncDirMount(label=label, dir="/in/{processid}")])
    return msgspec.structs.replace(func_spec("digest", colony, "mounts"), fs=fs, maxexectime=120)


def block_count(node: IpfsTestNode) -> int:
    return sum(1 for _ in (node.repo / "blocks").rglob("*.data"))


async def run_and_kill_mid_fetch(executor: Executor, colony: str, reader: IpfsTestNode, provider: IpfsTestNode) -> None:
    """Execute one process while killing `provider` once the reader holds part of the file."""
    before = block_count(reader)
    run = asyncio.ensure_future(executor.execute(await executor.client.assign(colony, 10)))
    deadline = asyncio.get_running_loop().time() + 60
    while block_count(reader) < before + 16:  # 16 blocks of 256 KiB: 4 of 64 MiB arrived
        assert not run.done(), "the mount finished before the provider could be killed"
        assert asyncio.get_running_loop().time() < deadline, "the fetch never started"
        await asyncio.sleep(0.01)
    assert not run.done()
    provider.stop()  # SIGKILL, mid-fetch
    await asyncio.wait_for(run, 120)


def big_input(tmp_path: Path, seed: int) -> tuple[Path, str]:
    """A directory holding big.bin (seeded); the directory and the file's SHA-256."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    data = seeded_bytes(SIZE, seed=seed)
    (inputs / "big.bin").write_bytes(data)
    return inputs, hashlib.sha256(data).hexdigest()


async def mount_while_killing(sdk: AsyncClient, colony: Any, worker: Any, store: StorageStore, root: Path, label: str, reader: IpfsTestNode, provider: IpfsTestNode) -> tuple[Any, dict[str, str]]:
    """Submit a process mounting `label`, run it with `store` while `provider` is killed mid-fetch;
    the process as it ended and the SHA-256 the function read."""
    executor = Executor(colony.url, colony.name, worker.prvkey, worker.name, "mounts", store=store, fs_dir=root)
    seen: dict[str, str] = {}
    digest_function(executor, root, seen)
    process = await sdk.submit(mounting(colony.name, label))
    try:
        await run_and_kill_mid_fetch(executor, colony.name, reader, provider)
    finally:
        await executor.client.aclose()
    return await sdk.get_process(process), seen


def digest_function(executor: Executor, root: Path, seen: dict[str, str]) -> None:
    @executor.register_function("digest")
    def digest() -> str:
        mounted = root / "in" / current_process().processid
        leftovers = [p.name for p in mounted.rglob("*.cfspart")]
        assert not leftovers, leftovers
        seen["big.bin"] = hashlib.sha256((mounted / "big.bin").read_bytes()).hexdigest()
        return seen["big.bin"]


async def test_a_mount_goes_on_from_a_second_provider_when_the_first_is_killed_mid_fetch(ipfs_nodes, colony, tmp_path: Path) -> None:
    first, second = ipfs_nodes.start("first"), ipfs_nodes.start("second")
    reader = ipfs_nodes.start("reader")
    user, worker = colony.add_user(), colony.add_executor(executortype="mounts")
    inputs, sha = big_input(tmp_path, seed=41)

    async with AsyncClient(colony.url, user.prvkey) as sdk, IpfsStorage(first.config()) as at_first, IpfsStorage(second.config()) as at_second:
        await SyncEngine(NodeRemote(sdk, colony.name), StorageStore(ipfs=at_first, put_to="ipfs")).sync(inputs, "/in", keeplocal=True)
        (stored,) = await sdk.get_file(colony.name, label="/in", name="big.bin")
        assert stored.ref.ipfsobject is not None and stored.ref.ipfsobject.providers  # names the first only
        assert (await at_second.put_file(inputs / "big.bin")).cid == stored.ref.ipfsobject.cid  # the second holds it too

        async def found_elsewhere(cid: str) -> list[str]:
            return [f"{a}/p2p/{second.peer_id}" for a in second.swarm_addrs]

        async with IpfsStorage(reader.config(timeout=3)) as at_reader:
            store = StorageStore(ipfs=at_reader, more_providers=found_elsewhere)
            done, seen = await mount_while_killing(sdk, colony, worker, store, tmp_path / "root", "/in", reader, first)
        assert done.state == SUCCESS, done.errors
        assert done.output == [sha] and seen == {"big.bin": sha}


async def test_a_mount_reads_the_s3_copy_when_its_only_ipfs_holder_is_killed_mid_fetch(ipfs_nodes, colony, s3_server, tmp_path: Path) -> None:
    holder, reader = ipfs_nodes.start("holder"), ipfs_nodes.start("reader")
    user, worker = colony.add_user(), colony.add_executor(executortype="mounts")
    inputs, sha = big_input(tmp_path, seed=43)

    async with AsyncClient(colony.url, user.prvkey) as sdk, IpfsStorage(holder.config()) as at_holder, S3Storage(s3_server) as s3:
        await SyncEngine(NodeRemote(sdk, colony.name), DualHomedUpload(s3, ipfs=at_holder)).sync(inputs, "/dual", keeplocal=True)
        (stored,) = await sdk.get_file(colony.name, label="/dual", name="big.bin")
        assert stored.ref.s3object.object and stored.ref.ipfsobject is not None and stored.ref.ipfsobject.cid

        async with IpfsStorage(reader.config(timeout=3)) as at_reader:
            done, seen = await mount_while_killing(sdk, colony, worker, StorageStore(s3, ipfs=at_reader), tmp_path / "root", "/dual", reader, holder)
        assert done.state == SUCCESS, done.errors
        assert done.output == [sha] and seen == {"big.bin": sha}
