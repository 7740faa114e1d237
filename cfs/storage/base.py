"""The storage seam of CFS: where a file revision's bytes live, and the interface every backend
implements (S3 now, IPFS later).

The node stores only metadata; a file row's `ref` names the object (spec cfs.md §1.1). `ObjectRef`
is our typed view of that reference, convertible to and from the wire `ref.s3object` dict.

Zero-byte content is never stored in a backend (the upstream Go client only sends metadata for
it): `put_*` of empty content returns a ref with an empty object key, and `get_*` of a ref whose
size is 0 (or whose key is empty) produces empty content without contacting the backend.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from collections.abc import Mapping
from typing import Any, Protocol, Self, runtime_checkable

import msgspec

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class StorageError(Exception):
    """A backend operation failed. The message is one line and never carries a secret."""


class ChecksumMismatch(StorageError):
    """The bytes read do not have the expected SHA-256; nothing was kept."""


def check_sha256(expected: str, got: str, what: str) -> None:
    """Refuse bytes whose SHA-256 (`got`, lowercase hex) is not the one expected."""
    if got != expected.lower():
        raise ChecksumMismatch(f"checksum mismatch for {what}: expected sha256 {expected.lower()}, got {got}")


class ObjectMissing(StorageError):
    """The object (or its bucket) does not exist."""


@dataclass(frozen=True)
class FileStamp:
    """What a caller already knows of a local file: its SHA-256 when it had this size and
    modification time. A backend may skip its own hashing pass when the file still matches."""

    size: int
    mtime_ns: int
    sha256: str

    def matches(self, st: os.stat_result) -> bool:
        return self.mtime_ns > 0 and (st.st_size, st.st_mtime_ns) == (self.size, self.mtime_ns)


def new_object_key() -> str:
    """A fresh object key: 64 random hex characters, like upstream's generated ids."""
    return secrets.token_hex(32)


def split_endpoint(endpoint: str, tls: bool) -> tuple[str, int]:
    """`host:port` → (host, port) as pycolonies writes them; a missing port is the scheme's default.
    IPv6 hosts keep their brackets (`[::1]:9000` → `[::1]`, 9000) so `server + ":" + port` still works."""
    default = 443 if tls else 80
    if endpoint.startswith("["):
        host, _, rest = endpoint.partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return host + "]", int(port) if port.isdigit() else default
    if endpoint.count(":") == 1:
        host, _, port = endpoint.partition(":")
        if port.isdigit():
            return host, int(port)
    return endpoint, default


def _has_port(server: str) -> bool:
    if server.startswith("["):
        return "]:" in server
    return server.count(":") == 1


def _str(value: Any) -> str:
    # Clients send JSON null for unset strings; Go reads null as "" (spec §1.2).
    return value if isinstance(value, str) else ""


def _port(value: Any) -> int:
    if isinstance(value, bool):
        return -1
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return -1


