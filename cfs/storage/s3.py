"""S3 storage on boto3. Every boto3 call runs on a worker thread of this storage's own pool; the
event loop only awaits. Objects at or above `multipart_threshold` go through s3transfer's managed
transfer (multipart uploads, parallel ranged downloads, memory bounded by its in-memory chunk
limits); smaller ones are one request. Either way the SHA-256 is computed in the same pass.

Reads always go to the configured endpoint with the configured credentials, as the Go client
does: the endpoint named in a file row is informational, so a row can never make us send signed
requests elsewhere. The bucket is the ref's, falling back to the configured one.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, NoReturn, TypeVar

import boto3
import botocore.exceptions as boto_errors
from botocore import UNSIGNED
from botocore.config import Config
from s3transfer.exceptions import RetriesExceededError
from s3transfer.manager import TransferConfig, TransferManager

from colonies.oneline import one_line

from .atomic import AtomicFile
from .base import EMPTY_SHA256, FileStamp, ObjectMissing, ObjectRef, PooledBackend, StorageError, check_sha256, new_object_key
from .config import S3Config
from .streams import HashingReader, HashingWriter

T = TypeVar("T")

HASH_CHUNK = 1 << 20
CONTENT_TYPE = "application/octet-stream"  # what the Go client sets
_CHUNK = 256 * 1024
_MISSING = {"404", "NoSuchKey", "NoSuchBucket", "NotFound"}


def _code(err: boto_errors.ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


class S3Storage(PooledBackend):
    """`Storage` on one S3 endpoint and bucket (see `S3Config`). Use `async with`, or call
    `close()` when done. Safe to share between tasks."""

    def __init__(self, config: S3Config) -> None:
        super().__init__(config.max_concurrency, "cfs-s3")
        self.config = config
        self._client: Any = None
        self._manager: TransferManager | None = None
        self._buckets: set[str] = set()

    # --- Storage -------------------------------------------------------------------------------

    async def put_file(
        self, path: str | os.PathLike[str], *, key: str | None = None, stamp: FileStamp | None = None,
    ) -> ObjectRef:
        return await self._call(self._put_file, Path(path), key, stamp)

    async def put_bytes(self, data: bytes, *, key: str | None = None) -> ObjectRef:
        return await self._call(self._put_bytes, bytes(data), key)

    async def get_file(self, ref: ObjectRef, dest_path: str | os.PathLike[str], *, sha256: str) -> None:
        await self._call(self._get_file, ref, Path(dest_path), sha256)

    async def get_bytes(self, ref: ObjectRef, *, sha256: str) -> bytes:
        return await self._call(self._get_bytes, ref, sha256)

    async def stat(self, ref: ObjectRef) -> int | None:
        return await self._call(self._stat, ref)

    async def delete(self, ref: ObjectRef) -> None:
        await self._call(self._delete, ref)

    async def ensure_bucket(self) -> None:
        """Create the configured bucket if it is missing (done anyway before the first upload)."""
        await self._call(lambda stop: self._ensure_bucket(self._put_bucket()))

    # --- running on the pool -------------------------------------------------------------------

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise StorageError(f"S3 storage for {self.config.endpoint} is closed")
        stop = threading.Event()
        future = asyncio.get_running_loop().run_in_executor(self._pool, fn, stop, *args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # Tell the worker to stop and wait for it, so its temporary file is gone (and no
            # rename happens) by the time the cancellation completes.
            stop.set()
            await asyncio.wait([future])
            if not future.cancelled():
                future.exception()  # retrieved: the worker's Stopped is expected here
            raise

    def _shutdown(self) -> None:
        with self._lock:
            if self._manager is not None:
                self._manager.shutdown(cancel=True)
            if self._client is not None:
                self._client.close()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _s3(self) -> Any:
        with self._lock:
            if self._client is None:
                cfg = self.config
                signed = bool(cfg.access_key or cfg.secret_key)
                session = boto3.session.Session(
                    aws_access_key_id=cfg.access_key if signed else None,
                    aws_secret_access_key=cfg.secret_key if signed else None,
                    region_name=cfg.region or "us-east-1",
                )
                self._client = session.client(
                    "s3",
                    endpoint_url=cfg.endpoint_url,
                    verify=not cfg.skip_verify,
                    config=Config(
                        # Without credentials, never search the environment or instance metadata.
                        signature_version="s3v4" if signed else UNSIGNED,
                        s3={"addressing_style": "path"},
                        connect_timeout=cfg.connect_timeout,
                        read_timeout=cfg.read_timeout,
                        retries={"max_attempts": cfg.max_attempts, "mode": "standard"},
                        max_pool_connections=cfg.max_concurrency * 2,
                        # Request checksums stay botocore's default (CRC32 trailers), which also
                        # spares the SHA-256 payload signature over plain http; servers without
                        # trailer support: AWS_REQUEST_CHECKSUM_CALCULATION=when_required. Reads
                        # are verified by our own SHA-256.
                        response_checksum_validation="when_required",
                    ),
                )
            return self._client

    def _transfers(self) -> TransferManager:
        client = self._s3()
        with self._lock:
            if self._manager is None:
                cfg = self.config
                self._manager = TransferManager(
                    client,
                    TransferConfig(
                        multipart_threshold=cfg.multipart_threshold,
                        multipart_chunksize=cfg.multipart_chunksize,
                        max_request_concurrency=cfg.max_concurrency,
                    ),
                )
            return self._manager

    # --- errors ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, action: str, bucket: str, key: str = "") -> Iterator[None]:
        where = f"{bucket}/{key}" if key else bucket
        try:
            yield
        except StorageError:
            raise
        except RetriesExceededError as err:
            self._raise(action, where, err.last_exception or err)
        except (boto_errors.BotoCoreError, boto_errors.ClientError, OSError) as err:
            self._raise(action, where, err)

    def _raise(self, action: str, where: str, err: BaseException) -> NoReturn:
        ep = self.config.endpoint
        if isinstance(err, boto_errors.ClientError):
            code = _code(err)
            if code in _MISSING:
                raise ObjectMissing(f"S3 object {where} not found at {ep}") from err
            raise StorageError(f"S3 at {ep} refused to {action} {where}: {code or one_line(err, 240)}") from err
        if isinstance(err, (boto_errors.ConnectionError, boto_errors.ConnectTimeoutError)):
            raise StorageError(f"S3 at {ep} unreachable: {one_line(err, 240)}") from err
        if isinstance(err, boto_errors.ReadTimeoutError):
            raise StorageError(f"S3 at {ep} timed out during {action} {where}") from err
        if isinstance(err, boto_errors.BotoCoreError):
            raise StorageError(f"S3 at {ep} failed to {action} {where}: {one_line(err, 240)}") from err
        raise StorageError(f"cannot {action} {where}: {one_line(err, 240)}") from err

    # --- blocking operations (worker threads) ----------------------------------------------------

    def _put_bucket(self) -> str:
        if not self.config.bucket:
            raise StorageError("no S3 bucket configured (AWS_S3_BUCKET)")
        return self.config.bucket

    def _ensure_bucket(self, bucket: str) -> None:
        if bucket in self._buckets:
            return
        client = self._s3()
        with self._errors("create bucket", bucket):
            try:
                client.head_bucket(Bucket=bucket)
            except boto_errors.ClientError as err:
                if _code(err) not in _MISSING:
                    raise
                region = self.config.region
                extra = {} if region in ("", "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}
                try:
                    client.create_bucket(Bucket=bucket, **extra)
                except boto_errors.ClientError as err2:
                    if _code(err2) != "BucketAlreadyOwnedByYou":
                        raise
        self._buckets.add(bucket)

    def _ref(self, bucket: str, key: str, size: int, sha256: str) -> ObjectRef:
        cfg = self.config
        return ObjectRef(
            protocol="s3", bucket=bucket, object=key, endpoint=cfg.endpoint, tls=cfg.tls,
            region=cfg.region, size=size, sha256=sha256,
        )

    def _upload(self, stop: threading.Event, body: BinaryIO, size: int, bucket: str, key: str) -> None:
        if size < self.config.multipart_threshold:
            self._s3().put_object(Bucket=bucket, Key=key, Body=body, ContentLength=size, ContentType=CONTENT_TYPE)
            return
        future = self._transfers().upload(body, bucket, key, extra_args={"ContentType": CONTENT_TYPE})
        try:
            future.result()
        except BaseException:
            future.cancel()
            raise

    def _put_file(self, stop: threading.Event, path: Path, key: str | None, stamp: FileStamp | None) -> ObjectRef:
        bucket = self._put_bucket()
        key = key or new_object_key()
        with self._errors("upload", bucket, key), open(path, "rb") as raw:
            size = os.fstat(raw.fileno()).st_size
            if size == 0:
                return self._ref(bucket, "", 0, EMPTY_SHA256)
            self._ensure_bucket(bucket)
            if size >= self.config.multipart_threshold:
                return self._put_big_file(stop, raw, path, size, bucket, key, stamp)
            reader = HashingReader(raw, stop)
            self._upload(stop, reader, size, bucket, key)  # type: ignore[arg-type]
            if not reader.complete(size):
                # The file changed size under us: what was stored cannot be described.
                with contextlib.suppress(Exception):
                    self._s3().delete_object(Bucket=bucket, Key=key)
                raise StorageError(f"cannot upload {path}: it changed while being read")
            return self._ref(bucket, key, size, reader.hexdigest())

    def _put_big_file(
        self, stop: threading.Event, raw: BinaryIO, path: Path, size: int, bucket: str, key: str, stamp: FileStamp | None,
    ) -> ObjectRef:
        """Hash first (unless the stamp still matches), then let the transfer manager read the
        parts from the file in parallel (a single hashing stream would feed them one at a time);
        a file that changed meanwhile is not kept."""
        before = os.fstat(raw.fileno())
        if stamp is not None and stamp.matches(before):
            sha256 = stamp.sha256.lower()
        else:
            digest = hashlib.sha256()
            while chunk := raw.read(HASH_CHUNK):
                if stop.is_set():
                    raise StorageError(f"upload of {path} cancelled")
                digest.update(chunk)
            sha256 = digest.hexdigest()
        future = self._transfers().upload(str(path), bucket, key, extra_args={"ContentType": CONTENT_TYPE})
        try:
            future.result()
        except BaseException:
            future.cancel()
            raise
        after = os.stat(path)
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            with contextlib.suppress(Exception):
                self._s3().delete_object(Bucket=bucket, Key=key)
            raise StorageError(f"cannot upload {path}: it changed while being read")
        return self._ref(bucket, key, size, sha256)

    def _put_bytes(self, stop: threading.Event, data: bytes, key: str | None) -> ObjectRef:
        bucket = self._put_bucket()
        if not data:
            return self._ref(bucket, "", 0, EMPTY_SHA256)
        key = key or new_object_key()
        digest = hashlib.sha256(data).hexdigest()
        with self._errors("upload", bucket, key):
            self._ensure_bucket(bucket)
            self._upload(stop, io.BytesIO(data), len(data), bucket, key)
        return self._ref(bucket, key, len(data), digest)

    def _where(self, ref: ObjectRef) -> tuple[str, str]:
        bucket = ref.bucket or self.config.bucket
        if not bucket:
            raise StorageError(f"S3 object {ref.object} has no bucket and none is configured (AWS_S3_BUCKET)")
        return bucket, ref.object

    def _download(self, stop: threading.Event, ref: ObjectRef, sink: HashingWriter) -> None:
        if ref.is_empty:
            return
        bucket, key = self._where(ref)
        with self._errors("download", bucket, key):
            if ref.size is not None and ref.size < self.config.multipart_threshold:
                body = self._s3().get_object(Bucket=bucket, Key=key)["Body"]
                with contextlib.closing(body):
                    for chunk in body.iter_chunks(_CHUNK):
                        sink.write(chunk)
                return
            future = self._transfers().download(bucket, key, sink)
            try:
                future.result()
            except BaseException:
                future.cancel()
                raise

    def _get_file(self, stop: threading.Event, ref: ObjectRef, dest: Path, sha256: str) -> None:
        try:
            with AtomicFile(dest) as out:
                sink = HashingWriter(out.file, stop)
                self._download(stop, ref, sink)
                check_sha256(sha256, sink.hexdigest(), self._describe(ref))
                out.commit()
        except OSError as err:
            raise StorageError(f"cannot write {dest}: {one_line(err, 240)}") from err

    def _get_bytes(self, stop: threading.Event, ref: ObjectRef, sha256: str) -> bytes:
        sink = HashingWriter(None, stop)
        self._download(stop, ref, sink)
        check_sha256(sha256, sink.hexdigest(), self._describe(ref))
        return sink.getvalue()

    def _describe(self, ref: ObjectRef) -> str:
        return f"S3 object {ref.bucket or self.config.bucket}/{ref.object}" if ref.object else "zero-byte file"

    def _stat(self, stop: threading.Event, ref: ObjectRef) -> int | None:
        if ref.is_empty:
            return 0
        bucket, key = self._where(ref)
        try:
            with self._errors("stat", bucket, key):
                return int(self._s3().head_object(Bucket=bucket, Key=key)["ContentLength"])
        except ObjectMissing:
            return None

    def _delete(self, stop: threading.Event, ref: ObjectRef) -> None:
        if not ref.object:
            return
        bucket, key = self._where(ref)
        with contextlib.suppress(ObjectMissing), self._errors("delete", bucket, key):
            self._s3().delete_object(Bucket=bucket, Key=key)

