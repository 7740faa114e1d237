"""CFS semantics on the node: file revisions, labels and snapshots (spec cfs.md §1.3–1.4).

Upstream's behaviour where clients depend on it (400 vs 404 in get file, 500 for a missing
snapshot, `null` for an exact label without files of its own); its deliberate fixes otherwise
(docs/protocol.md lists each): the stored `ref.protocol` is returned, LIKE patterns are escaped,
lists are sorted by name, `:` in snapshot names is refused, insert errors are reported, and S3
keys sent in a file reference are never stored.
"""
from __future__ import annotations

import re
from typing import Any

import msgspec
from sqlalchemy.engine import Connection

from colonies import crypto
from colonies.cfs import store as cq
from colonies.models import File, FileData, IpfsObject, Label, PlainFileData, Reference, S3Object, Snapshot
from colonies.timefmt import format_ns

MAX_TEXT = 1024  # characters in a label, name or snapshot name
MAX_FIELD = 256  # characters in a checksum, algorithm, protocol or S3 field
MAX_PROVIDERS = 16  # multiaddrs in ref.ipfsobject.providers
# CIDv0 (base58btc sha2-256) or CIDv1 in base32, the forms Kubo prints
_CID = re.compile(r"Qm[1-9A-HJ-NP-Za-km-z]{44}|b[a-z2-7]{20,127}")
_MULTIADDR = re.compile(r"/[\x21-\x7e]{1,255}")
_json = msgspec.json.Encoder()


class CFSError(Exception):
    """A refused CFS request; `kind` is invalid (400), missing (404), taken (409: a name in use,
    where upstream answers 500) or failed (500, as upstream)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def text(value: str | None) -> str:
    return value or ""


def _bounded(value: str, what: str, limit: int) -> str:
    if len(value) > limit:
        raise CFSError("invalid", f"{what} is longer than {limit} characters")
    return value


# --- files ----------------------------------------------------------------------------------
def ipfs_fields(ipfs: IpfsObject | None) -> tuple[str, list[str]]:
    """(cid, providers) of a reference's `ipfsobject`, validated; ("", []) without one."""
    if ipfs is None or not (ipfs.cid or ipfs.providers):
        return "", []
    cid = text(ipfs.cid)
    if not _CID.fullmatch(cid):
        raise CFSError("invalid", "ref.ipfsobject.cid is not a CID (CIDv0 Qm… or base32 CIDv1 b…)")
    providers = list(dict.fromkeys(ipfs.providers or []))
    if len(providers) > MAX_PROVIDERS:
        raise CFSError("invalid", f"ref.ipfsobject.providers has more than {MAX_PROVIDERS} multiaddrs")
    for addr in providers:
        if not isinstance(addr, str) or not _MULTIADDR.fullmatch(addr):
            raise CFSError("invalid", "ref.ipfsobject.providers must be multiaddrs (/ip4/…/tcp/…/p2p/…)")
    return cid, providers


def file_row(file: File, now: int) -> dict[str, Any]:
    """The row for an added revision: a new id, the time now; the sequence number comes later."""
    ref = file.ref or Reference()
    s3 = ref.s3object or S3Object()
    if file.size < 0:
        raise CFSError("invalid", "size must not be negative")
    cid, providers = ipfs_fields(ref.ipfsobject)
    protocol = _bounded(text(ref.protocol) or "s3", "ref.protocol", MAX_FIELD)  # any string, as upstream
    return {
        "fileid": crypto.random_id(),
        "colonyname": text(file.colonyname),
        "label": _bounded(text(file.label), "label", MAX_TEXT),
        "name": _bounded(text(file.name), "name", MAX_TEXT),
        "size": file.size,
        "checksum": _bounded(text(file.checksum), "checksum", MAX_FIELD),
        "checksumalg": _bounded(text(file.checksumalg), "checksumalg", MAX_FIELD),
        "protocol": protocol,
        "s3_server": _bounded(text(s3.server), "ref.s3object.server", MAX_FIELD),
        "s3_port": s3.port,
        "s3_tls": s3.tls,
        "s3_region": _bounded(text(s3.region), "ref.s3object.region", MAX_FIELD),
        "s3_encryptionkey": "",  # a key is a secret: never stored where every member reads it
        "s3_encryptionalg": _bounded(text(s3.encryptionalg), "ref.s3object.encryptionalg", MAX_FIELD),
        "s3_object": _bounded(text(s3.object), "ref.s3object.object", MAX_FIELD),
        "s3_bucket": _bounded(text(s3.bucket), "ref.s3object.bucket", MAX_FIELD),
        "added": now,
        "ipfs_cid": cid,
        "ipfs_providers": _json.encode(providers).decode(),
    }