class ObjectRef(msgspec.Struct, frozen=True, kw_only=True):
    """Where one revision's bytes are. `endpoint` is `host:port`; `object` is the key ("" for
    zero-byte content). `size` and `sha256` (lowercase hex) are set when known. For protocol
    "ipfs", `cid` names the content ("" for zero-byte content) and `providers` are swarm
    multiaddrs (with `/p2p/<peer id>`) of nodes known to hold it."""

    protocol: str = "s3"
    bucket: str = ""
    object: str = ""
    endpoint: str = ""
    tls: bool = False
    region: str = ""
    size: int | None = None
    sha256: str | None = None
    cid: str = ""
    providers: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """Zero-byte content: nothing to fetch from a backend."""
        return self.size == 0 or not (self.cid if self.protocol == "ipfs" else self.object)

    def to_ipfsobject(self) -> dict[str, Any]:
        """The wire `ref.ipfsobject` (our extension, spec §1.9)."""
        return {"cid": self.cid, "size": self.size or 0, "providers": list(self.providers)}

    def to_s3object(self) -> dict[str, Any]:
        """The wire `ref.s3object` (spec §1.1), in pycolonies' form: `server`=host, `port`=int.
        Credentials are always "": secrets are never written into file rows."""
        server, port = split_endpoint(self.endpoint, self.tls) if self.endpoint else ("", 0)
        return {
            "server": server,
            "port": port,
            "tls": self.tls,
            "accesskey": "",
            "secretkey": "",
            "region": self.region,
            "encryptionkey": "",
            "encryptionalg": "",
            "object": self.object,
            "bucket": self.bucket,
        }

    def to_reference(self) -> dict[str, Any]:
        """The wire `ref` of a File: `{protocol, s3object}` (s3object is always present, as
        pycolonies needs), plus `ipfsobject` for protocol "ipfs"."""
        ref: dict[str, Any] = {"protocol": self.protocol, "s3object": self.to_s3object()}
        if self.protocol == "ipfs":
            ref["ipfsobject"] = self.to_ipfsobject()
        return ref

    @classmethod
    def from_s3object(
        cls,
        s3object: Mapping[str, Any] | None,
        *,
        protocol: str = "s3",
        size: int | None = None,
        sha256: str | None = None,
    ) -> ObjectRef:
        """Parse a wire `ref.s3object`. Accepts pycolonies' form (server=host, port=int) and the Go
        client's (server="host:port", port=-1). Any credentials in the dict are dropped."""
        obj = s3object or {}
        server = _str(obj.get("server"))
        port = _port(obj.get("port"))
        endpoint = f"{server}:{port}" if server and port > 0 and not _has_port(server) else server
        return cls(
            protocol=protocol or "s3",
            bucket=_str(obj.get("bucket")),
            object=_str(obj.get("object")),
            endpoint=endpoint,
            tls=obj.get("tls") is True,
            region=_str(obj.get("region")),
            size=size,
            sha256=sha256.lower() if sha256 else None,
        )

    @classmethod
    def from_reference(
        cls, ref: Mapping[str, Any] | None, *, size: int | None = None, sha256: str | None = None,
    ) -> ObjectRef:
        """Parse a wire `ref` (`{protocol, s3object[, ipfsobject]}`). An IPFS ref's size falls
        back to `ipfsobject.size`; providers that are not strings are dropped."""
        ref = ref or {}
        parsed = cls.from_s3object(ref.get("s3object"), protocol=_str(ref.get("protocol")), size=size, sha256=sha256)
        ipfs = ref.get("ipfsobject")
        if parsed.protocol != "ipfs" or not isinstance(ipfs, Mapping):
            return parsed
        providers = ipfs.get("providers")
        own_size = ipfs.get("size")
        return msgspec.structs.replace(
            parsed,
            cid=_str(ipfs.get("cid")).strip(),
            providers=tuple(p for p in providers if isinstance(p, str) and p) if isinstance(providers, list) else (),
            size=size if size is not None else own_size if isinstance(own_size, int) and not isinstance(own_size, bool) else None,
        )

    @classmethod
    def from_file(cls, file: Mapping[str, Any]) -> ObjectRef:
        """The ref of a wire File dict, with its `size` and (SHA-256) `checksum`."""
        size = file.get("size")
        checksum = _str(file.get("checksum"))
        alg = _str(file.get("checksumalg")).upper()
        return cls.from_reference(
            file.get("ref"),
            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            sha256=checksum if checksum and alg in ("", "SHA256", "SHA-256") else None,
        )


@runtime_checkable
class Storage(Protocol):
    """What CFS needs from a backend. Every read is verified against the expected SHA-256."""

    async def put_file(
        self, path: str | os.PathLike[str], *, key: str | None = None, stamp: FileStamp | None = None,
    ) -> ObjectRef:
        """Stream a file from disk; the ref carries the size and SHA-256 of the bytes sent.
        `key` defaults to `new_object_key()`. A `stamp` that still matches the file (size and
        mtime, before and after the transfer) may stand in for hashing it again."""
        ...

    async def put_bytes(self, data: bytes, *, key: str | None = None) -> ObjectRef:
        """Store `data`; the ref carries its size and SHA-256."""
        ...

    async def get_file(self, ref: ObjectRef, dest_path: str | os.PathLike[str], *, sha256: str) -> None:
        """Download to a temporary file beside `dest_path`, verify, then rename it into place.
        On any failure (ChecksumMismatch included) nothing is left behind."""
        ...

    async def get_bytes(self, ref: ObjectRef, *, sha256: str) -> bytes:
        """The object's bytes, verified."""
        ...

    async def stat(self, ref: ObjectRef) -> int | None:
        """The stored size, or None when the object is missing (0 for zero-byte refs)."""
        ...

    async def delete(self, ref: ObjectRef) -> None:
        """Remove the object; a missing object is not an error."""
        ...

    async def close(self) -> None:
        """Release connections and threads; idempotent."""
        ...


class PooledBackend:
    """What the storage backends share: their blocking client runs on a thread pool of its own,
    `async with` closes them, and `close()` (idempotent) shuts the client down off the loop."""

    def __init__(self, max_concurrency: int, thread_name_prefix: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix=thread_name_prefix)
        self._lock = threading.Lock()
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._shutdown)

    def _shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
