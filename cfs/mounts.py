"""Executor mounts: a function spec's `fs` before and after its run (spec cfs.md §1.8).

`{processid}` is replaced in every dir and label; dirs live under the executor's mount root.
Before the run, snapshot mounts are downloaded and sync dirs synced with
`onconflicts.onstart.keeplocal`; after a successful run, the sync dirs are synced again with
`onconflicts.onclose.keeplocal` (new or changed outputs become revisions).
"""
from __future__ import annotations

from pathlib import Path

import msgspec

from colonies.cfs.remote import NodeRemote, StorageStore, snapshot_revisions
from colonies.cfs.sync import RemoteFile, SyncEngine, download_snapshot
from colonies.client import AsyncClient
from colonies.models import Process, SnapshotMount, SyncDirMount


class MountError(Exception):
    """A mount could not be prepared or saved; the message says which and why (one line)."""


def _place(root: Path, dir: str, processid: str) -> Path:
    """The local directory of a mount, which must stay inside the mount root."""
    relative = dir.replace("{processid}", processid).lstrip("/")
    path = (root / relative).resolve()
    if path != root.resolve() and root.resolve() not in path.parents:
        raise MountError(f"fs dir {dir!r} leaves the executor's mount root")
    return path


class Mounts:
    def __init__(self, client: AsyncClient, colonyname: str, store: StorageStore, root: str | Path) -> None:
        self.client = client
        self.colonyname = colonyname
        self.store = store
        self.root = Path(root)
        self.engine = SyncEngine(NodeRemote(client, colonyname), store)

    @staticmethod
    def needed(process: Process) -> bool:
        fs = process.spec.fs
        return fs is not None and bool(fs.snapshots or fs.dirs)

    async def before(self, process: Process) -> None:
        fs = process.spec.fs
        if fs is None:
            return
        for snapshot in fs.snapshots or []:
            await self._download(snapshot, process.processid)
        for mount in fs.dirs or []:
            await self._sync(mount, process.processid, keeplocal=mount.onconflicts.onstart.keeplocal)

    async def after(self, process: Process) -> None:
        fs = process.spec.fs
        for mount in (fs.dirs or []) if fs is not None else []:
            await self._sync(mount, process.processid, keeplocal=mount.onconflicts.onclose.keeplocal)

    async def _download(self, mount: SnapshotMount, processid: str) -> None:
        if not mount.snapshotid:
            return  # as upstream: only snapshots created for the process are mounted
        dest = _place(self.root, mount.dir, processid)
        try:
            snapshot = await self.client.get_snapshot(self.colonyname, snapshotid=mount.snapshotid)
            revisions = await snapshot_revisions(self.client, self.colonyname, snapshot)
            files = [RemoteFile.from_file(msgspec.to_builtins(f)) for f in revisions]
            await download_snapshot(files, snapshot.label, dest, self.store)
        except MountError:
            raise
        except Exception as err:
            raise MountError(f"snapshot {mount.snapshotid} into {mount.dir}: {err}") from None

    async def _sync(self, mount: SyncDirMount, processid: str, *, keeplocal: bool) -> None:
        label = mount.label.replace("{processid}", processid)
        try:
            await self.engine.sync(_place(self.root, mount.dir, processid), label, keeplocal)
        except MountError:
            raise
        except Exception as err:
            raise MountError(f"sync of {mount.dir} with {label}: {err}") from None
