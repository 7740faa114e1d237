"""The cross-site scenario of docs/cfs.md: two federated nodes, each with an embedded IPFS node (real
Kubo, loopback). At A a directory goes into IPFS with `colonies fs sync --storage ipfs`; a process
submitted at A mounts it and runs at B (its executor type lives only there); B's executor reads
every input through B's IPFS node, fetched from A's by CID, and its outputs come back: at A the
process is SUCCESSFUL and `colonies fs get` returns the bytes B wrote."""
from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from cli.main import app
from colonies import models
from colonies.cfs.remote import StorageStore
from colonies.client import AsyncClient, func_spec
from colonies.executor import Executor, current_process
from colonies.models import FAILED, SUCCESS
from tests.federation.sites import Federation, running_federation

MiB = 1 << 20


@pytest.fixture
def ipfs_sites(tmp_path: Path) -> Iterator[Federation]:
    with running_federation(tmp_path, ["a", "b"], ipfs_embedded=True, ipfs_timeout=20.0) as federation:
        yield federation


def ipfs_api(fed: Federation, site: str) -> str:
    core = fed.sites[site].node.node.core
    assert core is not None and core.ipfs is not None
    return core.ipfs.embedded.api_multiaddr


def cli(fed: Federation, site: str, *args: str) -> str:
    """`colonies fs ARGS` against the site's node and IPFS node (run it off the test's loop)."""
    env = {
        "COLONIES_NODE_URL": fed.url(site), "COLONIES_PRVKEY": fed.user, "COLONIES_COLONY_NAME": fed.colony,
        "COLONIES_IPFS_API": ipfs_api(fed, site), "AWS_S3_ENDPOINT": "",
    }
    result = CliRunner().invoke(app, ["fs", *args], env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def spec_with_mounts(colony: str) -> models.FunctionSpec:
    fs = models.Filesystem(dirs=[
        models.SyncDirMount(label="/dataset", dir="/in/{processid}"),
        models.SyncDirMount(label="/outputs/{processid}", dir="/out/{processid}", onconflicts=models.OnConflicts(onclose=models.ConflictPolicy(keeplocal=True))),
    ])
    return msgspec.structs.replace(func_spec("digest", colony, "far"), fs=fs, maxexectime=120)


async def test_inputs_go_from_a_to_b_by_cid_and_outputs_come_back(ipfs_sites: Federation, tmp_path: Path) -> None:
    from colonies.cfs.storage import IpfsConfig, IpfsStorage

    fed = ipfs_sites
    rng = random.Random(9)
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    (dataset / "big.bin").write_bytes(rng.randbytes(32 * MiB))
    for i in range(100):
        (dataset / f"small{i:03d}.txt").write_bytes(rng.randbytes(rng.randint(1, 4096)))
    expected = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in dataset.iterdir()}

    await asyncio.to_thread(cli, fed, "a", "sync", "-l", "/dataset", "-d", str(dataset), "--storage", "ipfs", "--yes")
    found = json.loads(await asyncio.to_thread(cli, fed, "a", "resolve", "-l", "/dataset", "--json"))
    assert len(found) == 101 and all(f["locations"][0]["protocol"] == "ipfs" for f in found)

    b_key = fed.add_executor("b", "far")
    async with AsyncClient(fed.url("a"), fed.user) as a, IpfsStorage(IpfsConfig(api=ipfs_api(fed, "b"))) as b_ipfs:
        process = await a.submit(spec_with_mounts(fed.colony))
        root = tmp_path / "b-executor"
        executor = Executor(fed.url("b"), fed.colony, b_key, "b-far", "far", store=StorageStore(ipfs=b_ipfs, put_to="ipfs"), fs_dir=root)
        read: dict[str, str] = {}

        @executor.register_function("digest")
        def digest() -> int:
            pid = current_process().processid
            assert pid != process.processid  # B knows it by its own id; the mounts use A's
            for path in (root / "in" / process.processid).iterdir():
                if path.name != ".cfs":
                    read[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
            out = root / "out" / process.processid
            out.mkdir(parents=True, exist_ok=True)
            (out / "digests.json").write_text(json.dumps(read, sort_keys=True))
            return len(read)

        try:
            await executor.execute(await executor.client.assign(fed.colony, 60))
        finally:
            await executor.client.aclose()
        deadline = asyncio.get_running_loop().time() + 60
        while (done := await a.get_process(process.processid)).state not in (SUCCESS, FAILED):
            assert asyncio.get_running_loop().time() < deadline, "the result did not come back"
            await asyncio.sleep(0.2)
        assert done.state == SUCCESS and done.output == [101], done.errors
        assert read == expected  # every input arrived at B, checksums verified

    got = tmp_path / "got"
    await asyncio.to_thread(cli, fed, "a", "get", "-l", f"/outputs/{process.processid}", "-n", "digests.json", "-d", str(got))
    assert json.loads((got / "digests.json").read_text()) == expected
