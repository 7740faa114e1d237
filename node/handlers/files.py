"""CFS: file revisions, labels and snapshots (cfs.md §1.2–1.3); the semantics live in cfs/files.py.

Only approved members of the colony (users and executors) may call these, as upstream: not the
colony owner, not the server owner.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from colonies import models
from colonies.cfs import files as cfs
from colonies.cfs import resolve
from colonies.messages import (
    AddFileMsg,
    CreateSnapshotMsg,
    GetFileLabelsMsg,
    GetFileMsg,
    GetFilesMsg,
    GetSnapshotMsg,
    GetSnapshotsMsg,
    RemoveAllSnapshotsMsg,
    RemoveFileMsg,
    RemoveSnapshotMsg,
    ResolveFilesMsg,
)
from colonies.node.rpc import EMPTY, Call, rpc
from colonies.wire import RPCError

T = TypeVar("T")
STATUS = {"invalid": 400, "missing": 404, "taken": 409, "failed": 500}


async def _run(call: Call, colonyname: str | None, op: Callable[[Connection], T], *, write: bool = False, listing: bool = False) -> T:
    """Authorise the caller as a member of the colony, run the CFS operation, map its errors.
    A listing reads as many rows as the colony has files: off the event loop."""
    call.require_member(cfs.text(colonyname))
    try:
        return await (call.node.db.write(op) if write else call.node.db.read(op, offloop=listing))
    except cfs.CFSError as err:
        raise RPCError(STATUS[err.kind], err.message) from None


@rpc("addfilemsg", AddFileMsg)
async def add_file(call: Call, msg: AddFileMsg) -> models.File:
    if msg.file is None:
        raise RPCError(400, "Failed to add file, file is missing")
    file = msg.file
    now = call.now()
    added = await _run(call, file.colonyname, lambda conn: cfs.add_file(conn, file, now), write=True)
    call.node.cfs_changed()
    return added


@rpc("getfilemsg", GetFileMsg)
async def get_file(call: Call, msg: GetFileMsg) -> list[models.File]:
    t = cfs.text
    return await _run(call, msg.colonyname, lambda conn: cfs.get_file(conn, t(msg.colonyname), t(msg.fileid), t(msg.label), t(msg.name), msg.latest))


@rpc("getfilesmsg", GetFilesMsg)
async def get_files(call: Call, msg: GetFilesMsg) -> list[models.FileData | models.PlainFileData]:
    return await _run(call, msg.colonyname, lambda conn: cfs.get_files(conn, cfs.text(msg.colonyname), cfs.text(msg.label)), listing=True)


@rpc("getfilelabelsmsg", GetFileLabelsMsg)
async def get_file_labels(call: Call, msg: GetFileLabelsMsg) -> list[models.Label] | None:
    return await _run(call, msg.colonyname, lambda conn: cfs.get_labels(conn, cfs.text(msg.colonyname), cfs.text(msg.name), msg.exact), listing=True)


@rpc("removefilemsg", RemoveFileMsg)
async def remove_file(call: Call, msg: RemoveFileMsg) -> dict[str, Any]:
    t = cfs.text
    await _run(call, msg.colonyname, lambda conn: cfs.remove_file(conn, t(msg.colonyname), t(msg.fileid), t(msg.label), t(msg.name)), write=True)
    call.node.cfs_changed()
    return EMPTY


@rpc("createsnapshotmsg", CreateSnapshotMsg)
async def create_snapshot(call: Call, msg: CreateSnapshotMsg) -> models.Snapshot:
    t = cfs.text
    now = call.now()
    return await _run(call, msg.colonyname, lambda conn: cfs.create_snapshot(conn, t(msg.colonyname), t(msg.label), t(msg.name), now), write=True)


@rpc("getsnapshotmsg", GetSnapshotMsg)
async def get_snapshot(call: Call, msg: GetSnapshotMsg) -> models.Snapshot:
    t = cfs.text
    return await _run(call, msg.colonyname, lambda conn: cfs.get_snapshot(conn, t(msg.colonyname), t(msg.snapshotid), t(msg.name)))


@rpc("getsnapshotsmsg", GetSnapshotsMsg)
async def get_snapshots(call: Call, msg: GetSnapshotsMsg) -> list[models.Snapshot]:
    return await _run(call, msg.colonyname, lambda conn: cfs.get_snapshots(conn, cfs.text(msg.colonyname)), listing=True)


@rpc("removesnapshotmsg", RemoveSnapshotMsg)
async def remove_snapshot(call: Call, msg: RemoveSnapshotMsg) -> dict[str, Any]:
    t = cfs.text
    await _run(call, msg.colonyname, lambda conn: cfs.remove_snapshot(conn, t(msg.colonyname), t(msg.snapshotid), t(msg.name)), write=True)
    return EMPTY


@rpc("removeallsnapshotmsg", RemoveAllSnapshotsMsg)
async def remove_all_snapshots(call: Call, msg: RemoveAllSnapshotsMsg) -> dict[str, Any]:
    await _run(call, msg.colonyname, lambda conn: cfs.remove_all_snapshots(conn, cfs.text(msg.colonyname)), write=True)
    return EMPTY


@rpc("resolvefilesmsg", ResolveFilesMsg)
async def resolve_files(call: Call, msg: ResolveFilesMsg) -> list[models.ResolvedFile]:
    t = cfs.text
    colony, offset, count = t(msg.colonyname), msg.offset, msg.count
    if msg.snapshotid:
        found = await _run(call, colony, lambda conn: resolve.resolve_snapshot(conn, colony, t(msg.snapshotid), offset, count), listing=True)
    else:
        found = await _run(call, colony, lambda conn: resolve.resolve_label(conn, colony, t(msg.label), offset, count), listing=True)
    return await resolve.add_providers(found, call.node.cid_providers)
