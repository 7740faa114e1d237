"""IPFS storage through the Kubo RPC API (a real Kubo, or our embedded node), with ipfshttpclient.

Every ipfshttpclient call runs on a worker thread of this storage's own pool, each thread with
its own HTTP session; the event loop only awaits. Uploads stream the file once, computing its
SHA-256 and its CID (aleph-cid, Kubo's defaults: CIDv0, 256 KiB chunks) in the same pass; the
node's CID must equal ours. Downloads stream `cat` into an `AtomicFile`, verified by SHA-256.
Fetches carry Kubo's `timeout` option and an HTTP read timeout a little longer, so an
unreachable CID ends in a one-line StorageError, never a hang.

`key` is ignored on put: content is addressed by its CID. `delete` unpins (garbage collection is
the node's business). Zero-byte content is never stored (see `base`).
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NoReturn, TypeVar

import aleph_cid
import ipfshttpclient
import requests
import urllib3.exceptions
from ipfshttpclient import exceptions as ipfs_errors

from colonies.cfs.ipfs.addrs import parse_tcp, peer_of

from colonies.oneline import one_line

from .atomic import AtomicFile
from .base import EMPTY_SHA256, FileStamp, ObjectRef, PooledBackend, StorageError, check_sha256
from .streams import HashingWriter, Stopped

T = TypeVar("T")
MiB = 1024 * 1024
ADD_RATE = 16 * MiB  # bytes/s the node is granted to chunk and store an upload before answering
GRACE = 5.0  # seconds the HTTP read waits beyond the node's own timeout

# ipfshttpclient 0.7 passes urllib3 a parameter it deprecated; the warning says nothing to us.
warnings.filterwarnings("ignore", message="The 'strict' parameter is no longer needed", category=FutureWarning)


@dataclass(frozen=True, kw_only=True)
class IpfsConfig:
    """Where the Kubo RPC API is (`/ip4/<host>/tcp/<port>`, optionally `/http`) and how long
    calls may take, in seconds."""

    api: str = "/ip4/127.0.0.1/tcp/5001"
    timeout: float = 30.0  # one fetch (cat, pin/add): Kubo's `timeout` option
    connect_timeout: float = 5.0  # the HTTP connection, and one swarm/connect to a provider
    request_timeout: float = 60.0  # waiting for any other answer (id, pin/ls, pin/rm, add)
    max_concurrency: int = 8  # worker threads and concurrent requests
    chunk_size: int = MiB  # upload chunks

    def __post_init__(self) -> None:
        try:
            _, _, rest = parse_tcp(self.api)
        except ValueError as err:
            raise ValueError(f"IPFS API must be a multiaddr like /ip4/127.0.0.1/tcp/5001: {err}") from None
        if rest not in ("", "/http"):
            raise ValueError(f"IPFS API must be /ip4/<host>/tcp/<port>[/http], got {self.api!r}")
        if self.max_concurrency < 1:
            raise ValueError("IPFS max_concurrency must be at least 1")
        if min(self.timeout, self.connect_timeout, self.request_timeout) <= 0:
            raise ValueError("IPFS timeouts must be positive")

    @property
    def client_addr(self) -> str:
        return self.api if self.api.endswith("/http") else self.api + "/http"


@dataclass(frozen=True)
class IpfsIdentity:
    peer_id: str
    addresses: tuple[str, ...]  # swarm multiaddrs with /p2p/<peer id>
    agent_version: str = ""


@dataclass(frozen=True)
class IpfsPeer:
    peer_id: str
    address: str  # without /p2p/

    @property
    def multiaddr(self) -> str:
        return f"{self.address}/p2p/{self.peer_id}"


class _Job:
    """Per-call stop signal. A download opens its temporary file only through `opening()`, so
    a cancelled caller knows whether it must wait for the worker to remove it."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.holds_file = False
        self._lock = threading.Lock()

    def cancel(self) -> bool:
        """Stop the worker; True if it holds a temporary file (then wait for it)."""
        with self._lock:
            self.stop.set()
            return self.holds_file

    @contextlib.contextmanager
    def opening(self) -> Iterator[None]:
        with self._lock:
            if self.stop.is_set():
                raise Stopped()
            self.holds_file = True
            yield


