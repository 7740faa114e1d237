"""CFS metadata in the node's store: immutable file revisions and snapshots (spec cfs.md §1.1).

Bytes live in S3 (or, later, IPFS); a row holds where. Revisions are numbered by one counter for
the whole node (as upstream's global sequence), so "latest" is the highest `seqnr`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Index, String, Table, Text, bindparam, delete, func, insert, select
from sqlalchemy.engine import Connection

from colonies.node.store.schema import metadata

files = Table(
    "cfs_files",
    metadata,
    Column("fileid", String(64), primary_key=True),
    Column("colonyname", String(256), nullable=False),
    Column("label", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("seqnr", BigInteger, nullable=False),
    Column("checksum", Text, nullable=False),
    Column("checksumalg", Text, nullable=False),
    Column("protocol", Text, nullable=False),
    Column("s3_server", Text, nullable=False),
    Column("s3_port", BigInteger, nullable=False),
    Column("s3_tls", Boolean, nullable=False),
    Column("s3_region", Text, nullable=False),
    Column("s3_encryptionkey", Text, nullable=False),
    Column("s3_encryptionalg", Text, nullable=False),
    Column("s3_object", Text, nullable=False),
    Column("s3_bucket", Text, nullable=False),
    Column("added", BigInteger, nullable=False),  # unix ns
    Column("ipfs_cid", Text, nullable=False, server_default=""),  # "" when not in IPFS
    Column("ipfs_providers", Text, nullable=False, server_default="[]"),  # JSON list of multiaddrs
)
Index("cfs_files_by_name", files.c.colonyname, files.c.label, files.c.name, files.c.seqnr)
Index("cfs_files_seqnr", files.c.seqnr)
Index("cfs_files_by_cid", files.c.ipfs_cid)

snapshots = Table(
    "cfs_snapshots",
    metadata,
    Column("snapshotid", String(64), primary_key=True),
    Column("colonyname", String(256), nullable=False),
    Column("label", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("fileids", Text, nullable=False),  # JSON list
    Column("added", BigInteger, nullable=False),
)
Index("cfs_snapshots_by_name", snapshots.c.colonyname, snapshots.c.name, unique=True)
Index("cfs_snapshots_by_added", snapshots.c.colonyname, snapshots.c.added)

F = files.c
S = snapshots.c
LIST_CAP = 100_000  # rows one list reply may carry


def _like_prefix(prefix: str) -> str:
    """A LIKE pattern matching strings that start with `prefix` (its % and _ taken literally)."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


_max_seqnr = select(func.max(F.seqnr))
_by_id = select(files).where(F.colonyname == bindparam("colony"), F.fileid == bindparam("fileid"))
_revisions = (
    select(files)
    .where(F.colonyname == bindparam("colony"), F.label == bindparam("label"), F.name == bindparam("name"))
    .order_by(F.seqnr.desc())
    .limit(bindparam("limit"))
)
# the latest revision per name directly in a label
_latest_seq = (
    select(F.name, func.max(F.seqnr).label("seqnr"))
    .where(F.colonyname == bindparam("colony"), F.label == bindparam("label"))
    .group_by(F.name)
    .subquery()
)
_latest_in_label = (
    select(files)
    .join(_latest_seq, (F.name == _latest_seq.c.name) & (F.seqnr == _latest_seq.c.seqnr))
    .where(F.colonyname == bindparam("colony"), F.label == bindparam("label"))
    .order_by(F.name)
    .limit(LIST_CAP)
)
_all_labels = select(F.label, func.count()).where(F.colonyname == bindparam("colony")).group_by(F.label).order_by(F.label).limit(LIST_CAP)
_labels_like = (
    select(F.label, func.count())
    .where(F.colonyname == bindparam("colony"), F.label.like(bindparam("pattern"), escape="\\"))
    .group_by(F.label)
    .order_by(F.label)
    .limit(LIST_CAP)
)
_label_count = select(func.count()).where(F.colonyname == bindparam("colony"), F.label == bindparam("label"))


def next_seqnr(conn: Connection) -> int:
    return int(conn.execute(_max_seqnr).scalar() or 0) + 1


def insert_file(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(files).values(**row))


def file_by_id(conn: Connection, colonyname: str, fileid: str) -> Any:
    return conn.execute(_by_id, {"colony": colonyname, "fileid": fileid}).first()


def files_by_ids(conn: Connection, colonyname: str, fileids: Sequence[str]) -> list[Any]:
    """The rows of these revisions that exist, in chunks the drivers' parameter limits allow."""
    rows: list[Any] = []
    for start in range(0, len(fileids), 500):
        chunk = list(fileids[start:start + 500])
        rows += conn.execute(select(files).where(F.colonyname == colonyname, F.fileid.in_(chunk))).all()
    return rows


def revisions(conn: Connection, colonyname: str, label: str, name: str, limit: int = LIST_CAP) -> list[Any]:
    return conn.execute(_revisions, {"colony": colonyname, "label": label, "name": name, "limit": limit}).all()


def latest_in_label(conn: Connection, colonyname: str, label: str) -> list[Any]:
    return conn.execute(_latest_in_label, {"colony": colonyname, "label": label}).all()


def labels(conn: Connection, colonyname: str, prefix: str = "", *, exact: bool = False) -> list[tuple[str, int]]:
    """(label, revisions) for every label of the colony, or those starting with `prefix`; with
    `exact`, the label itself and its sub-labels (`prefix/…`)."""
    if not prefix:
        return [(r[0], int(r[1])) for r in conn.execute(_all_labels, {"colony": colonyname})]
    if not exact:
        return [(r[0], int(r[1])) for r in conn.execute(_labels_like, {"colony": colonyname, "pattern": _like_prefix(prefix)})]
    own = int(conn.execute(_label_count, {"colony": colonyname, "label": prefix}).scalar() or 0)
    subs = [(r[0], int(r[1])) for r in conn.execute(_labels_like, {"colony": colonyname, "pattern": _like_prefix(prefix + "/")})]
    return ([(prefix, own)] if own else []) + subs


def remove_file(conn: Connection, colonyname: str, fileid: str) -> int:
    return conn.execute(delete(files).where(F.colonyname == colonyname, F.fileid == fileid)).rowcount


def remove_all_revisions(conn: Connection, colonyname: str, label: str, name: str) -> int:
    return conn.execute(delete(files).where(F.colonyname == colonyname, F.label == label, F.name == name)).rowcount


# --- snapshots ------------------------------------------------------------------------------
def insert_snapshot(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(snapshots).values(**row))


def snapshot_by_id(conn: Connection, colonyname: str, snapshotid: str) -> Any:
    return conn.execute(select(snapshots).where(S.colonyname == colonyname, S.snapshotid == snapshotid)).first()


def snapshot_by_name(conn: Connection, colonyname: str, name: str) -> Any:
    return conn.execute(select(snapshots).where(S.colonyname == colonyname, S.name == name)).first()


def snapshots_of(conn: Connection, colonyname: str) -> list[Any]:
    return conn.execute(select(snapshots).where(S.colonyname == colonyname).order_by(S.added.desc()).limit(LIST_CAP)).all()


def remove_snapshots(conn: Connection, colonyname: str, snapshotids: Sequence[str] | None = None) -> int:
    where = [S.colonyname == colonyname]
    if snapshotids is not None:
        where.append(S.snapshotid.in_(list(snapshotids)))
    return conn.execute(delete(snapshots).where(*where)).rowcount


def remove_colony(conn: Connection, colonyname: str) -> None:
    conn.execute(delete(files).where(F.colonyname == colonyname))
    conn.execute(delete(snapshots).where(S.colonyname == colonyname))
