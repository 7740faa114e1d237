"""StorageStore (cfs/remote.py): which backend new bytes go to, and where a read looks, in order."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from colonies.cfs.remote import StorageStore
from colonies.cfs.storage import ChecksumMismatch, ObjectRef, StorageError

CID = "QmTQpRRGYEsuyZ9sV8xB4MNSHxYX4pRxjWG9EXXa4Xfz3Z"
A, B = "/ip4/127.0.0.1/tcp/4001/p2p/a", "/ip4/127.0.0.1/tcp/4002/p2p/b"


class Backend:
    def __init__(self, name: str, serves: set[str] = frozenset(), corrupt: bool = False) -> None:
        self.name, self.serves, self.corrupt = name, set(serves), corrupt
        self.reads: list[ObjectRef] = []

    async def put_file(self, path: Path, *, key: str | None = None, stamp: Any = None) -> ObjectRef:
        if self.name == "ipfs":
            return ObjectRef(protocol="ipfs", cid=CID, providers=(A,), size=5, sha256="ab")
        return ObjectRef(protocol="s3", bucket="b", object="o", size=5, sha256="ab")

    async def get_file(self, ref: ObjectRef, dest: Path, *, sha256: str) -> None:
        self.reads.append(ref)
        if self.corrupt:
            raise ChecksumMismatch(f"{self.name}: checksum mismatch")
        source = ref.cid if ref.protocol == "ipfs" else ref.object
        if not (self.serves & ({source} | set(ref.providers))):
            raise StorageError(f"{self.name}: {source} not served by {list(ref.providers)}")
        dest.write_bytes(b"bytes")


def dual(providers: list[str]) -> dict[str, Any]:
    return {"protocol": "s3", "s3object": {"object": "o", "bucket": "b"}, "ipfsobject": {"cid": CID, "providers": providers}}


async def test_new_bytes_go_where_put_to_says(tmp_path: Path) -> None:
    store = StorageStore(Backend("s3"), ipfs=Backend("ipfs"), put_to="ipfs")  # type: ignore[arg-type]
    stored = await store.put_file(tmp_path / "x")
    assert stored.ref["protocol"] == "ipfs" and stored.ref["ipfsobject"]["cid"] == CID and "s3object" in stored.ref
    assert (await StorageStore(Backend("s3")).put_file(tmp_path / "x")).ref["protocol"] == "s3"  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not configured"):
        StorageStore(Backend("s3"), put_to="ipfs")  # type: ignore[arg-type]


async def test_a_read_tries_the_named_providers_then_more_then_s3(tmp_path: Path) -> None:
    ipfs, s3 = Backend("ipfs", serves={B}), Backend("s3", serves={"o"})
    asked: list[str] = []

    async def more(cid: str) -> list[str]:
        asked.append(cid)
        return [A, B]

    store = StorageStore(s3, ipfs=ipfs, more_providers=more)  # type: ignore[arg-type]
    await store.get_file(dual([A]), tmp_path / "f", sha256="ab", size=5)
    # the named provider is asked twice (a timed-out fetch is retried once), then the others
    assert [r.providers for r in ipfs.reads] == [(A,), (A,), (B,)] and asked == [CID] and s3.reads == []
    # a dual-homed file whose CID nobody serves comes from S3
    ipfs.serves.clear()
    await store.get_file(dual([A]), tmp_path / "g", sha256="ab", size=5)
    assert len(s3.reads) == 1 and (tmp_path / "g").read_bytes() == b"bytes"


async def test_corrupt_ipfs_bytes_fall_back_to_s3_and_every_failure_is_named(tmp_path: Path) -> None:
    store = StorageStore(Backend("s3", serves={"o"}), ipfs=Backend("ipfs", corrupt=True))  # type: ignore[arg-type]
    await store.get_file(dual([A]), tmp_path / "f", sha256="ab", size=5)
    broken = StorageStore(Backend("s3"), ipfs=Backend("ipfs", corrupt=True))  # type: ignore[arg-type]
    with pytest.raises(StorageError) as err:
        await broken.get_file(dual([A]), tmp_path / "g", sha256="ab", size=5)
    assert "ipfs: checksum mismatch" in str(err.value) and "s3:" in str(err.value)


async def test_a_reference_without_a_usable_backend_says_what_is_missing(tmp_path: Path) -> None:
    s3_only = StorageStore(Backend("s3"))  # type: ignore[arg-type]
    with pytest.raises(StorageError, match="no IPFS storage configured"):
        await s3_only.get_file({"protocol": "ipfs", "ipfsobject": {"cid": CID}, "s3object": {"object": ""}}, tmp_path / "f", sha256="ab", size=5)
    with pytest.raises(StorageError, match="neither a CID nor an S3 object"):
        await s3_only.get_file({"protocol": "s3", "s3object": {"object": ""}}, tmp_path / "f", sha256="ab", size=5)
