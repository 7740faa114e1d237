"""IpfsStorage against real embedded Kubo nodes (separate processes on 127.0.0.1)."""
from __future__ import annotations

import asyncio
import hashlib
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aleph_cid
import pytest

from colonies.cfs.storage import (
    EMPTY_SHA256,
    ChecksumMismatch,
    FileStamp,
    IpfsConfig,
    IpfsStorage,
    ObjectRef,
    Storage,
    StorageError,
    is_partial,
)
from colonies.cfs.ipfs.blocks import block_path
from tests.support.ipfs import (
    KiB,
    MiB,
    IpfsNodes,
    IpfsTestNode,
    corrupt_block,
    dag_blocks,
    drop_blocks,
    seeded_bytes,
    wait_for,
)

UNKNOWN_CID = aleph_cid.compute_cid(b"bytes that were never added anywhere " + bytes(64))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if is_partial(p.name))


@pytest.fixture
async def storage(ipfs_node: IpfsTestNode) -> AsyncIterator[IpfsStorage]:
    async with IpfsStorage(ipfs_node.config()) as st:
        yield st


@pytest.fixture
async def peer_storage(ipfs_peer: IpfsTestNode) -> AsyncIterator[IpfsStorage]:
    async with IpfsStorage(ipfs_peer.config(timeout=30.0)) as st:
        yield st


async def test_bytes_round_trip_and_ref(storage: IpfsStorage, ipfs_node: IpfsTestNode) -> None:
    assert isinstance(storage, Storage)
    data = seeded_bytes(300 * KiB, seed=10)
    ref = await storage.put_bytes(data, key="ignored")
    assert (ref.protocol, ref.cid, ref.size, ref.sha256) == ("ipfs", aleph_cid.compute_cid(data), len(data), sha(data))
    assert ref.providers == tuple(ipfs_node.swarm_addrs) and ref.object == ""
    back = ObjectRef.from_reference(ref.to_reference(), size=ref.size, sha256=ref.sha256)
    assert back == ref
    assert await storage.get_bytes(back, sha256=sha(data)) == data
    assert await storage.stat(ref) == len(data)


async def test_big_file_between_processes(storage: IpfsStorage, peer_storage: IpfsStorage, tmp_path: Path) -> None:
    data = seeded_bytes(12 * MiB + 5, seed=11)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    ref = await storage.put_file(src)
    assert ref.cid == aleph_cid.compute_cid(data) and ref.sha256 == sha(data) and ref.size == len(data)
    # The peer knows nothing but the wire ref: it connects to the providers it names, then cats.
    wire = ref.to_reference()
    dest = tmp_path / "out" / "big.bin"
    await peer_storage.get_file(ObjectRef.from_reference(wire, size=ref.size, sha256=ref.sha256), dest, sha256=sha(data))
    assert dest.read_bytes() == data
    assert leftovers(dest.parent) == []
    await peer_storage.pin(ref.cid)
    assert ref.cid in await peer_storage.pins()


async def test_stamp_stands_in_for_hashing(storage: IpfsStorage, tmp_path: Path) -> None:
    src = tmp_path / "f.bin"
    src.write_bytes(seeded_bytes(5000, seed=12))
    st = os.stat(src)
    trusted = FileStamp(st.st_size, st.st_mtime_ns, "ab" * 32)
    assert (await storage.put_file(src, stamp=trusted)).sha256 == "ab" * 32
    stale = FileStamp(st.st_size, st.st_mtime_ns - 1, "ab" * 32)
    assert (await storage.put_file(src, stamp=stale)).sha256 == sha(src.read_bytes())


