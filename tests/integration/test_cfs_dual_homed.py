"""A dual-homed file (the same bytes in S3 and by CID in IPFS) read through `StorageStore` with real
Kubo nodes and a real S3 server: IPFS first, the S3 copy when no IPFS provider answers, and a
clear error naming both sources when neither does; never a partial file."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from colonies.cfs.remote import StorageStore
from colonies.cfs.storage import IpfsStorage, S3Storage, StorageError
from tests.support.ipfs import seeded_bytes


def dual_ref(s3_ref: Any, ipfs_ref: Any) -> dict[str, Any]:
    return {"protocol": "s3", "s3object": s3_ref.to_s3object(), "ipfsobject": ipfs_ref.to_ipfsobject()}


async def test_a_dual_homed_file_comes_from_s3_once_its_ipfs_provider_is_gone(ipfs_nodes, s3_server, tmp_path: Path) -> None:
    provider = ipfs_nodes.start("provider")
    reader = ipfs_nodes.start("reader", fetch_timeout=2)
    files = {}
    for i in range(3):
        data = seeded_bytes((1 << 20) + i, seed=11 + i)
        (tmp_path / f"f{i}.bin").write_bytes(data)
        files[i] = (tmp_path / f"f{i}.bin", data, hashlib.sha256(data).hexdigest())
    async with IpfsStorage(provider.config()) as at_provider, S3Storage(s3_server) as s3:
        refs = {i: dual_ref(await s3.put_file(path), await at_provider.put_file(path)) for i, (path, _, _) in files.items()}
        refs[2]["s3object"]["object"] = "no-such-object"  # its S3 copy is gone too
    async with IpfsStorage(reader.config(timeout=2)) as at_reader, S3Storage(s3_server) as s3:
        store = StorageStore(s3, ipfs=at_reader)
        _, data, sha = files[0]
        await store.get_file(refs[0], tmp_path / "via-ipfs.bin", sha256=sha, size=len(data))
        assert (tmp_path / "via-ipfs.bin").read_bytes() == data

        provider.stop()  # SIGKILL: the only IPFS holder of f1 and f2 is gone
        _, data, sha = files[1]
        await store.get_file(refs[1], tmp_path / "via-s3.bin", sha256=sha, size=len(data))
        assert (tmp_path / "via-s3.bin").read_bytes() == data

        _, data, sha = files[2]
        with pytest.raises(StorageError) as err:
            await store.get_file(refs[2], tmp_path / "nowhere.bin", sha256=sha, size=len(data))
        message = str(err.value)
        assert "no-such-object" in message and refs[2]["ipfsobject"]["cid"] in message  # both sources named
        assert not (tmp_path / "nowhere.bin").exists()
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".cfspart")] == []
