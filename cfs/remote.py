"""The sync engine's two sides bound to real parts: a node's CFS messages (`NodeRemote`, through
our SDK) and a byte store (`StorageStore`, over `cfs.storage.Storage`)."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from colonies import models
from colonies.cfs.storage import ChecksumMismatch, FileStamp, ObjectRef, Storage, StorageError
from colonies.cfs.sync import RemoteFile, Stored
from colonies.client import AsyncClient
from colonies.wire import RPCError


class SnapshotBroken(Exception):
    """A revision a snapshot names is gone (removed after the snapshot was taken)."""


async def snapshot_revisions(client: AsyncClient, colonyname: str, snapshot: models.Snapshot) -> list[models.File]:
    """The file revisions a snapshot holds, fetched concurrently."""

    async def one(fileid: str) -> models.File:
        try:
            [file] = await client.get_file(colonyname, fileid=fileid)
        except (RPCError, ValueError):
            raise SnapshotBroken(f"snapshot {snapshot.name or snapshot.snapshotid}: file {fileid} no longer exists") from None
        return file

    return list(await asyncio.gather(*(one(fileid) for fileid in snapshot.fileids or [])))


class NodeRemote:
    """File metadata of one colony at a node, as the caller (a member) sees it."""

    def __init__(self, client: AsyncClient, colonyname: str) -> None:
        self.client = client
        self.colonyname = colonyname

    async def files(self, label: str) -> list[RemoteFile]:
        found = await self.client.get_files(self.colonyname, label)
        return [RemoteFile.from_filedata(msgspec.to_builtins(f), label) for f in found]

    async def labels(self, prefix: str, exact: bool) -> list[tuple[str, int]]:
        return [(label.name, label.files) for label in await self.client.get_file_labels(self.colonyname, prefix, exact)]

    async def add_file(self, label: str, name: str, size: int, checksum: str, ref: dict[str, Any]) -> RemoteFile:
        reference = msgspec.convert(ref, type=models.Reference)
        file = models.File(colonyname=self.colonyname, label=label, name=name, size=size, checksum=checksum, checksumalg="SHA256", ref=reference)
        return RemoteFile.from_file(msgspec.to_builtins(await self.client.add_file(file)))


ProviderLookup = Callable[[str], Awaitable[list[str]]]
IPFS_ATTEMPTS = 2  # per set of providers


class StorageStore:
    """Bytes in storage backends, addressed by the wire `ref` of a file revision.

    `StorageStore(s3)` is S3 alone; with `ipfs=` too, new bytes go to `put_to` ("s3" or "ipfs")
    and a read takes the file's CID from IPFS when it has one — from the providers its reference
    names, then from those `more_providers(cid)` finds (the node's resolution, the DHT) — and
    falls back to its S3 object when it is dual-homed. A checksum mismatch from one source is
    not kept and the next source is tried; the error names every source that failed."""

    def __init__(
        self, storage: Storage | None = None, *, ipfs: Storage | None = None, put_to: str = "",
        more_providers: ProviderLookup | None = None,
    ) -> None:
        if storage is None and ipfs is None:
            raise ValueError("a StorageStore needs S3 or IPFS storage")
        self.storage = storage
        self.ipfs = ipfs
        self.put_to = put_to or ("s3" if storage is not None else "ipfs")
        if self.put_to not in ("s3", "ipfs"):
            raise ValueError(f"new bytes go to s3 or ipfs, not {self.put_to!r}")
        if (self.storage if self.put_to == "s3" else self.ipfs) is None:
            raise ValueError(f"new bytes are to go to {self.put_to}, which is not configured")
        self.more_providers = more_providers

    async def put_file(self, path: Path, stamp: FileStamp | None = None) -> Stored:
        backend = self.storage if self.put_to == "s3" else self.ipfs
        assert backend is not None
        ref = await backend.put_file(path, stamp=stamp)
        return Stored(ref.to_reference(), ref.size or 0, ref.sha256 or "")

    async def get_file(self, ref: dict[str, Any], dest_path: Path, *, sha256: str, size: int) -> None:
        failures: list[str] = []
        ipfs = ref.get("ipfsobject") or {}
        cid = ipfs.get("cid") or ""
        if cid and self.ipfs is not None:
            providers = list(ipfs.get("providers") or [])
            if await self._from_ipfs(ref, providers, dest_path, sha256, size, failures):
                return
            if self.more_providers is not None:
                more = [p for p in await self.more_providers(cid) if p not in providers]
                if more and await self._from_ipfs(ref, more, dest_path, sha256, size, failures):
                    return
        s3object = ref.get("s3object") or {}
        if s3object.get("object") and self.storage is not None:
            located = ObjectRef.from_s3object(s3object, protocol="s3", size=size, sha256=sha256)
            try:
                await self.storage.get_file(located, dest_path, sha256=sha256)
                return
            except StorageError as err:
                failures.append(str(err))
        if failures:
            raise StorageError("; ".join(failures))
        if not cid and not s3object.get("object"):
            raise StorageError(f"the reference of {dest_path.name} names neither a CID nor an S3 object")
        missing = "IPFS" if cid and not s3object.get("object") else "S3" if not cid else "IPFS or S3"
        raise StorageError(f"cannot read {dest_path.name}: no {missing} storage configured")

    async def _from_ipfs(self, ref: dict[str, Any], providers: list[str], dest: Path, sha256: str, size: int, failures: list[str]) -> bool:
        assert self.ipfs is not None
        # a dual-homed file says protocol "s3": its CID is read as an IPFS reference all the same
        ipfsobject = {**(ref.get("ipfsobject") or {}), "providers": providers}
        located = ObjectRef.from_reference({**ref, "protocol": "ipfs", "ipfsobject": ipfsobject}, size=size, sha256=sha256)
        for attempt in range(IPFS_ATTEMPTS):
            try:
                await self.ipfs.get_file(located, dest, sha256=sha256)
                return True
            except ChecksumMismatch as err:  # the CID's bytes are wrong: asking again will not help
                failures.append(str(err))
                return False
            except StorageError as err:
                # a fetch that timed out is asked once more: it connects to the providers anew
                if attempt == IPFS_ATTEMPTS - 1:
                    failures.append(str(err))
        return False


async def delete_objects(storage: Storage, revisions: list[models.File], *, parallel: int = 8) -> None:
    """The stored bytes of every revision (zero-byte revisions have none), `parallel` at a time."""
    semaphore = asyncio.Semaphore(parallel)

    async def one(file: models.File) -> None:
        ref = ObjectRef.from_file(msgspec.to_builtins(file))
        if not ref.is_empty:
            async with semaphore:
                await storage.delete(ref)

    await asyncio.gather(*(one(file) for file in revisions))


@dataclass(frozen=True)
class LabelRemoval:
    labels: tuple[str, ...]  # the label and its sub-labels that had files
    names: int  # files (label + name), each with all its revisions
    revisions: int


def in_label_tree(label: str, name: str) -> bool:
    """Whether `name` is `label` or one of its sub-labels (by whole segments: /a holds /a/b, not /ab)."""
    return label == "/" or name == label or name.startswith(label + "/")


async def remove_label_tree(client: AsyncClient, storage: Storage, colonyname: str, label: str, *, parallel: int = 8) -> LabelRemoval:
    """Every revision of every file under `label` and its sub-labels: stored bytes first, then the
    metadata of each name, so an interrupted removal can simply be run again. Unlike upstream, the
    bytes of older revisions go too (upstream deletes only the latest's and orphans the rest)."""
    labels = sorted(found.name for found in await client.get_file_labels(colonyname, label, False) if in_label_tree(label, found.name))
    semaphore = asyncio.Semaphore(parallel)

    async def one(sub: str, name: str) -> int:
        async with semaphore:
            files = await client.get_file(colonyname, label=sub, name=name, latest=False)
            await delete_objects(storage, files, parallel=1)
            await client.remove_file(colonyname, label=sub, name=name)
            return len(files)

    names = revisions = 0
    for sub in labels:
        counts = await asyncio.gather(*(one(sub, data.name or "") for data in await client.get_files(colonyname, sub)))
        names, revisions = names + len(counts), revisions + sum(counts)
    return LabelRemoval(tuple(labels), names, revisions)