async def test_zero_bytes_never_reach_the_node(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    async with IpfsStorage(IpfsConfig(api=f"/ip4/127.0.0.1/tcp/{closed}")) as st:
        (tmp_path / "empty").write_bytes(b"")
        for ref in (await st.put_bytes(b""), await st.put_file(tmp_path / "empty")):
            assert (ref.protocol, ref.cid, ref.size, ref.sha256, ref.providers) == ("ipfs", "", 0, EMPTY_SHA256, ())
            assert ref.is_empty and await st.stat(ref) == 0
            await st.get_file(ref, tmp_path / "got", sha256=EMPTY_SHA256)
            assert (tmp_path / "got").read_bytes() == b""
            assert await st.get_bytes(ref, sha256=EMPTY_SHA256) == b""
            await st.delete(ref)
        with pytest.raises(StorageError, match="unreachable"):
            await st.put_bytes(b"x")


async def test_wrong_checksum_keeps_nothing(storage: IpfsStorage, tmp_path: Path) -> None:
    ref = await storage.put_bytes(b"some bytes")
    dest = tmp_path / "x"
    dest.write_bytes(b"old")
    with pytest.raises(ChecksumMismatch):
        await storage.get_file(ref, dest, sha256=sha(b"other bytes"))
    assert dest.read_bytes() == b"old" and leftovers(tmp_path) == []
    with pytest.raises(ChecksumMismatch):
        await storage.get_bytes(ref, sha256=sha(b"other"))


async def test_unknown_cid_fails_cleanly(storage: IpfsStorage, tmp_path: Path) -> None:
    ref = ObjectRef(protocol="ipfs", cid=UNKNOWN_CID, size=10)
    dest = tmp_path / "never"
    with pytest.raises(StorageError, match="no result within") as info:
        await storage.get_file(ref, dest, sha256=sha(b"x"))
    assert "\n" not in str(info.value)
    assert not dest.exists() and leftovers(tmp_path) == []
    assert await storage.stat(ref) is None
    again = await storage.put_bytes(b"still serving")
    assert await storage.get_bytes(again, sha256=sha(b"still serving")) == b"still serving"


async def test_pins_stat_delete(storage: IpfsStorage) -> None:
    data = seeded_bytes(600 * KiB, seed=13)
    ref = await storage.put_bytes(data)
    assert ref.cid in await storage.pins()
    assert await storage.stat(ObjectRef(protocol="ipfs", cid=ref.cid)) == len(data)  # size read back
    await storage.delete(ref)
    assert ref.cid not in await storage.pins() and await storage.stat(ref) is None
    await storage.delete(ref)  # not pinned any more: fine
    await storage.unpin(ref.cid)
    await storage.pin(ref.cid)  # its blocks are still local
    assert ref.cid in await storage.pins()


async def test_connect_tolerates_bad_addresses(storage: IpfsStorage, ipfs_peer: IpfsTestNode, ipfs_nodes: IpfsNodes) -> None:
    gone = ipfs_nodes.start("gone")
    dead = gone.swarm_addrs[0]
    gone.stop()
    good = ipfs_peer.swarm_addrs[0]
    own = (await storage.identity()).addresses[0]
    assert await storage.connect([dead, "/ip4/127.0.0.1/tcp/1", good, own, good]) == [good]
    assert ipfs_peer.peer_id in {p.peer_id for p in await storage.peers()}
    ident = await storage.identity()
    assert ident.peer_id and ident.agent_version.startswith("kubo/")


async def test_provider_killed_mid_fetch(ipfs_nodes: IpfsNodes, tmp_path: Path) -> None:
    a, b, c = ipfs_nodes.start("a"), ipfs_nodes.start("b"), ipfs_nodes.start("c")
    data = seeded_bytes(12 * MiB, seed=14)
    async with IpfsStorage(a.config()) as sa, IpfsStorage(b.config(timeout=30.0)) as sb, IpfsStorage(c.config()) as sc:
        ref = await sa.put_bytes(data)
        _, leaves = dag_blocks(a.repo, ref.cid)
        # A keeps every other leaf: B's fetch gets part of the file, then waits for the rest.
        drop_blocks(a.repo, leaves[1::2])
        dest = tmp_path / "out.bin"
        fetch = asyncio.create_task(sb.get_file(ref, dest, sha256=ref.sha256 or ""))
        await asyncio.to_thread(
            wait_for, lambda: any(block_path(b.repo, leaf).exists() for leaf in leaves[0::2]), 30, "blocks at B",
        )
        a.stop()  # SIGKILL, mid-fetch
        assert not fetch.done()
        # A second provider connected: the same fetch completes from it.
        assert (await sc.put_bytes(data)).cid == ref.cid
        assert await sb.connect(c.swarm_addrs) == c.swarm_addrs
        await fetch
        assert dest.read_bytes() == data and leftovers(tmp_path) == []


async def test_provider_killed_mid_fetch_without_another(ipfs_nodes: IpfsNodes, tmp_path: Path) -> None:
    a, b = ipfs_nodes.start("a"), ipfs_nodes.start("b")
    data = seeded_bytes(4 * MiB, seed=15)
    async with IpfsStorage(a.config()) as sa, IpfsStorage(b.config(timeout=3.0)) as sb:
        ref = await sa.put_bytes(data)
        _, leaves = dag_blocks(a.repo, ref.cid)
        drop_blocks(a.repo, leaves[1::2])
        dest = tmp_path / "out.bin"
        fetch = asyncio.create_task(sb.get_file(ref, dest, sha256=ref.sha256 or ""))
        await asyncio.to_thread(
            wait_for, lambda: any(block_path(b.repo, leaf).exists() for leaf in leaves[0::2]), 30, "blocks at B",
        )
        a.stop()
        with pytest.raises(StorageError, match="no result within"):
            await fetch
        assert not dest.exists() and leftovers(tmp_path) == [] and b.tmp_files() == []
        # B still serves
        assert await sb.get_bytes(await sb.put_bytes(b"alive"), sha256=sha(b"alive")) == b"alive"


async def test_corrupted_block_at_the_provider(ipfs_nodes: IpfsNodes, tmp_path: Path) -> None:
    a, b = ipfs_nodes.start("a"), ipfs_nodes.start("b", fetch_timeout=2)
    data = seeded_bytes(200 * KiB, seed=16)
    async with IpfsStorage(a.config()) as sa, IpfsStorage(b.config(timeout=2.0)) as sb:
        ref = await sa.put_bytes(data)
        corrupt_block(a.repo, ref.cid)
        out = tmp_path / "out"
        out.mkdir()
        # The provider's own reads hand out the damaged bytes; the SHA-256 refuses them.
        with pytest.raises(ChecksumMismatch):
            await sa.get_file(ref, out / "local", sha256=ref.sha256 or "")
        # A peer's bitswap drops a block that does not hash to its CID: the fetch times out.
        with pytest.raises(StorageError, match="no result within"):
            await sb.get_file(ref, out / "remote", sha256=ref.sha256 or "")
        assert list(out.iterdir()) == [] and b.tmp_files() == []


async def test_cancelled_fetch_leaves_nothing(storage: IpfsStorage, tmp_path: Path) -> None:
    # The node answers only once it has the content, so a cancelled fetch never opened a file.
    ref = ObjectRef(protocol="ipfs", cid=UNKNOWN_CID, size=10)
    task = asyncio.create_task(storage.get_file(ref, tmp_path / "x", sha256=sha(b"x")))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list(tmp_path.iterdir()) == []


async def test_closed_storage_refuses(ipfs_node: IpfsTestNode) -> None:
    st = IpfsStorage(ipfs_node.config())
    await st.close()
    await st.close()
    with pytest.raises(StorageError, match="closed"):
        await st.put_bytes(b"x")
