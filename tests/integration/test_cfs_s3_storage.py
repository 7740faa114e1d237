"""S3Storage against a real S3 server (moto_server on 127.0.0.1)."""
from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from colonies.cfs.storage import (
    EMPTY_SHA256,
    ChecksumMismatch,
    FileStamp,
    ObjectMissing,
    ObjectRef,
    S3Config,
    S3Storage,
    Storage,
    StorageError,
)
from colonies.cfs.storage import streams
from tests.support.s3 import MotoServer, moto_server, raw_client, s3_server  # noqa: F401

MiB = 1024 * 1024
SMALL = b"hello cfs\n" * 1000
# A multipart object: 5 MiB parts, 12 MiB of data → 3 parts; downloads go through ranged GETs.
MULTIPART = {"multipart_threshold": 5 * MiB, "multipart_chunksize": 5 * MiB}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def big_data(size: int = 12 * MiB) -> bytes:
    return os.urandom(1024) * (size // 1024)


@pytest.fixture
async def storage(s3_server: S3Config) -> AsyncIterator[S3Storage]:
    async with S3Storage(s3_server) as st:
        yield st


@pytest.fixture
async def multipart_storage(moto_server: MotoServer) -> AsyncIterator[S3Storage]:
    async with S3Storage(moto_server.config(**MULTIPART)) as st:
        yield st


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


async def test_implements_storage(storage: S3Storage) -> None:
    assert isinstance(storage, Storage)


async def test_bytes_round_trip_and_ref(storage: S3Storage, s3_server: S3Config) -> None:
    ref = await storage.put_bytes(SMALL)
    assert (ref.protocol, ref.bucket, ref.endpoint, ref.region, ref.tls) == ("s3", s3_server.bucket, s3_server.endpoint, "us-east-1", False)
    assert ref.size == len(SMALL) and ref.sha256 == sha(SMALL) and len(ref.object) == 64
    assert await storage.get_bytes(ref, sha256=sha(SMALL)) == SMALL
    assert await storage.stat(ref) == len(SMALL)
    head = raw_client(s3_server).head_object(Bucket=ref.bucket, Key=ref.object)
    assert head["ContentType"] == "application/octet-stream"


async def test_file_round_trip(storage: S3Storage, tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_bytes(SMALL)
    ref = await storage.put_file(src, key="my-key")
    assert ref.object == "my-key" and ref.sha256 == sha(SMALL) and ref.size == len(SMALL)
    dest = tmp_path / "out" / "nested" / "in.txt"
    await storage.get_file(ref, dest, sha256=ref.sha256 or "")
    assert dest.read_bytes() == SMALL
    assert leftovers(dest.parent) == ["in.txt"]
    # a second download overwrites in place
    dest.write_bytes(b"stale")
    await storage.get_file(ref, dest, sha256=sha(SMALL))
    assert dest.read_bytes() == SMALL


async def test_multipart_round_trip_makes_no_s3_request_on_the_loop_thread(
    multipart_storage: S3Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    from botocore.endpoint import Endpoint

    request_threads: list[int] = []
    make_request = Endpoint.make_request

    def recording(self: Endpoint, *args: Any, **kwargs: Any) -> Any:
        request_threads.append(threading.get_ident())
        return make_request(self, *args, **kwargs)

    monkeypatch.setattr(Endpoint, "make_request", recording)
    data = big_data()
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    ref = await multipart_storage.put_file(src)
    dest = tmp_path / "down" / "big.bin"
    await multipart_storage.get_file(ref, dest, sha256=sha(data))
    assert ref.size == len(data) and ref.sha256 == sha(data)
    assert dest.read_bytes() == data
    assert await multipart_storage.get_bytes(ref, sha256=sha(data)) == data
    # the unsized ref takes the managed (ranged) download path too
    await multipart_storage.get_file(ObjectRef(bucket=ref.bucket, object=ref.object), dest, sha256=sha(data))
    storage_requests = request_threads[:]
    assert len(storage_requests) >= 8  # create, 3 parts, complete, then the downloads
    assert threading.get_ident() not in storage_requests
    monkeypatch.undo()
    etag = raw_client(multipart_storage.config).head_object(Bucket=ref.bucket, Key=ref.object)["ETag"]
    assert etag.strip('"').endswith("-3"), etag  # stored as a 3-part multipart upload


async def test_a_matching_stamp_spares_the_hash_and_a_stale_one_does_not(multipart_storage: S3Storage, tmp_path: Path) -> None:
    data = big_data(9 * MiB)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    st = src.stat()
    trusted = "ab" * 32  # what a caller claims: used as is while size and mtime still match
    ref = await multipart_storage.put_file(src, stamp=FileStamp(st.st_size, st.st_mtime_ns, trusted))
    assert ref.sha256 == trusted
    stale = FileStamp(st.st_size, st.st_mtime_ns - 1, trusted)
    ref = await multipart_storage.put_file(src, stamp=stale)
    assert ref.sha256 == sha(data)
    unknown = FileStamp(st.st_size, 0, trusted)  # the file changed while the caller hashed it
    assert (await multipart_storage.put_file(src, stamp=unknown)).sha256 == sha(data)


async def test_big_bytes_upload(multipart_storage: S3Storage) -> None:
    data = big_data(6 * MiB)
    ref = await multipart_storage.put_bytes(data)
    assert await multipart_storage.get_bytes(ref, sha256=sha(data)) == data


async def test_bucket_created_when_missing(s3_server: S3Config) -> None:
    raw = raw_client(s3_server)
    assert s3_server.bucket not in [b["Name"] for b in raw.list_buckets()["Buckets"]]
    async with S3Storage(s3_server) as st:
        await st.put_bytes(b"x")
    raw.head_bucket(Bucket=s3_server.bucket)


async def test_bucket_in_another_region(moto_server: MotoServer) -> None:
    async with S3Storage(moto_server.config(region="eu-north-1")) as st:
        ref = await st.put_bytes(b"abc")
        assert ref.region == "eu-north-1"
        assert await st.get_bytes(ref, sha256=sha(b"abc")) == b"abc"


@pytest.mark.parametrize("size", [len(SMALL), 12 * MiB], ids=["single", "multipart"])
async def test_changed_object_is_detected_and_not_kept(moto_server: MotoServer, tmp_path: Path, size: int) -> None:
    cfg = moto_server.config(**MULTIPART)
    data = SMALL if size == len(SMALL) else big_data(size)
    async with S3Storage(cfg) as st:
        ref = await st.put_bytes(data)
        tampered = bytearray(data)
        tampered[len(tampered) // 2] ^= 0xFF
        raw_client(cfg).put_object(Bucket=ref.bucket, Key=ref.object, Body=bytes(tampered))
        dest_dir = tmp_path / "dl"
        with pytest.raises(ChecksumMismatch) as info:
            await st.get_file(ref, dest_dir / "f.bin", sha256=sha(data))
        assert ref.object in str(info.value) and "\n" not in str(info.value)
        assert leftovers(dest_dir) == []  # neither the final name nor a temporary file
        with pytest.raises(ChecksumMismatch):
            await st.get_bytes(ref, sha256=sha(data))


async def test_mismatch_keeps_an_existing_file(storage: S3Storage, tmp_path: Path) -> None:
    ref = await storage.put_bytes(SMALL)
    dest = tmp_path / "f.txt"
    dest.write_bytes(b"previous")
    with pytest.raises(ChecksumMismatch):
        await storage.get_file(ref, dest, sha256="0" * 64)
    assert dest.read_bytes() == b"previous" and leftovers(tmp_path) == ["f.txt"]


def slow_writes(monkeypatch: pytest.MonkeyPatch, started: threading.Event, fail: bool = False) -> None:
    original = streams.HashingWriter.write

    def write(self: streams.HashingWriter, data: bytes) -> int:
        written = original(self, data)
        started.set()
        if fail:
            raise OSError("connection reset (simulated)")
        time.sleep(0.05)
        return written

    monkeypatch.setattr(streams.HashingWriter, "write", write)


@pytest.mark.parametrize("size", [3 * MiB, 12 * MiB], ids=["single", "multipart"])
async def test_cancelled_download_leaves_no_file(
    moto_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    data = big_data(size)
    async with S3Storage(moto_server.config(**MULTIPART)) as st:
        ref = await st.put_bytes(data)
        started = threading.Event()
        slow_writes(monkeypatch, started)
        dest = tmp_path / "dl" / "f.bin"
        task = asyncio.create_task(st.get_file(ref, dest, sha256=sha(data)))
        assert await asyncio.to_thread(started.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert leftovers(dest.parent) == []
        monkeypatch.undo()
        await st.get_file(ref, dest, sha256=sha(data))  # the next attempt completes
        assert dest.read_bytes() == data


async def test_broken_download_leaves_no_file(storage: S3Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = await storage.put_bytes(SMALL)
    slow_writes(monkeypatch, threading.Event(), fail=True)
    dest = tmp_path / "dl" / "f.txt"
    with pytest.raises(StorageError):
        await storage.get_file(ref, dest, sha256=sha(SMALL))
    assert leftovers(dest.parent) == []


async def test_missing_object(storage: S3Storage, tmp_path: Path) -> None:
    await storage.ensure_bucket()
    ref = ObjectRef(bucket=storage.config.bucket, object="no-such-key", size=10)
    with pytest.raises(ObjectMissing) as info:
        await storage.get_file(ref, tmp_path / "x", sha256=sha(b""))
    assert "no-such-key" in str(info.value)
    assert leftovers(tmp_path) == []
    with pytest.raises(ObjectMissing):
        await storage.get_bytes(ObjectRef(bucket=storage.config.bucket, object="no-such-key"), sha256=EMPTY_SHA256)
    assert await storage.stat(ref) is None
    await storage.delete(ref)


async def test_missing_bucket(storage: S3Storage) -> None:
    ref = ObjectRef(bucket="cfs-no-such-bucket", object="k", size=3)
    with pytest.raises(ObjectMissing):
        await storage.get_bytes(ref, sha256=sha(b"abc"))
    assert await storage.stat(ref) is None
    await storage.delete(ref)


async def test_unreachable_endpoint_fails_fast(tmp_path: Path) -> None:
    port = closed_port()
    cfg = S3Config(endpoint=f"127.0.0.1:{port}", access_key="a", secret_key="topsecret", bucket="b")
    async with S3Storage(cfg) as st:
        for op in (
            lambda: st.put_bytes(b"data"),
            lambda: st.get_bytes(ObjectRef(bucket="b", object="k", size=4), sha256=sha(b"data")),
            lambda: st.get_file(ObjectRef(bucket="b", object="k"), tmp_path / "f", sha256=sha(b"data")),
            lambda: st.stat(ObjectRef(bucket="b", object="k")),
        ):
            started = time.monotonic()
            with pytest.raises(StorageError) as info:
                await op()
            assert time.monotonic() - started < 5
            message = str(info.value)
            assert message.startswith(f"S3 at 127.0.0.1:{port} unreachable:"), message
            assert "\n" not in message and "topsecret" not in message
    assert leftovers(tmp_path) == []


async def test_zero_byte_files_never_touch_s3(s3_server: S3Config, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    async with S3Storage(s3_server) as st:
        ref = await st.put_file(empty)
        assert (ref.object, ref.size, ref.sha256) == ("", 0, EMPTY_SHA256)
        assert (await st.put_bytes(b"")).object == ""
    raw = raw_client(s3_server)
    assert s3_server.bucket not in [b["Name"] for b in raw.list_buckets()["Buckets"]]
    # reading needs no S3 at all: even an unreachable one will do, and a Go-style key is ignored
    dead = S3Config(endpoint=f"127.0.0.1:{closed_port()}", bucket="b")
    async with S3Storage(dead) as st:
        for zero in (ref, ObjectRef(bucket="b", object="go-key-never-uploaded", size=0)):
            dest = tmp_path / "out" / "empty"
            await st.get_file(zero, dest, sha256=EMPTY_SHA256)
            assert dest.read_bytes() == b""
            assert await st.get_bytes(zero, sha256=EMPTY_SHA256) == b""
            assert await st.stat(zero) == 0
            await st.delete(ref)
        with pytest.raises(ChecksumMismatch):
            await st.get_bytes(ref, sha256=sha(b"not empty"))


async def test_delete_is_idempotent(storage: S3Storage) -> None:
    ref = await storage.put_bytes(SMALL)
    await storage.delete(ref)
    assert await storage.stat(ref) is None
    await storage.delete(ref)
    with pytest.raises(ObjectMissing):
        await storage.get_bytes(ref, sha256=sha(SMALL))


async def test_concurrent_transfers(storage: S3Storage) -> None:
    blobs = [os.urandom(1000 + i) for i in range(40)]
    refs = await asyncio.gather(*(storage.put_bytes(b) for b in blobs))
    got = await asyncio.gather(*(storage.get_bytes(r, sha256=sha(b)) for r, b in zip(refs, blobs)))
    assert got == blobs


def pycolonies_client(cfg: S3Config, s3object: dict[str, Any]) -> Any:
    """A boto3 client built the way pycolonies' download_file builds it from a file row."""
    import boto3

    endpoint = s3object["server"] + ":" + str(s3object["port"])
    return boto3.client(
        "s3", endpoint_url=f"http://{endpoint}", aws_access_key_id=cfg.access_key,
        aws_secret_access_key=cfg.secret_key, region_name=s3object["region"] or None,
    )


async def test_interoperates_with_pycolonies_style_clients(storage: S3Storage, s3_server: S3Config) -> None:
    ref = await storage.put_bytes(SMALL)
    wire = ref.to_s3object()
    client = pycolonies_client(s3_server, wire)
    assert client.get_object(Bucket=wire["bucket"], Key=wire["object"])["Body"].read() == SMALL
    # and an object a pycolonies client uploaded, described by its wire dict
    client.put_object(Bucket=s3_server.bucket, Key="from-pycolonies", Body=b"theirs")
    theirs = dict(wire, object="from-pycolonies")
    assert await storage.get_bytes(ObjectRef.from_s3object(theirs), sha256=sha(b"theirs")) == b"theirs"
    # the Go client's form of the same reference reads the same object
    go = dict(theirs, server=s3_server.endpoint, port=-1)
    assert await storage.get_bytes(ObjectRef.from_s3object(go), sha256=sha(b"theirs")) == b"theirs"


async def test_closed_storage_refuses(s3_server: S3Config) -> None:
    st = S3Storage(s3_server)
    await st.close()
    await st.close()
    with pytest.raises(StorageError):
        await st.put_bytes(b"x")


async def test_unreadable_source_is_a_storage_error(storage: S3Storage, tmp_path: Path) -> None:
    with pytest.raises(StorageError) as info:
        await storage.put_file(tmp_path / "absent.bin")
    assert "absent.bin" in str(info.value) and "\n" not in str(info.value)
