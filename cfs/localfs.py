"""The local side of CFS sync: listing a directory, SHA-256, and writes that never leave a partial
file under its final name. Everything here blocks; async callers run it with `asyncio.to_thread`.

Temporary files follow the storage backends' convention (`colonies.cfs.storage.atomic`: a hidden
`*.cfspart` beside the destination, renamed over it once complete). Listings skip them and the
`.cfs` marker, so a partial file left by a killed process is never uploaded."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from colonies.cfs.storage.atomic import AtomicFile, is_partial
from colonies.cfs.storage.base import FileStamp

MARKER = ".cfs"
CHUNK = 64 * 1024


@dataclass(frozen=True)
class LocalFile:
    name: str
    path: Path
    size: int
    checksum: str  # sha256, lowercase hex
    mtime_ns: int = 0  # when `checksum` was taken; 0 when the file changed while being hashed

    @property
    def stamp(self) -> FileStamp:
        return FileStamp(self.size, self.mtime_ns, self.checksum)


def is_internal(name: str) -> bool:
    """True for names sync owns and never transfers: the marker and temporary files."""
    return name == MARKER or is_partial(name)


def unsafe_name(name: str) -> str | None:
    """Why a remote file name cannot be written directly in a directory, or None if it can."""
    if name in ("", ".", ".."):
        return "not a file name"
    if "/" in name or "\\" in name or "\0" in name:
        return "contains a path separator"
    if is_internal(name):
        return "reserved by sync"
    return None


def unsafe_part(part: str) -> bool:
    """True for a label segment that cannot be a sub-directory name."""
    return part in ("", ".", "..") or "\\" in part or "\0" in part


def sha256_file(path: Path) -> tuple[str, int]:
    """(sha256 hex, bytes read) of a file, in buffered reads."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    size = 0
    with open(path, "rb", buffering=0) as stream:
        while count := stream.readinto(buffer):
            digest.update(view[:count])
            size += count
    return digest.hexdigest(), size


@dataclass(frozen=True)
class Listing:
    files: list[LocalFile]  # sorted by name
    others: frozenset[str]  # names taken by anything else: directories, symlinks, devices


def scan_dir(directory: Path) -> Listing:
    """The regular files directly in `directory` (no symlinks, no recursion), each with its
    SHA-256. A missing directory is empty; a file deleted while scanning is left out."""
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except FileNotFoundError:
        return Listing([], frozenset())
    files, others = [], set()
    for entry in entries:
        if is_internal(entry.name):
            continue
        if not entry.is_file(follow_symlinks=False):
            others.add(entry.name)
            continue
        path = Path(entry.path)
        try:
            before = entry.stat(follow_symlinks=False)
            checksum, size = sha256_file(path)
            after = path.stat()
        except FileNotFoundError:
            continue
        unchanged = (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns) and after.st_size == size
        files.append(LocalFile(entry.name, path, size, checksum, after.st_mtime_ns if unchanged else 0))
    return Listing(files, frozenset(others))


def sub_dirs(root: Path) -> list[str]:
    """Every directory under `root` as a posix path relative to it, sorted; "" is `root` itself
    (also when it does not exist). Symlinked directories are not followed."""
    found = [""]
    if not root.is_dir():
        return found

    def fail(error: OSError) -> None:
        raise error

    for current, dirs, _ in os.walk(root, onerror=fail):
        base = Path(current).relative_to(root)
        found.extend((base / name).as_posix() for name in dirs if not Path(current, name).is_symlink())
    return sorted(found)


def write_atomic(dest: Path, data: bytes) -> None:
    with AtomicFile(dest) as out:
        out.file.write(data)
        out.commit()


def write_marker(directory: Path, label: str) -> None:
    """`mkdir -p directory` and `directory/.cfs` = {"label":"<label>"}, as the Go client writes it
    (no spaces, no newline); left alone when it already says so."""
    directory.mkdir(parents=True, exist_ok=True)
    content = json.dumps({"label": label}, ensure_ascii=False, separators=(",", ":")).encode()
    marker = directory / MARKER
    try:
        if marker.read_bytes() == content:
            return
    except FileNotFoundError:
        pass
    write_atomic(marker, content)