def file_from_row(row: Any) -> File:
    s3 = S3Object(
        server=row.s3_server, port=row.s3_port, tls=bool(row.s3_tls), accesskey="", secretkey="", region=row.s3_region,
        encryptionkey="", encryptionalg=row.s3_encryptionalg, object=row.s3_object, bucket=row.s3_bucket,
    )
    ipfs = IpfsObject(cid=row.ipfs_cid, size=row.size, providers=msgspec.json.decode(row.ipfs_providers)) if row.ipfs_cid else None
    return File(
        fileid=row.fileid, colonyname=row.colonyname, label=row.label, name=row.name, size=row.size, sequencenr=row.seqnr,
        checksum=row.checksum, checksumalg=row.checksumalg, ref=Reference(protocol=row.protocol, s3object=s3, ipfsobject=ipfs),
        added=format_ns(row.added),
    )


def add_file(conn: Connection, file: File, now: int) -> File:
    row = file_row(file, now)
    row["seqnr"] = cq.next_seqnr(conn)
    cq.insert_file(conn, row)
    stored = cq.file_by_id(conn, row["colonyname"], row["fileid"])
    if stored is None:
        raise CFSError("failed", "Failed to add file")
    return file_from_row(stored)


FILEID = re.compile(r"[0-9a-f]{64}")  # file and snapshot ids


def adopt_files(conn: Connection, colonyname: str, files: list[File], now: int) -> list[str]:
    """Revisions another node created (inputs shipped with forwarded work, outputs reported
    back), kept under their own file ids so a second copy is a no-op; each becomes the latest
    of its name here, in the order of its sequence number there. The ids of the revisions that were new."""
    added = []
    for file in sorted(files, key=lambda f: f.sequencenr):
        fileid = text(file.fileid)
        if not FILEID.fullmatch(fileid):
            raise CFSError("invalid", "an adopted file needs its 64-hex fileid")
        if cq.file_by_id(conn, colonyname, fileid) is not None:
            continue
        row = file_row(file, now)
        row.update(fileid=fileid, colonyname=colonyname, seqnr=cq.next_seqnr(conn))
        cq.insert_file(conn, row)
        added.append(fileid)
    return added


def adopt_snapshot(conn: Connection, colonyname: str, snapshot: Snapshot, now: int) -> None:
    """A snapshot another node took, under its own id (its files adopted beside it); its name is
    kept unless taken here, then suffixed with the id."""
    snapshotid = snapshot.snapshotid
    if not FILEID.fullmatch(snapshotid):
        raise CFSError("invalid", "an adopted snapshot needs its 64-hex snapshotid")
    if cq.snapshot_by_id(conn, colonyname, snapshotid) is not None:
        return
    name = _bounded(snapshot.name, "snapshot name", MAX_TEXT)
    if cq.snapshot_by_name(conn, colonyname, name) is not None:
        name = f"{name}-{snapshotid[:12]}"
    row = {
        "snapshotid": snapshotid, "colonyname": colonyname, "label": _bounded(snapshot.label, "label", MAX_TEXT),
        "name": name, "fileids": _json.encode(list(snapshot.fileids or [])).decode(), "added": now,
    }
    cq.insert_snapshot(conn, row)


def latest_under(conn: Connection, colonyname: str, label: str, limit: int) -> list[File]:
    """The latest revision of every name in `label` and its sub-labels, at most `limit`."""
    found: list[File] = []
    for sub, _ in sorted(cq.labels(conn, colonyname, label, exact=True)):
        found += [file_from_row(r) for r in cq.latest_in_label(conn, colonyname, sub)]
        if len(found) >= limit:
            return found[:limit]
    return found


def get_file(conn: Connection, colonyname: str, fileid: str, label: str, name: str, latest: bool) -> list[File]:
    if fileid:
        row = cq.file_by_id(conn, colonyname, fileid)
        if row is None:
            raise CFSError("invalid", "Failed to get file")  # upstream: 400 for an unknown id
        return [file_from_row(row)]
    if not (label and name):
        raise CFSError("failed", "malformatted get file msg")
    rows = cq.revisions(conn, colonyname, label, name, limit=1 if latest else cq.LIST_CAP)
    if not rows:
        raise CFSError("missing", "Failed to get file")
    return [file_from_row(r) for r in rows]