class _UploadReader:
    """What ipfshttpclient reads the upload from: hashes (SHA-256 unless a stamp stands in, and
    the CID) every byte once, in order, and stops when the caller gives up."""

    def __init__(self, raw: BinaryIO, stop: threading.Event, *, sha256: bool) -> None:
        self._raw = raw
        self._stop = stop
        self._sha = hashlib.sha256() if sha256 else None
        self._cid: Any = aleph_cid.CidHasher.for_ipfs()
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        if self._stop.is_set():
            raise Stopped()
        data = self._raw.read(size)
        if data:
            if self._sha is not None:
                self._sha.update(data)
            self._cid.update(data)
            self.count += len(data)
        return data

    def sha256(self) -> str | None:
        return self._sha.hexdigest() if self._sha is not None else None

    def cid(self) -> str:
        return str(self._cid.finalize())


class IpfsStorage(PooledBackend):
    """`Storage` on one Kubo RPC API (see `IpfsConfig`), plus the pin and swarm calls CFS needs.
    Use `async with`, or call `close()` when done. Safe to share between tasks."""

    def __init__(self, config: IpfsConfig) -> None:
        super().__init__(config.max_concurrency, "cfs-ipfs")
        self.config = config
        self._local = threading.local()
        self._clients: list[Any] = []
        self._identity: IpfsIdentity | None = None

    # --- Storage -------------------------------------------------------------------------------

    async def put_file(
        self, path: str | os.PathLike[str], *, key: str | None = None, stamp: FileStamp | None = None,
    ) -> ObjectRef:
        providers = await self._providers()
        return await self._call(self._put_file, Path(path), stamp, providers)

    async def put_bytes(self, data: bytes, *, key: str | None = None) -> ObjectRef:
        providers = await self._providers()
        return await self._call(self._put_bytes, bytes(data), providers)

    async def get_file(self, ref: ObjectRef, dest_path: str | os.PathLike[str], *, sha256: str) -> None:
        if not ref.is_empty:
            await self._connect_providers(ref)
        await self._call(self._get_file, ref, Path(dest_path), sha256)

    async def get_bytes(self, ref: ObjectRef, *, sha256: str) -> bytes:
        if not ref.is_empty:
            await self._connect_providers(ref)
        return await self._call(self._get_bytes, ref, sha256)

    async def stat(self, ref: ObjectRef) -> int | None:
        """The size of content pinned by this node (None if it is not pinned here)."""
        return await self._call(self._stat, ref)

    async def delete(self, ref: ObjectRef) -> None:
        """Unpin the content (a CID not pinned is fine)."""
        if ref.cid:
            await self.unpin(ref.cid)

    # --- IPFS ------------------------------------------------------------------------------------

    async def pin(self, cid: str) -> None:
        """Pin recursively, fetching from connected peers what is missing (within `timeout`)."""
        await self._call(self._pin, cid)

    async def unpin(self, cid: str) -> None:
        """Remove a recursive pin; a CID that is not pinned is fine."""
        await self._call(self._unpin, cid)

    async def pins(self) -> set[str]:
        """The CIDs pinned recursively (the roots; not the blocks under them)."""
        return await self._call(self._pins)

    async def connect(self, multiaddrs: Sequence[str]) -> list[str]:
        """Connect to peers (`.../p2p/<id>` multiaddrs) in parallel, each within
        `connect_timeout`; failures are tolerated. Returns the addresses that connected."""
        own = await self._own_peer_id()
        wanted = [a for a in dict.fromkeys(multiaddrs) if a and peer_of(a) and peer_of(a) != own]
        results = await asyncio.gather(*(self._call(self._connect, a) for a in wanted), return_exceptions=True)
        for result in results:
            if isinstance(result, asyncio.CancelledError):
                raise result
        return [a for a, ok in zip(wanted, results) if ok is True]

    async def peers(self) -> list[IpfsPeer]:
        return await self._call(self._peers)

    async def identity(self) -> IpfsIdentity:
        """The node's peer id and swarm addresses (cached after the first answer)."""
        if self._identity is None:
            self._identity = await self._call(self._id)
        return self._identity

    # --- running on the pool -------------------------------------------------------------------

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise StorageError(f"IPFS storage for {self.config.api} is closed")
        job = _Job()
        future = asyncio.get_running_loop().run_in_executor(self._pool, fn, job, *args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # A worker that holds a temporary file removes it (and renames nothing) before the
            # cancellation completes; one still waiting for an answer is left to time out.
            if job.cancel():
                await asyncio.wait([future])
            future.add_done_callback(lambda f: f.cancelled() or f.exception())
            raise

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            cfg = self.config
            client = ipfshttpclient.Client(cfg.client_addr, chunk_size=cfg.chunk_size, session=True, timeout=cfg.connect_timeout)
            session = getattr(getattr(client, "_client", None), "_session", None)
            if session is not None:
                session.trust_env = False  # never a proxy from the environment for the node's API
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def _shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            with contextlib.suppress(Exception):
                client.close()

    async def _providers(self) -> tuple[str, ...]:
        try:
            return (await self.identity()).addresses
        except StorageError:
            return ()

    async def _own_peer_id(self) -> str:
        try:
            return (await self.identity()).peer_id
        except StorageError:
            return ""

    async def _connect_providers(self, ref: ObjectRef) -> None:
        if ref.providers:
            await self.connect(ref.providers)

    def _timeouts(self, read: float) -> tuple[float, float]:
        return (self.config.connect_timeout, read)

    # --- errors ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except (StorageError, Stopped):
            raise
        except ipfs_errors.ErrorResponse as err:
            self._raise(action, err, f"IPFS at {self.config.api} failed to {action}: {one_line(err, 240)}")
        except ipfs_errors.TimeoutError as err:
            self._raise(action, err, f"IPFS at {self.config.api} timed out during {action}")
        except ipfs_errors.ConnectionError as err:
            self._raise(action, err, f"IPFS at {self.config.api} unreachable: {one_line(err.original or err, 240)}")
        except (requests.exceptions.Timeout, urllib3.exceptions.ReadTimeoutError) as err:
            self._raise(action, err, f"IPFS at {self.config.api} timed out during {action}")
        except (ipfs_errors.Error, requests.RequestException, urllib3.exceptions.HTTPError) as err:
            self._raise(action, err, f"IPFS at {self.config.api} failed to {action}: {one_line(err, 240)}")
        except (OSError, ValueError) as err:
            self._raise(action, err, f"cannot {action}: {one_line(err, 240)}")

    @staticmethod
    def _raise(action: str, err: BaseException, message: str) -> NoReturn:
        raise StorageError(message) from err

    # --- blocking operations (worker threads) ----------------------------------------------------

    def _ref(self, cid: str, size: int, sha256: str, providers: tuple[str, ...]) -> ObjectRef:
        return ObjectRef(protocol="ipfs", cid=cid, size=size, sha256=sha256, providers=providers if cid else ())

    def _add(self, job: _Job, body: BinaryIO, size: int, stamp_sha: str | None, what: str) -> tuple[str, str, int]:
        """(CID, SHA-256, bytes sent) of one upload, the node's CID checked against ours."""
        reader = _UploadReader(body, job.stop, sha256=stamp_sha is None)
        read_timeout = self.config.request_timeout + size / ADD_RATE
        with self._errors(f"add {what}"):
            answer = self._client().add(reader, pin=True, timeout=self._timeouts(read_timeout))
        node_cid = str(answer.get("Hash", ""))
        ours = reader.cid()
        if node_cid != ours:
            raise StorageError(f"IPFS at {self.config.api} stored {what} as {node_cid or 'nothing'}, but its CID is {ours}")
        return ours, stamp_sha or reader.sha256() or "", reader.count

    def _put_file(self, job: _Job, path: Path, stamp: FileStamp | None, providers: tuple[str, ...]) -> ObjectRef:
        try:
            raw = open(path, "rb")
        except OSError as err:
            raise StorageError(f"cannot upload {path}: {one_line(err, 240)}") from err
        with raw:
            before = os.fstat(raw.fileno())
            if before.st_size == 0:
                return self._ref("", 0, EMPTY_SHA256, providers)
            stamp_sha = stamp.sha256.lower() if stamp is not None and stamp.matches(before) else None
            cid, sha256, sent = self._add(job, raw, before.st_size, stamp_sha, str(path))
            after = os.fstat(raw.fileno())
        if sent != before.st_size or (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            with contextlib.suppress(Exception):
                self._unpin(job, cid)
            raise StorageError(f"cannot upload {path}: it changed while being read")
        return self._ref(cid, sent, sha256, providers)

    def _put_bytes(self, job: _Job, data: bytes, providers: tuple[str, ...]) -> ObjectRef:
        if not data:
            return self._ref("", 0, EMPTY_SHA256, providers)
        cid, sha256, _ = self._add(job, io.BytesIO(data), len(data), None, f"{len(data)} bytes")
        return self._ref(cid, len(data), sha256, providers)

    def _cid_of(self, ref: ObjectRef) -> str:
        if ref.protocol != "ipfs" or not ref.cid:
            raise StorageError(f"not an IPFS reference (protocol {ref.protocol!r}, no CID)")
        return ref.cid

    def _cat(self, cid: str) -> Iterable[bytes]:
        cfg = self.config
        stream: Iterable[bytes] = self._client().cat(
            cid, stream=True, opts={"timeout": f"{cfg.timeout:g}s"}, timeout=self._timeouts(cfg.timeout + GRACE),
        )
        return stream

    def _download(self, job: _Job, cid: str, sink_for: Callable[[], HashingWriter]) -> HashingWriter:
        with self._errors(f"cat {cid}"):
            stream: Any = self._cat(cid)
            try:
                sink = sink_for()
                for chunk in stream:
                    sink.write(chunk)
                return sink
            finally:
                stream.close()

    def _get_file(self, job: _Job, ref: ObjectRef, dest: Path, sha256: str) -> None:
        try:
            if ref.is_empty:
                with job.opening(), AtomicFile(dest) as empty:
                    check_sha256(sha256, EMPTY_SHA256, "zero-byte file")
                    empty.commit()
                return
            cid = self._cid_of(ref)
            with contextlib.ExitStack() as stack:
                opened: list[AtomicFile] = []

                def sink() -> HashingWriter:
                    # Only once the node answers: a failed or timed-out fetch leaves no file at all.
                    with job.opening():
                        opened.append(stack.enter_context(AtomicFile(dest)))
                    return HashingWriter(opened[0].file, job.stop)

                written = self._download(job, cid, sink)
                check_sha256(sha256, written.hexdigest(), f"IPFS object {cid}")
                opened[0].commit()
        except OSError as err:
            raise StorageError(f"cannot write {dest}: {one_line(err, 240)}") from err

    def _get_bytes(self, job: _Job, ref: ObjectRef, sha256: str) -> bytes:
        if ref.is_empty:
            check_sha256(sha256, EMPTY_SHA256, "zero-byte file")
            return b""
        cid = self._cid_of(ref)
        sink = self._download(job, cid, lambda: HashingWriter(None, job.stop))
        check_sha256(sha256, sink.hexdigest(), f"IPFS object {cid}")
        return sink.getvalue()

    def _stat(self, job: _Job, ref: ObjectRef) -> int | None:
        if ref.is_empty:
            return 0
        cid = self._cid_of(ref)
        if cid not in self._pins(job):
            return None
        if ref.size is not None:
            return ref.size
        sink = self._download(job, cid, lambda: _Counter(job.stop))
        return sink.size

    def _pin(self, job: _Job, cid: str) -> None:
        cfg = self.config
        with self._errors(f"pin {cid}"):
            self._client().pin.add(cid, opts={"timeout": f"{cfg.timeout:g}s"}, timeout=self._timeouts(cfg.timeout + GRACE))

    def _unpin(self, job: _Job, cid: str) -> None:
        try:
            with self._errors(f"unpin {cid}"):
                self._client().pin.rm(cid, timeout=self._timeouts(self.config.request_timeout))
        except StorageError as err:
            if "not pinned" not in str(err):
                raise

    def _pins(self, job: _Job) -> set[str]:
        with self._errors("list pins"):
            answer = self._client().pin.ls(type="recursive", timeout=self._timeouts(self.config.request_timeout))
        return {str(cid) for cid in (answer.get("Keys") or {})}

    def _connect(self, job: _Job, multiaddr: str) -> bool:
        cfg = self.config
        with self._errors(f"connect to {multiaddr}"):
            # Not client.swarm.connect: ipfshttpclient 0.7.0 also sends every character of the
            # address as one more argument, which Kubo rejects.
            self._client()._client.request(
                "/swarm/connect", (multiaddr,), decoder="json", opts={"timeout": f"{cfg.connect_timeout:g}s"},
                timeout=self._timeouts(cfg.connect_timeout + GRACE),
            )
        return True

    def _peers(self, job: _Job) -> list[IpfsPeer]:
        with self._errors("list peers"):
            answer = self._client().swarm.peers(timeout=self._timeouts(self.config.request_timeout))
        return [IpfsPeer(str(p.get("Peer", "")), str(p.get("Addr", ""))) for p in (answer.get("Peers") or [])]

    def _id(self, job: _Job) -> IpfsIdentity:
        with self._errors("read the node identity"):
            answer = self._client().id(timeout=self._timeouts(self.config.request_timeout))
        peer_id = str(answer.get("ID", ""))
        addrs = tuple(str(a) for a in (answer.get("Addresses") or []) if "/p2p/" in str(a) or "/ipfs/" in str(a))
        return IpfsIdentity(peer_id, addrs, str(answer.get("AgentVersion", "")))


class _Counter(HashingWriter):
    """Counts bytes without keeping them."""

    def __init__(self, stop: threading.Event) -> None:
        super().__init__(io.BytesIO(), stop)

    def write(self, data: bytes) -> int:
        if self._stop.is_set():
            raise Stopped()
        self.size += len(data)
        return len(data)
