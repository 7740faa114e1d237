"""Process channel logs (spec §2.11, §4.8), stored durably: they survive a node restart and the
end of the process (upstream keeps them in memory and drops them when the process ends).

One row per entry. `position` is the entry's 1-based index in its channel's log, given in
commit order (arrival order); reads and subscriptions return entries by position, and a client's
`afterseq` is a position. Upstream sorts entries of one sender by their sequence number instead;
we keep arrival order so an index a client has seen never changes meaning.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    LargeBinary,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Connection

from colonies import models
from colonies.models import CANCELLED, FAILED, SUCCESS
from colonies.node.store.prepared import Prepared
from colonies.node.store.schema import metadata, processes
from colonies.timefmt import format_ns
from colonies.wire import b64encode

channel_entries = Table(
    "channel_entries",
    metadata,
    Column("processid", String(64), primary_key=True),
    Column("name", String(256), primary_key=True),
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("senderid", String(64), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("inreplyto", BigInteger, nullable=False, default=0),
    Column("type", String(16), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("payload", LargeBinary, nullable=False),
)
# one entry per (sender, sequence): a client retrying an append does not store it twice
Index(
    "channel_entries_by_sequence",
    channel_entries.c.processid,
    channel_entries.c.name,
    channel_entries.c.senderid,
    channel_entries.c.sequence,
    unique=True,
)

C = channel_entries.c
P = processes.c
ENDED = (SUCCESS, FAILED, CANCELLED)


@dataclass(slots=True)
class ChannelOwner:
    """What deciding access to a process's channels needs of the process."""

    colonyname: str
    state: int
    initiatorid: str
    assignedexecutorid: str
    spec: str  # the process spec's JSON text (holds `channels`)

    def may_use(self, caller_id: str) -> bool:
        return bool(caller_id) and caller_id in (self.initiatorid, self.assignedexecutorid)


class Outcome(enum.Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # same sender and sequence already in the log: nothing stored
    FULL = "full"
    ENDED = "ended"
    FORBIDDEN = "forbidden"  # the sender is no longer the initiator or the assigned executor
    GONE = "gone"  # the process was removed


@dataclass(slots=True)
class Appended:
    outcome: Outcome
    position: int = 0


@dataclass(slots=True)
class Page:
    """Entries read from one channel and the position of the last of them (`after` if none)."""

    entries: list[models.ChannelEntry]
    last_position: int


_owner = Prepared(
    select(P.colonyname, P.state, P.initiatorid, P.assignedexecutorid, P.spec).where(P.processid == bindparam("b_processid"))
)
_access = Prepared(
    select(P.state, P.initiatorid, P.assignedexecutorid).where(P.processid == bindparam("b_processid"))
)
_by_sequence = Prepared(
    select(C.position).where(
        C.processid == bindparam("b_processid"),
        C.name == bindparam("b_name"),
        C.senderid == bindparam("b_senderid"),
        C.sequence == bindparam("b_sequence"),
    )
)
_last_position = Prepared(
    select(func.coalesce(func.max(C.position), 0).label("last")).where(
        C.processid == bindparam("b_processid"), C.name == bindparam("b_name")
    )
)
_insert = Prepared(insert(channel_entries))


def owner(conn: Connection, processid: str) -> ChannelOwner | None:
    row = _owner.first(conn, {"b_processid": processid})
    if row is None:
        return None
    return ChannelOwner(
        colonyname=row["colonyname"],
        state=row["state"],
        initiatorid=row["initiatorid"],
        assignedexecutorid=row["assignedexecutorid"],
        spec=row["spec"],
    )


def append(
    conn: Connection,
    *,
    processid: str,
    name: str,
    senderid: str,
    sequence: int,
    inreplyto: int,
    entry_type: str,
    payload: bytes,
    now: int,
    max_entries: int,
) -> Appended:
    """Add an entry at the end of the channel's log. The process's state and the sender's right
    to write are checked again here, in the transaction that writes."""
    process = _access.first(conn, {"b_processid": processid})
    if process is None:
        return Appended(Outcome.GONE)
    if process["state"] in ENDED:
        return Appended(Outcome.ENDED)
    if senderid not in (process["initiatorid"], process["assignedexecutorid"]):
        return Appended(Outcome.FORBIDDEN)
    key = {"b_processid": processid, "b_name": name}
    existing = _by_sequence.first(conn, {**key, "b_senderid": senderid, "b_sequence": sequence})
    if existing is not None:
        return Appended(Outcome.DUPLICATE, existing["position"])
    last_row = _last_position.first(conn, key)
    last = int(last_row["last"]) if last_row is not None else 0
    if last >= max_entries:
        return Appended(Outcome.FULL, last)
    row: dict[str, Any] = {
        "processid": processid,
        "name": name,
        "position": last + 1,
        "senderid": senderid,
        "sequence": sequence,
        "inreplyto": inreplyto,
        "type": entry_type,
        "ts": now,
        "payload": payload,
    }
    _insert.run(conn, row)
    return Appended(Outcome.STORED, last + 1)


def read(conn: Connection, *, processid: str, name: str, after: int, limit: int, max_bytes: int) -> Page:
    """Entries after position `after`, by position; at most `limit` (0 = no limit) and, past the
    first entry, no more than `max_bytes` of payload in all."""
    query = (
        select(C.position, C.senderid, C.sequence, C.inreplyto, C.type, C.ts, C.payload)
        .where(C.processid == processid, C.name == name, C.position > max(after, 0))
        .order_by(C.position)
    )
    if limit > 0:
        query = query.limit(limit)
    entries: list[models.ChannelEntry] = []
    last = max(after, 0)
    size = 0
    result = conn.execute(query)
    try:
        for row in result:
            payload = bytes(row.payload)
            size += len(payload)
            if entries and size > max_bytes:
                break
            entries.append(
                models.ChannelEntry(
                    sequence=row.sequence,
                    inreplyto=row.inreplyto,
                    timestamp=format_ns(row.ts),
                    senderid=row.senderid,
                    payload=b64encode(payload),
                    type=row.type,
                )
            )
            last = row.position
    finally:
        result.close()
    return Page(entries, last)


def count(conn: Connection, processid: str, name: str) -> int:
    row = _last_position.first(conn, {"b_processid": processid, "b_name": name})
    return int(row["last"]) if row is not None else 0


def delete_for_process(conn: Connection, processid: str) -> int:
    """Drop every channel of a process (for whoever removes the process)."""
    return conn.execute(delete(channel_entries).where(C.processid == processid)).rowcount


def delete_for_processes(conn: Connection, processids: Any) -> int:
    """Drop the channels of several processes: a list of ids or a SELECT of process ids."""
    return conn.execute(delete(channel_entries).where(C.processid.in_(processids))).rowcount


def delete_orphans(conn: Connection) -> int:
    """Drop the channels of processes that no longer exist (for a cleanup/retention service)."""
    alive = select(P.processid)
    return conn.execute(delete(channel_entries).where(C.processid.not_in(alive))).rowcount
