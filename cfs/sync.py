"""The CFS sync engine: a directory tree against a label and its sub-labels, with the plan semantics
of the upstream Go fs client (../shared/spec/cfs.md §1.5), plus a direction, atomic downloads,
bounded parallel transfers, progress reports and a dry-run table.

Per directory, the regular files directly in it (by SHA-256) meet the latest revision of every
name in its label: local-only names are uploaded, remote-only names downloaded, and a name whose
checksums differ is a conflict, which keeplocal resolves by uploading a new revision and otherwise
by overwriting the local file with the remote bytes. Nothing is ever deleted, on either side.
Sub-directories are sub-labels (`label + "/" + relpath`).

Where this deliberately differs from the Go client:
- remote sub-labels are found by prefix, so they are downloaded even when the root label has no
  files of its own (upstream asks `exact=true`, which answers null then);
- a remote name or label that is not a safe path segment is skipped, never written outside the
  directory;
- the first failed transfer stops new ones and waits for those in flight (upstream leaves them
  running in the background);
- a snapshot download looks for an unchanged file in that file's own sub-directory."""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from rich.filesize import decimal
from rich.table import Table
from rich.text import Text

from colonies.cfs.localfs import (
    LocalFile,
    scan_dir,
    sha256_file,
    sub_dirs,
    unsafe_name,
    unsafe_part,
    write_atomic,
    write_marker,
)
from colonies.cfs.storage.base import EMPTY_SHA256, FileStamp
from colonies.oneline import one_line

log = logging.getLogger(__name__)

Direction = Literal["both", "upload", "download"]
DIRECTIONS: tuple[Direction, ...] = ("both", "upload", "download")
Resolution = Literal["replace-remote", "replace-local", "skip"]
T = TypeVar("T")
R = TypeVar("R")


class SyncError(Exception):
    """A sync step failed; the message is one line and names the file, directory or label."""


@dataclass(frozen=True)
class RemoteFile:
    """One revision of a file in CFS. `ref` is the wire `ref` object, opaque to the engine and
    handed back to `Store.get_file`. `fileid` is "" where the wire gives none (`getfilesmsg`)."""

    name: str
    checksum: str  # sha256, hex
    size: int
    fileid: str
    ref: dict[str, Any]
    label: str = ""

    @classmethod
    def from_file(cls, file: Mapping[str, Any]) -> RemoteFile:
        """From a wire `File` (addfilemsg / getfilemsg replies); JSON null reads as ""."""
        return cls(
            name=file.get("name") or "",
            checksum=file.get("checksum") or "",
            size=file.get("size") or 0,
            fileid=file.get("fileid") or "",
            ref=dict(file.get("ref") or {}),
            label=file.get("label") or "",
        )

    @classmethod
    def from_filedata(cls, data: Mapping[str, Any], label: str) -> RemoteFile:
        """From a wire `FileData` (getfilesmsg), which carries the S3 object key (the ref names it
        as the Go client reads it: its own bucket plus `ref.s3object.object`) and, from our node,
        the `ipfsobject` of a file with a CID."""
        ref: dict[str, Any] = {"protocol": "s3", "s3object": {"object": data.get("s3filename") or ""}}
        if ipfs := data.get("ipfsobject"):
            ref["ipfsobject"] = dict(ipfs)
            if not ref["s3object"]["object"]:
                ref["protocol"] = "ipfs"
        return cls(data.get("name") or "", data.get("checksum") or "", data.get("size") or 0, "", ref, label)


class Remote(Protocol):
    """File metadata on the node (the CFS msgtypes), for one colony and identity."""

    async def files(self, label: str) -> list[RemoteFile]:
        """The latest revision of every name directly in `label`, not in its sub-labels
        (getfilesmsg). Each RemoteFile has `label` set to `label`."""
        ...

    async def labels(self, prefix: str, exact: bool) -> list[tuple[str, int]]:
        """(label, revision count) pairs as getfilelabelsmsg answers: exact=False gives every label
        starting with `prefix` (a plain string prefix); exact=True gives `prefix` itself and its
        sub-labels, or [] when `prefix` has no files of its own (upstream's null). Any order."""
        ...

    async def add_file(self, label: str, name: str, size: int, checksum: str, ref: dict[str, Any]) -> RemoteFile:
        """A new revision (addfilemsg with checksumalg "SHA256"); returns the stored file."""
        ...