def get_files(conn: Connection, colonyname: str, label: str) -> list[FileData | PlainFileData]:
    """Upstream's four fields per file, plus `ipfsobject` for a file with a CID (so our sync can
    read IPFS-only files from this listing too)."""
    found: list[FileData | PlainFileData] = []
    for r in cq.latest_in_label(conn, colonyname, label):
        if r.ipfs_cid:
            ipfs = IpfsObject(cid=r.ipfs_cid, size=r.size, providers=msgspec.json.decode(r.ipfs_providers) or None)
            found.append(FileData(name=r.name, checksum=r.checksum, size=r.size, s3filename=r.s3_object, ipfsobject=ipfs))
        else:
            found.append(PlainFileData(name=r.name, checksum=r.checksum, size=r.size, s3filename=r.s3_object))
    return found


def get_labels(conn: Connection, colonyname: str, name: str, exact: bool) -> list[Label] | None:
    found = cq.labels(conn, colonyname, name, exact=exact)
    if exact and name and not any(label == name for label, _ in found):
        return None  # upstream: nothing when the label itself has no files, sub-labels or not
    return [Label(name=label, files=count) for label, count in found]


def remove_file(conn: Connection, colonyname: str, fileid: str, label: str, name: str) -> None:
    if fileid:
        cq.remove_file(conn, colonyname, fileid)
    elif label and name:
        cq.remove_all_revisions(conn, colonyname, label, name)
    else:
        raise CFSError("invalid", "malformatted remove file msg")


# --- snapshots ------------------------------------------------------------------------------
def snapshot_from_row(row: Any) -> Snapshot:
    ids = msgspec.json.decode(row.fileids)
    return Snapshot(snapshotid=row.snapshotid, colonyname=row.colonyname, label=row.label, name=row.name, fileids=ids or None, added=format_ns(row.added))


def create_snapshot(conn: Connection, colonyname: str, label: str, name: str, now: int) -> Snapshot:
    """Freeze the latest revision of every name under the label and its sub-labels."""
    if ":" in name:
        raise CFSError("invalid", "Snapshot name must not contain ':'")
    _bounded(name, "snapshot name", MAX_TEXT)
    label = label[:-1] if label.endswith("/") else label
    if cq.snapshot_by_name(conn, colonyname, name) is not None:
        raise CFSError("taken", f"Snapshot with name {name} in Colony {colonyname} already exists")
    fileids: list[str] = []
    found = cq.labels(conn, colonyname, label, exact=True) if label else []
    if any(sub == label for sub, _ in found):  # upstream: nothing if the label has no files of its own
        for sub, _ in found:
            fileids += [r.fileid for r in cq.latest_in_label(conn, colonyname, sub)]
    row = {"snapshotid": crypto.random_id(), "colonyname": colonyname, "label": label, "name": name, "fileids": _json.encode(fileids).decode(), "added": now}
    cq.insert_snapshot(conn, row)
    return Snapshot(snapshotid=row["snapshotid"], colonyname=colonyname, label=label, name=name, fileids=fileids or None, added=format_ns(now))


def get_snapshot(conn: Connection, colonyname: str, snapshotid: str, name: str) -> Snapshot:
    if snapshotid:
        row = cq.snapshot_by_id(conn, colonyname, snapshotid)
        if row is None:
            raise CFSError("failed", f"Snapshot not found with Id {snapshotid} in Colony {colonyname} does not exists")
    elif name:
        row = cq.snapshot_by_name(conn, colonyname, name)
        if row is None:
            raise CFSError("failed", f"Snapshot not found with name {name} in Colony {colonyname} does not exists")
    else:
        raise CFSError("failed", "Failed to get snapshot, malformatted msg")
    return snapshot_from_row(row)


def get_snapshots(conn: Connection, colonyname: str) -> list[Snapshot]:
    return [snapshot_from_row(r) for r in cq.snapshots_of(conn, colonyname)]


def remove_snapshot(conn: Connection, colonyname: str, snapshotid: str, name: str) -> None:
    if snapshotid:
        cq.remove_snapshots(conn, colonyname, [snapshotid])
    elif name:
        row = cq.snapshot_by_name(conn, colonyname, name)
        if row is not None:
            cq.remove_snapshots(conn, colonyname, [row.snapshotid])
    else:
        raise CFSError("failed", "Failed to remove snapshsot, malformatted msg")


def remove_all_snapshots(conn: Connection, colonyname: str) -> None:
    cq.remove_snapshots(conn, colonyname)

