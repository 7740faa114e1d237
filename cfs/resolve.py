"""Label resolution (ours, `resolvefilesmsg`): for every file under a label and its sub-labels, or
in a snapshot, its name, size, checksum and where its bytes are — an S3 object, a CID with the
multiaddrs of IPFS nodes that hold it, or both (dual-homed).

The database part runs on a connection (`resolve_label`, `resolve_snapshot`); the providers of
CIDs that the rows alone do not know (this node's own IPFS node, holders found in the DHT) come
from a `ProviderSource` afterwards, off the database."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import msgspec
from sqlalchemy.engine import Connection

from colonies.cfs import files as cf
from colonies.cfs import store as cq
from colonies.cfs.storage.base import ObjectRef
from colonies.models import FileLocation, ResolvedFile
from colonies.timefmt import format_ns

MAX_COUNT = 10_000  # files per reply; page with `offset`


class ProviderSource(Protocol):
    async def providers(self, cids: Sequence[str]) -> dict[str, list[str]]:
        """Extra multiaddrs of IPFS nodes holding each CID (missing keys: none known)."""
        ...


def locations(row: Any) -> list[FileLocation]:
    """Where a row's bytes are: its S3 object (when it names one) and its CID (when it has one).
    A zero-byte file has no bytes to fetch, so no S3 location (as upstream, none was uploaded)."""
    found: list[FileLocation] = []
    if row.s3_object and row.size > 0:
        ref = ObjectRef.from_s3object({"server": row.s3_server, "port": row.s3_port, "tls": bool(row.s3_tls), "object": row.s3_object, "bucket": row.s3_bucket})
        found.append(FileLocation(protocol="s3", endpoint=ref.endpoint, bucket=row.s3_bucket, object=row.s3_object, tls=bool(row.s3_tls), region=row.s3_region))
    if row.ipfs_cid:
        found.append(FileLocation(protocol="ipfs", cid=row.ipfs_cid, providers=msgspec.json.decode(row.ipfs_providers) or None))
    return found


def resolved(row: Any) -> ResolvedFile:
    return ResolvedFile(
        fileid=row.fileid, label=row.label, name=row.name, size=row.size, checksum=row.checksum,
        checksumalg=row.checksumalg, sequencenr=row.seqnr, added=format_ns(row.added), locations=locations(row),
    )


def _page(rows: list[Any], offset: int, count: int) -> list[Any]:
    if offset < 0 or count < 0:
        raise cf.CFSError("invalid", "offset and count must not be negative")
    count = min(count or MAX_COUNT, MAX_COUNT)
    return rows[offset:offset + count]


def resolve_label(conn: Connection, colonyname: str, label: str, offset: int = 0, count: int = 0) -> list[ResolvedFile]:
    """The latest revision of every name in `label` and its sub-labels, by label then name."""
    label = label[:-1] if label.endswith("/") and label != "/" else label
    if not label:
        raise cf.CFSError("invalid", "a label or a snapshotid is needed")
    rows: list[Any] = []
    for sub, _ in sorted(cq.labels(conn, colonyname, label, exact=True)):
        rows += cq.latest_in_label(conn, colonyname, sub)
        if len(rows) >= cq.LIST_CAP:
            break
    return [resolved(row) for row in _page(rows, offset, count)]


def resolve_snapshot(conn: Connection, colonyname: str, snapshotid: str, offset: int = 0, count: int = 0) -> list[ResolvedFile]:
    """The revisions a snapshot froze, in its order; a revision removed since is an error (the
    snapshot can no longer be materialised)."""
    row = cq.snapshot_by_id(conn, colonyname, snapshotid)
    if row is None:
        raise cf.CFSError("missing", f"Snapshot with Id {snapshotid} in Colony {colonyname} does not exist")
    fileids = _page(list(msgspec.json.decode(row.fileids)), offset, count)
    found = {r.fileid: r for r in cq.files_by_ids(conn, colonyname, fileids)}
    gone = [fileid for fileid in fileids if fileid not in found]
    if gone:
        raise cf.CFSError("missing", f"snapshot {row.name or snapshotid}: {len(gone)} of its files no longer exist (first: {gone[0]})")
    return [resolved(found[fileid]) for fileid in fileids]


async def add_providers(files: list[ResolvedFile], source: ProviderSource | None) -> list[ResolvedFile]:
    """The files with each IPFS location's providers extended by what `source` knows."""
    if source is None:
        return files
    cids = sorted({loc.cid for f in files for loc in f.locations if loc.protocol == "ipfs" and loc.cid})
    if not cids:
        return files
    extra = await source.providers(cids)
    for file in files:
        for loc in file.locations:
            if loc.protocol == "ipfs" and extra.get(loc.cid):
                merged = list(dict.fromkeys([*(loc.providers or []), *extra[loc.cid]]))[: cf.MAX_PROVIDERS]
                loc.providers = merged
    return files
