"""Data follows forwarded work (federation/data.py): a process submitted at A that mounts CFS files
runs at B, reads its inputs there and its outputs are listed and readable at A. The bytes are in a
real S3 server shared by both sites here; tests/integration/test_ipfs_cross_site.py moves them
between two sites' IPFS nodes instead."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from pycolonies import Colonies

from colonies import models
from colonies.cfs.remote import NodeRemote, StorageStore
from colonies.cfs.storage import ObjectRef, S3Storage
from colonies.cfs.sync import SyncEngine
from colonies.client import AsyncClient, func_spec
from colonies.executor import Executor, current_process
from colonies.models import FAILED, SUCCESS
from tests.federation.sites import Federation, running_federation


@pytest.fixture
def two_sites(tmp_path: Path) -> Iterator[Federation]:
    with running_federation(tmp_path, ["a", "b"]) as federation:
        yield federation


def mounting(spec: models.FunctionSpec, snapshotid: str = "") -> models.FunctionSpec:
    fs = models.Filesystem(
        dirs=[
            models.SyncDirMount(label="/inputs", dir="/in/{processid}"),
            models.SyncDirMount(
                label="/results/{processid}", dir="/out/{processid}",
                onconflicts=models.OnConflicts(onclose=models.ConflictPolicy(keeplocal=True)),
            ),
        ],
        snapshots=[models.SnapshotMount(snapshotid=snapshotid, label="/inputs", dir="/frozen/{processid}")] if snapshotid else None,
    )
    return msgspec.structs.replace(spec, fs=fs)


async def wait_for(client: AsyncClient, processid: str, timeout: float = 60.0) -> models.Process:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        process = await client.get_process(processid)
        if process.state in (SUCCESS, FAILED):
            return process
        await asyncio.sleep(0.1)
    raise AssertionError(f"process {processid} did not end within {timeout} s")


async def test_inputs_travel_with_the_process_and_outputs_come_back(two_sites: Federation, tmp_path: Path, s3_server) -> None:
    fed = two_sites
    b_key = fed.add_executor("b", "far")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for i in range(5):
        (inputs / f"n{i}.txt").write_text(str(i + 1))
    root = tmp_path / "b-mounts"
    async with AsyncClient(fed.url("a"), fed.user) as a, S3Storage(s3_server) as storage:
        store = StorageStore(storage)
        await SyncEngine(NodeRemote(a, fed.colony), store).sync(inputs, "/inputs", keeplocal=True)
        snapshot = await a.create_snapshot(fed.colony, "/inputs", "frozen")
        (inputs / "n0.txt").write_text("100")  # after the snapshot: the snapshot mount must still see 1
        await SyncEngine(NodeRemote(a, fed.colony), store).sync(inputs, "/inputs", keeplocal=True)

        process = await a.submit(mounting(func_spec("total", fed.colony, "far"), snapshot.snapshotid))

        executor = Executor(fed.url("b"), fed.colony, b_key, "b-far", "far", store=store, fs_dir=root)
        seen: dict[str, str] = {}

        @executor.register_function("total")
        def total() -> int:
            pid = current_process().processid
            seen["pid"] = pid
            live = sum(int(p.read_text()) for p in (root / "in" / process.processid).glob("*.txt"))
            frozen = sum(int(p.read_text()) for p in (root / "frozen" / process.processid).glob("*.txt"))
            out = root / "out" / process.processid
            out.mkdir(parents=True, exist_ok=True)
            (out / "total.txt").write_text(f"{live} {frozen}")
            return live

        try:
            assigned = await executor.client.assign(fed.colony, 30)
            await executor.execute(assigned)
        finally:
            await executor.client.aclose()
        # `{processid}` meant the id the user sees at A, although B knows the process by another
        assert seen["pid"] != process.processid

        done = await wait_for(a, process.processid)
        assert done.state == SUCCESS and done.output == [114]
        [output] = await a.get_file(fed.colony, label=f"/results/{process.processid}", name="total.txt")
        ref = ObjectRef.from_file(msgspec.to_builtins(output))
        assert await storage.get_bytes(ref, sha256=output.checksum or "") == b"114 15"
        # through the unmodified pycolonies client at A, the process and its output look local
        await asyncio.to_thread(_pycolonies_sees_the_outputs, fed, process.processid, output)
        # the inputs adopted at B are the revisions A has, under the same ids
        async with AsyncClient(fed.url("b"), fed.user) as b:
            at_a = {f.name: f.fileid for f in await a.resolve_files(fed.colony, label="/inputs")}
            at_b = {f.name: f.fileid for f in await b.resolve_files(fed.colony, label="/inputs")}
            assert at_b == at_a
            assert (await b.get_snapshot(fed.colony, snapshotid=snapshot.snapshotid)).fileids == snapshot.fileids


def _pycolonies_sees_the_outputs(fed: Federation, processid: str, output: Any) -> None:
    """pycolonies 1.0.25 cannot decode a process whose spec mounts files, from any server (its `Fs`
    model types `snapshots` and `dirs` as strings where the wire has objects): it reads the files."""
    origin = Colonies("127.0.0.1", fed.sites["a"].node.port)
    [listed] = origin.get_file(fed.colony, fed.user, label=f"/results/{processid}", filename="total.txt")
    assert listed["checksum"] == output.checksum and listed["ref"]["s3object"]["object"] == output.ref.s3object.object
    assert [f["name"] for f in origin.get_files(f"/results/{processid}", fed.colony, fed.user)] == ["total.txt"]