@dataclass(frozen=True)
class Stored:
    """What an upload stored: the wire `ref` to send with addfilemsg, and the size and SHA-256 of
    the bytes sent (which differ from the plan's if the file changed in between)."""

    ref: dict[str, Any]
    size: int
    sha256: str


class Store(Protocol):
    """File bytes (S3, later IPFS)."""

    async def put_file(self, path: Path, stamp: FileStamp | None = None) -> Stored:
        """Stores the bytes of `path`. For a zero-byte file it may store nothing (as upstream)
        but still returns a valid ref. `stamp` is what the plan learnt of the file (see
        `FileStamp`)."""
        ...

    async def get_file(self, ref: dict[str, Any], dest_path: Path, *, sha256: str, size: int) -> None:
        """Writes the bytes `ref` names to `dest_path`, replacing it: into a temporary file in the
        same directory (`colonies.cfs.storage.atomic.AtomicFile`, whose names listings skip),
        verified against `sha256` and `size`, then renamed. Raises on any failure or mismatch, leaving `dest_path` untouched and no temporary
        file behind. The engine never calls it for a zero-byte file with the empty checksum."""
        ...


@dataclass(frozen=True)
class SyncProgress:
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    last: Path | None = None  # the file that has just finished


# Called on the event loop once before the first transfer and after each one; must not block.
ProgressCallback = Callable[[SyncProgress], None]


@dataclass(frozen=True)
class SyncResult:
    uploaded: tuple[RemoteFile, ...] = ()  # the node's replies, by label and name
    downloaded: tuple[Path, ...] = ()
    unchanged: tuple[Path, ...] = ()  # snapshot files already present with the same checksum
    bytes: int = 0


@dataclass(frozen=True)
class Conflict:
    local: LocalFile
    remote: RemoteFile


@dataclass(frozen=True)
class Skipped:
    name: str
    reason: str


@dataclass(frozen=True)
class Transfer:
    upload: bool
    label: str
    path: Path  # the local file: the source of an upload, the destination of a download
    size: int
    checksum: str
    ref: dict[str, Any] = field(default_factory=dict)  # what a download reads
    stamp: FileStamp | None = None  # what the plan learnt of an upload's source

    def describe(self) -> str:
        return f"upload of {self.path} to {self.label}" if self.upload else f"download of {self.path} from {self.label}"


