"""Data that follows forwarded work (docs/federation.md, "Data").

A process whose spec mounts CFS files (`spec.fs`) is forwarded with those files: the origin
resolves its mounts when it forwards (so what runs elsewhere reads what the user saw when it was
forwarded), ships the file revisions (and the snapshots) with the process, and the receiving node
adopts them into its own CFS under the same colony, labels and file ids, so the executor's mounts
find them as ordinary files and fetch the bytes by content address (IPFS) or from S3. When the
process ends, the receiver reports the latest revisions under its sync-dir labels with the result,
and the origin adopts those that are new, so its users list and download the outputs at home.

`{processid}` in a mount's label or dir is replaced by the origin's process id before the spec
leaves, so it means the id the user sees wherever the process runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import msgspec
from sqlalchemy.engine import Connection

from colonies import models
from colonies.cfs import files as cfs
from colonies.cfs.sync import normalize_label

MAX_FILES = 10_000  # revisions shipped with one process, or reported back for one


class TooManyFiles(Exception):
    """A process mounts more files than one forward may carry."""


@dataclass
class Shipment:
    """The CFS inputs of one forwarded process (`Forward.files` and `Forward.snapshots`)."""

    files: list[models.File] = field(default_factory=list)
    snapshots: list[models.Snapshot] = field(default_factory=list)


def _fill(text: str, processid: str) -> str:
    return text.replace("{processid}", processid)


def pin_process_ids(spec: models.FunctionSpec, processid: str) -> models.FunctionSpec:
    """A copy of the spec with `{processid}` in every mount's label and dir replaced."""
    if spec.fs is None:
        return spec
    spec = msgspec.json.decode(msgspec.json.encode(spec), type=models.FunctionSpec)
    fs = spec.fs
    assert fs is not None
    for snapshot in fs.snapshots or []:
        snapshot.label, snapshot.dir = _fill(snapshot.label, processid), _fill(snapshot.dir, processid)
    for mount in fs.dirs or []:
        mount.label, mount.dir = _fill(mount.label, processid), _fill(mount.dir, processid)
    return spec


def spec_of(process: models.Process) -> models.FunctionSpec | None:
    """The process's spec if it mounts CFS files, else None (a stored spec is raw JSON)."""
    spec: object = process.spec
    if isinstance(spec, msgspec.Raw):
        raw = bytes(spec)
        if b'"dirs"' not in raw and b'"snapshots"' not in raw:
            return None
        spec = msgspec.json.decode(raw, type=models.FunctionSpec)
    assert isinstance(spec, models.FunctionSpec)
    return spec if has_mounts(spec) else None


def has_mounts(spec: models.FunctionSpec) -> bool:
    return spec.fs is not None and bool(spec.fs.snapshots or spec.fs.dirs)


def sync_labels(spec: models.FunctionSpec) -> list[str]:
    return [normalize_label(mount.label) for mount in (spec.fs.dirs or [])] if spec.fs else []


def inputs_of(conn: Connection, colonyname: str, spec: models.FunctionSpec) -> Shipment:
    """What a (pinned) spec mounts: the latest revisions under each sync-dir label, and each
    snapshot with the revisions it froze. Raises TooManyFiles past MAX_FILES."""
    shipment = Shipment()
    seen: set[str] = set()

    def add(files: list[models.File]) -> None:
        for file in files:
            if file.fileid not in seen:
                seen.add(file.fileid or "")
                shipment.files.append(file)
        if len(shipment.files) > MAX_FILES:
            raise TooManyFiles(f"the process mounts more than {MAX_FILES} files")

    for label in sync_labels(spec):
        add(cfs.latest_under(conn, colonyname, label, MAX_FILES + 1))
    for mount in (spec.fs.snapshots or []) if spec.fs else []:
        if not mount.snapshotid:
            continue
        try:
            snapshot = cfs.get_snapshot(conn, colonyname, mount.snapshotid, "")
        except cfs.CFSError:
            continue  # missing here: the executor's mount fails there with the reason
        shipment.snapshots.append(snapshot)
        frozen = []
        for fileid in snapshot.fileids or []:
            try:
                frozen += cfs.get_file(conn, colonyname, fileid, "", "", True)
            except cfs.CFSError:
                pass  # removed since: the mount fails there, naming it
        add(frozen)
    return shipment


def adopt_inputs(conn: Connection, colonyname: str, shipment: Shipment, now: int) -> None:
    """At the receiving node, inside the transaction that accepts the forward."""
    cfs.adopt_files(conn, colonyname, shipment.files, now)
    for snapshot in shipment.snapshots:
        cfs.adopt_snapshot(conn, colonyname, snapshot, now)


def outputs_of(conn: Connection, colonyname: str, spec: models.FunctionSpec) -> list[models.File]:
    """At the receiving node when the process ended: the latest revisions under its sync dirs."""
    found: dict[str, models.File] = {}
    for label in sync_labels(spec):
        for file in cfs.latest_under(conn, colonyname, label, MAX_FILES):
            found.setdefault(file.fileid or "", file)
    return list(found.values())[:MAX_FILES]


def under(label: str, roots: list[str]) -> bool:
    return any(label == root or root == "/" or label.startswith(root + "/") for root in roots)


def adopt_outputs(conn: Connection, colonyname: str, spec: models.FunctionSpec, files: list[models.File], now: int) -> list[str]:
    """At the origin, in the transaction that applies the result: the reported revisions that
    lie under the process's own sync-dir labels (a peer cannot write anywhere else)."""
    roots = sync_labels(spec)
    allowed = [f for f in files if under(cfs.text(f.label), roots) and cfs.text(f.colonyname) in ("", colonyname)]
    return cfs.adopt_files(conn, colonyname, allowed, now)


@dataclass
class Prepared:
    """A forward's spec as it leaves (ids pinned) and its inputs, or why it cannot leave."""

    spec: bytes
    inputs: Shipment = field(default_factory=Shipment)
    error: str = ""


def prepare_forward(conn: Connection, colonyname: str, processid: str, spec_json: bytes) -> Prepared:
    """At the origin, for a process about to be forwarded. Specs without mounts leave as they are."""
    if b'"dirs"' not in spec_json and b'"snapshots"' not in spec_json:
        return Prepared(spec_json)
    spec = msgspec.json.decode(spec_json, type=models.FunctionSpec)
    if not has_mounts(spec):
        return Prepared(spec_json)
    spec = pin_process_ids(spec, processid)
    try:
        inputs = inputs_of(conn, colonyname, spec)
    except TooManyFiles as err:
        return Prepared(spec_json, error=f"cannot forward: {err}")
    return Prepared(msgspec.json.encode(spec), inputs)
