"""The sync engine's two sides bound to real parts: a node's CFS messages (`NodeRemote`, through
our SDK) and a byte store (`StorageStore`, over `cfs.storage.Storage`)."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec

from colonies import models
from colonies.cfs.storage import ObjectRef, Storage
from colonies.cfs.sync import RemoteFile
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


class StorageStore:
    """Bytes in a `Storage` (S3 today), addressed by the wire `ref` of a file revision."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def put_file(self, path: Path) -> dict[str, Any]:
        return (await self.storage.put_file(path)).to_reference()

    async def get_file(self, ref: dict[str, Any], dest_path: Path, *, sha256: str, size: int) -> None:
        located = ObjectRef.from_s3object(ref.get("s3object") or {}, protocol=ref.get("protocol") or "s3", size=size, sha256=sha256)
        await self.storage.get_file(located, dest_path, sha256=sha256)
