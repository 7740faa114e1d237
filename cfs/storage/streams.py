"""Blocking file-like adapters that hash the bytes passing through them, so a transfer is
checksummed in the same pass that moves it. They run on worker threads, never on the loop."""
from __future__ import annotations

import hashlib
import threading
from typing import BinaryIO


class Stopped(Exception):
    """The awaiting caller gave up (its task was cancelled); the transfer must stop."""


class HashingReader:
    """A seekable reader over `raw` that hashes every byte once, in order.

    S3 clients re-read a body after seeking back (payload signing, retries); bytes before the
    hashed prefix are not hashed again, so the digest is that of the bytes sent. A read that
    skips ahead leaves a gap, which `complete(size)` reports."""

    def __init__(self, raw: BinaryIO, stop: threading.Event) -> None:
        self._raw = raw
        self._stop = stop
        self._hash = hashlib.sha256()
        self._pos = raw.tell()
        self.hashed = 0

    def read(self, size: int = -1) -> bytes:
        if self._stop.is_set():
            raise Stopped()
        data = self._raw.read(size)
        start, end = self._pos, self._pos + len(data)
        if start <= self.hashed < end:
            self._hash.update(memoryview(data)[self.hashed - start:])
            self.hashed = end
        self._pos = end
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = self._raw.seek(offset, whence)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def complete(self, size: int) -> bool:
        return self.hashed == size

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class HashingWriter:
    """A write-only, non-seekable sink: transfer managers then deliver ranges in order, so the
    digest is computed while downloading."""

    def __init__(self, raw: BinaryIO | None, stop: threading.Event) -> None:
        self._raw = raw
        self._stop = stop
        self._hash = hashlib.sha256()
        self._chunks: list[bytes] | None = [] if raw is None else None
        self.size = 0

    def write(self, data: bytes) -> int:
        if self._stop.is_set():
            raise Stopped()
        self._hash.update(data)
        if self._raw is not None:
            self._raw.write(data)
        else:
            assert self._chunks is not None
            self._chunks.append(bytes(data))
        self.size += len(data)
        return len(data)

    def seekable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def getvalue(self) -> bytes:
        """The bytes written, when no file was given (in-memory reads)."""
        return b"".join(self._chunks or [])

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