@dataclass(frozen=True)
class SyncPlan:
    """What syncing one directory with one label would do. `uploads` and `downloads` are the
    one-sided names (already empty where `direction` forbids them); `conflicts` are all of them,
    whichever way `resolution` takes them."""

    label: str
    dir: Path
    keeplocal: bool
    direction: Direction
    uploads: tuple[LocalFile, ...] = ()
    downloads: tuple[RemoteFile, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    skipped: tuple[Skipped, ...] = ()  # remote names that cannot be downloaded here

    @property
    def resolution(self) -> Resolution:
        if self.keeplocal:
            return "skip" if self.direction == "download" else "replace-remote"
        return "skip" if self.direction == "upload" else "replace-local"

    def transfers(self) -> list[Transfer]:
        uploads, downloads = list(self.uploads), list(self.downloads)
        if self.resolution == "replace-remote":
            uploads += [conflict.local for conflict in self.conflicts]
        elif self.resolution == "replace-local":
            downloads += [conflict.remote for conflict in self.conflicts]
        return [
            *(Transfer(True, self.label, file.path, file.size, file.checksum, stamp=file.stamp) for file in sorted(uploads, key=_name)),
            *(self._download(file) for file in sorted(downloads, key=_name)),
        ]

    def _download(self, file: RemoteFile) -> Transfer:
        return Transfer(False, self.label, self.dir / file.name, file.size, file.checksum, file.ref)


def _name(file: LocalFile | RemoteFile) -> str:
    return file.name


def normalize_label(label: str) -> str:
    """As the Go CLI: trailing and leading "/" trimmed, one leading "/" added ("" gives "/")."""
    return "/" + label.strip("/")


def sub_label(label: str, rel: str) -> str:
    """The label of the directory `rel` (posix, relative) under the directory of `label`."""
    return f"{label.rstrip('/')}/{rel}" if rel else label


def label_suffix(root: str, label: str) -> str | None:
    """The relative posix directory of `label` under `root` ("" for `root` itself), or None when
    `label` is not below `root` or has a segment that cannot be a directory name."""
    if label == root:
        return ""
    prefix = root if root == "/" else root + "/"
    if not label.startswith(prefix):
        return None
    rel = label[len(prefix):]
    return None if any(unsafe_part(part) for part in rel.split("/")) else rel


def build_plan(
    directory: Path, label: str, local: Iterable[LocalFile], remote: Iterable[RemoteFile], *,
    keeplocal: bool, direction: Direction, occupied: Collection[str] = (),
) -> SyncPlan:
    """The plan for one directory from both listings (no I/O); `occupied` are local names taken by
    something other than a regular file."""
    mine = {file.name: file for file in local}
    theirs = {file.name: file for file in remote}
    downloads: list[RemoteFile] = []
    conflicts: list[Conflict] = []
    skipped: list[Skipped] = []
    for name in sorted(theirs):
        file = theirs[name]
        if reason := unsafe_name(name):
            skipped.append(Skipped(name, reason))
        elif name in occupied:
            skipped.append(Skipped(name, "a local directory or link has this name"))
        elif name not in mine:
            downloads.append(file)
        elif mine[name].checksum != file.checksum.lower():
            conflicts.append(Conflict(mine[name], file))
    uploads = [mine[name] for name in sorted(mine) if name not in theirs]
    return SyncPlan(
        label, directory, keeplocal, direction,
        uploads=() if direction == "download" else tuple(uploads),
        downloads=() if direction == "upload" else tuple(downloads),
        conflicts=tuple(conflicts),
        skipped=() if direction == "upload" else tuple(skipped),
    )


class SyncEngine:
    def __init__(self, remote: Remote, store: Store) -> None:
        self.remote = remote
        self.store = store

    async def plan_dir(
        self, dir: str | os.PathLike[str], label: str, keeplocal: bool, direction: Direction = "both",
    ) -> SyncPlan:
        """The plan for the files directly in `dir` (a missing dir is empty) against `label`."""
        _check_direction(direction)
        directory, label = Path(dir), normalize_label(label)
        local = await _explained(f"reading {directory}", asyncio.to_thread(scan_dir, directory))
        remote = await _explained(f"listing label {label}", self.remote.files(label))
        return build_plan(
            directory, label, local.files, remote, keeplocal=keeplocal, direction=direction, occupied=local.others,
        )

    async def plan_tree(
        self, dir: str | os.PathLike[str], label: str, keeplocal: bool, direction: Direction = "both", *,
        parallel: int = 8,
    ) -> list[SyncPlan]:
        """One plan per local directory under `dir` (itself included) and per remote sub-label of
        `label` without one, sorted by directory."""
        _check_direction(direction)
        root, label = Path(dir), normalize_label(label)
        rels = set(await _explained(f"reading {root}", asyncio.to_thread(sub_dirs, root)))
        if direction != "upload":  # remote-only sub-labels could only download
            rels |= await self._remote_sub_dirs(label)

        async def plan(rel: str) -> SyncPlan:
            return await self.plan_dir(root / rel, sub_label(label, rel), keeplocal, direction)

        return await _bounded(sorted(rels), plan, parallel)

    async def apply(
        self, plans: Iterable[SyncPlan], *, parallel: int = 8, progress: ProgressCallback | None = None,
    ) -> SyncResult:
        """`mkdir -p` and the `.cfs` marker for every plan, then its transfers, `parallel` at a
        time. The first failure stops new transfers, waits for those in flight and raises."""
        plans = list(plans)
        for plan in plans:
            await _explained(f"preparing {plan.dir}", asyncio.to_thread(write_marker, plan.dir, plan.label))
        transfers = [transfer for plan in plans for transfer in plan.transfers()]
        results = await _run(transfers, self._transfer, parallel, progress)
        return SyncResult(
            uploaded=tuple(sorted((file for file in results if file), key=lambda file: (file.label, file.name))),
            downloaded=tuple(sorted(transfer.path for transfer in transfers if not transfer.upload)),
            bytes=sum(transfer.size for transfer in transfers),
        )

    async def sync(
        self, dir: str | os.PathLike[str], label: str, keeplocal: bool, direction: Direction = "both", *,
        parallel: int = 8, progress: ProgressCallback | None = None,
    ) -> SyncResult:
        plans = await self.plan_tree(dir, label, keeplocal, direction, parallel=parallel)
        return await self.apply(plans, parallel=parallel, progress=progress)

    async def _remote_sub_dirs(self, label: str) -> set[str]:
        prefix = label if label == "/" else label + "/"
        found = await _explained(f"listing sub-labels of {label}", self.remote.labels(prefix, False))
        rels = set()
        for name, _ in found:
            rel = label_suffix(label, name)
            if rel is not None:
                rels.add(rel)
            elif name.startswith(prefix):  # others only matched the server's LIKE wildcards
                log.warning("skipping remote label %r: not a safe sub-directory of %s", name, label)
        return rels

    async def _transfer(self, transfer: Transfer) -> RemoteFile | None:
        if not transfer.upload:
            await _fetch(self.store, transfer)
            return None
        stored = await self.store.put_file(transfer.path, transfer.stamp)
        return await self.remote.add_file(transfer.label, transfer.path.name, stored.size, stored.sha256, stored.ref)


async def download_snapshot(
    files: Iterable[RemoteFile], snapshot_label: str, dest_dir: str | os.PathLike[str], store: Store, *,
    parallel: int = 8, progress: ProgressCallback | None = None,
) -> SyncResult:
    """Each file (with its `label`) into `dest_dir` plus its label's suffix under `snapshot_label`,
    unless a file with the same checksum is already there."""
    root = normalize_label(snapshot_label)
    targets: dict[Path, Transfer] = {}
    for file in sorted(files, key=lambda file: (file.label, file.name)):
        dest = _snapshot_dest(file, root, Path(dest_dir))
        targets[dest] = Transfer(False, file.label, dest, file.size, file.checksum, file.ref)
    todo, unchanged = await _explained(f"checking {dest_dir}", asyncio.to_thread(_split_unchanged, list(targets.values())))

    async def fetch(transfer: Transfer) -> None:
        await _fetch(store, transfer)

    await _run(todo, fetch, parallel, progress)
    return SyncResult(
        downloaded=tuple(transfer.path for transfer in todo),
        unchanged=tuple(unchanged),
        bytes=sum(transfer.size for transfer in todo),
    )


def _snapshot_dest(file: RemoteFile, root: str, dest_dir: Path) -> Path:
    rel = label_suffix(root, normalize_label(file.label))
    if rel is None:
        raise SyncError(f"file {file.name} has label {file.label!r}, which is not a safe sub-label of {root}")
    if reason := unsafe_name(file.name):
        raise SyncError(f"file {file.name!r} in label {file.label}: {reason}")
    return dest_dir / rel / file.name


def _split_unchanged(transfers: list[Transfer]) -> tuple[list[Transfer], list[Path]]:
    """(downloads still needed, files already present with the right checksum); makes the
    directories the downloads need."""
    todo: list[Transfer] = []
    unchanged: list[Path] = []
    for transfer in transfers:
        if transfer.path.is_file() and sha256_file(transfer.path)[0] == transfer.checksum.lower():
            unchanged.append(transfer.path)
        else:
            transfer.path.parent.mkdir(parents=True, exist_ok=True)
            todo.append(transfer)
    return todo, unchanged


async def fetch(store: Store, file: RemoteFile, dest: Path) -> None:
    """One revision's bytes to `dest`, verified and atomic (a zero-byte file needs no store)."""
    await _fetch(store, Transfer(False, file.label, dest, file.size, file.checksum, file.ref))


async def _fetch(store: Store, transfer: Transfer) -> None:
    if transfer.size == 0 and transfer.checksum.lower() == EMPTY_SHA256:
        await asyncio.to_thread(write_atomic, transfer.path, b"")
    else:
        await store.get_file(transfer.ref, transfer.path, sha256=transfer.checksum.lower(), size=transfer.size)


def render_plan(plans: Iterable[SyncPlan]) -> Table:
    """The dry-run table: one row per plan, totals in the caption."""
    table = Table(title="CFS sync plan")
    table.add_column("label")
    table.add_column("dir")
    for name in ("uploads", "downloads", "conflicts"):
        table.add_column(name, justify="right")
    table.add_column("resolution")
    table.add_column("skipped", justify="right")
    ups = downs = 0
    up_bytes = down_bytes = 0
    for plan in plans:
        table.add_row(
            Text(plan.label), Text(str(plan.dir)), str(len(plan.uploads)), str(len(plan.downloads)),
            str(len(plan.conflicts)), _resolution_text(plan), str(len(plan.skipped)),
        )
        for transfer in plan.transfers():
            if transfer.upload:
                ups, up_bytes = ups + 1, up_bytes + transfer.size
            else:
                downs, down_bytes = downs + 1, down_bytes + transfer.size
    table.caption = f"{ups} to upload ({decimal(up_bytes)}), {downs} to download ({decimal(down_bytes)})"
    return table


def _resolution_text(plan: SyncPlan) -> str:
    if plan.resolution != "skip":
        return plan.resolution
    return f"skip ({plan.direction} only)"


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")


async def _explained(what: str, pending: Awaitable[T]) -> T:
    """`pending`'s result; any failure becomes a SyncError saying what failed and why."""
    try:
        return await pending
    except SyncError:
        raise
    except Exception as error:
        raise SyncError(f"{what} failed: {one_line(error)}") from error


async def _bounded(
    items: Sequence[T], work: Callable[[T], Awaitable[R]], parallel: int,
    done: Callable[[T], None] | None = None,
) -> list[R]:
    """work(item) for every item, at most `parallel` at a time; results in the order of `items`.
    The first SyncError stops starting new items, waits for the ones in flight and is raised."""
    if parallel < 1:
        raise ValueError("parallel must be at least 1")
    results: list[Any] = [None] * len(items)
    pending = iter(enumerate(items))
    errors: list[SyncError] = []

    async def worker() -> None:
        for index, item in pending:  # one iterator shared by all workers: each item runs once
            try:
                results[index] = await work(item)
            except SyncError as error:
                errors.append(error)
                return
            if done:
                done(item)
            if errors:
                return

    async with asyncio.TaskGroup() as group:
        for _ in range(min(parallel, len(items))):
            group.create_task(worker())
    if errors:
        raise errors[0]
    return results


async def _run(
    transfers: Sequence[Transfer], work: Callable[[Transfer], Awaitable[R]], parallel: int,
    progress: ProgressCallback | None,
) -> list[R]:
    """The transfers through `_bounded`, each failure named by its transfer, with progress."""
    files = total = 0
    bytes_total = sum(transfer.size for transfer in transfers)

    def report(last: Path | None) -> None:
        if progress:
            progress(SyncProgress(files, len(transfers), total, bytes_total, last))

    def done(transfer: Transfer) -> None:
        nonlocal files, total
        files, total = files + 1, total + transfer.size
        report(transfer.path)

    async def one(transfer: Transfer) -> R:
        return await _explained(transfer.describe(), work(transfer))

    report(None)
    return await _bounded(transfers, one, parallel, done)
