"""The hashing adapters and atomic destination files, without any S3."""
from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path

import pytest

from colonies.cfs.storage import is_partial
from colonies.cfs.storage.atomic import AtomicFile
from colonies.cfs.storage.streams import HashingReader, HashingWriter, Stopped

DATA = bytes(range(256)) * 100


def test_reader_hashes_each_byte_once_despite_rereads() -> None:
    reader = HashingReader(io.BytesIO(DATA), threading.Event())
    reader.read(1000)
    reader.seek(0)  # a client rewinding to sign or retry
    while reader.read(777):
        pass
    assert reader.complete(len(DATA))
    assert reader.hexdigest() == hashlib.sha256(DATA).hexdigest()


def test_reader_gap_is_reported() -> None:
    reader = HashingReader(io.BytesIO(DATA), threading.Event())
    reader.seek(10)
    reader.read()
    assert not reader.complete(len(DATA))


def test_reader_and_writer_stop() -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(Stopped):
        HashingReader(io.BytesIO(DATA), stop).read(1)
    with pytest.raises(Stopped):
        HashingWriter(None, stop).write(b"x")


def test_writer_is_non_seekable_and_hashes() -> None:
    sink = HashingWriter(None, threading.Event())
    sink.write(DATA[:10])
    sink.write(DATA[10:])
    assert not sink.seekable()
    assert sink.getvalue() == DATA and sink.size == len(DATA)
    assert sink.hexdigest() == hashlib.sha256(DATA).hexdigest()


def test_atomic_file_commit_and_abort(tmp_path: Path) -> None:
    dest = tmp_path / "sub" / "f.bin"
    with AtomicFile(dest) as out:
        out.file.write(b"one")
        assert is_partial(out.temp.name) and not dest.exists()
        out.commit()
    assert dest.read_bytes() == b"one"
    with pytest.raises(RuntimeError), AtomicFile(dest) as out:
        out.file.write(b"two")
        raise RuntimeError("interrupted")
    assert dest.read_bytes() == b"one"
    assert [p.name for p in dest.parent.iterdir()] == ["f.bin"]
