"""Executor mounts against a real node and S3: a spec's snapshot arrives before the run, its sync
dir's outputs are uploaded as new revisions after it, and a broken mount fails the process."""
from __future__ import annotations

from pathlib import Path

import msgspec

from colonies import models
from colonies.cfs.mounts import Mounts
from colonies.cfs.remote import NodeRemote, StorageStore
from colonies.cfs.storage import S3Storage
from colonies.cfs.sync import SyncEngine
from colonies.client import AsyncClient, func_spec
from colonies.executor import Executor, current_process
from colonies.models import FAILED, SUCCESS


def with_fs(spec: models.FunctionSpec, snapshotid: str) -> models.FunctionSpec:
    fs = models.Filesystem(
        snapshots=[models.SnapshotMount(snapshotid=snapshotid, label="/in", dir="/input/{processid}")],
        dirs=[models.SyncDirMount(label="/out/{processid}", dir="/output/{processid}", onconflicts=models.OnConflicts(onclose=models.ConflictPolicy(keeplocal=True)))],
    )
    return msgspec.structs.replace(spec, fs=fs)


async def test_a_mounted_snapshot_is_read_and_the_outputs_become_revisions(tmp_path: Path, colony, s3_server):
    user = colony.add_user()
    worker = colony.add_executor(executortype="mounts")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "x.txt").write_text("3")
    (inputs / "y.txt").write_text("4")
    root = tmp_path / "root"
    async with AsyncClient(colony.url, user.prvkey) as sdk, S3Storage(s3_server) as storage:
        await SyncEngine(NodeRemote(sdk, colony.name), StorageStore(storage)).sync(inputs, "/in", keeplocal=True)
        snapshot = await sdk.create_snapshot(colony.name, "/in", "inputs-v1")
        (inputs / "x.txt").write_text("30")  # changed after the snapshot: the run must see 3
        await SyncEngine(NodeRemote(sdk, colony.name), StorageStore(storage)).sync(inputs, "/in", keeplocal=True)

        executor = Executor(colony.url, colony.name, worker.prvkey, worker.name, "mounts")
        executor.mounts = Mounts(executor.client, colony.name, StorageStore(storage), root)

        @executor.register_function("add")
        def add() -> int:
            pid = current_process().processid
            total = sum(int(p.read_text()) for p in sorted((root / "input" / pid).iterdir()) if p.suffix == ".txt")
            out = root / "output" / pid
            out.mkdir(parents=True, exist_ok=True)
            (out / "sum.txt").write_text(str(total))
            return total

        good = await sdk.submit(with_fs(func_spec("add", colony.name, "mounts"), snapshot.snapshotid))
        broken = await sdk.submit(with_fs(func_spec("add", colony.name, "mounts"), "f" * 64))
        for _ in range(2):
            await executor.execute(await executor.client.assign(colony.name, 5))
        await executor.client.aclose()

        done = await sdk.get_process(good)
        assert done.state == SUCCESS and done.output == [7]
        [result] = await sdk.get_files(colony.name, f"/out/{good.processid}")
        assert result.name == "sum.txt"
        [stored] = await sdk.get_file(colony.name, label=f"/out/{good.processid}", name="sum.txt")
        from colonies.cfs.storage import ObjectRef

        assert await storage.get_bytes(ObjectRef.from_file(msgspec.to_builtins(stored)), sha256=stored.checksum) == b"7"

        failed = await sdk.get_process(broken)
        assert failed.state == FAILED and "CFS mount before the run failed" in failed.errors[0]


async def test_a_spec_with_mounts_fails_at_an_executor_without_any(colony):
    user = colony.add_user()
    worker = colony.add_executor(executortype="plain")
    async with AsyncClient(colony.url, user.prvkey) as sdk:
        executor = Executor(colony.url, colony.name, worker.prvkey, worker.name, "plain")
        executor.register_function("f", lambda: 1)
        process = await sdk.submit(with_fs(func_spec("f", colony.name, "plain"), "a" * 64))
        await executor.execute(await executor.client.assign(colony.name, 5))
        await executor.client.aclose()
        failed = await sdk.get_process(process)
        assert failed.state == FAILED and "no CFS mounts" in failed.errors[0]
