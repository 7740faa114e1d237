"""Federation bookkeeping in the node's store: work sent to peers, and work received from them."""
from __future__ import annotations

import collections
from typing import Any

import msgspec

from sqlalchemy import BigInteger, Boolean, Column, Index, String, Table, Text, delete, insert, select, update
from sqlalchemy.engine import Connection

from colonies.federation.messages import Result
from colonies.models import CANCELLED, FAILED, RUNNING, SUCCESS, WAITING
from colonies.node.store import processes as pq

from colonies.node.store.schema import metadata, processes

# a process of ours that runs at a peer (we are its origin)
outbound = Table(
    "federation_outbound",
    metadata,
    Column("processid", String(64), primary_key=True),
    Column("peer_node", String(64), nullable=False),
    Column("peer_url", Text, nullable=False),
    Column("remote_processid", String(64), nullable=False, default=""),
    Column("forwarded", BigInteger, nullable=False),
    Column("lease_expires", BigInteger, nullable=False),
)
Index("federation_outbound_by_lease", outbound.c.lease_expires)

# a process that runs here for a peer (the peer is its origin)
inbound = Table(
    "federation_inbound",
    metadata,
    Column("processid", String(64), primary_key=True),
    Column("origin_node", String(64), nullable=False),
    Column("origin_processid", String(64), nullable=False),
    Column("origin_url", Text, nullable=False),
    Column("reported", Boolean, nullable=False, default=False),
)
Index("federation_inbound_by_origin", inbound.c.origin_node, inbound.c.origin_processid, unique=True)
Index("federation_inbound_unreported", inbound.c.reported)

O = outbound.c
I = inbound.c
P = processes.c
TERMINAL = (SUCCESS, FAILED, CANCELLED)


# --- outbound -------------------------------------------------------------------------------
def add_outbound(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(delete(outbound).where(O.processid == row["processid"]))
    conn.execute(insert(outbound).values(**row))


def get_outbound(conn: Connection, processid: str) -> Any:
    return conn.execute(select(outbound).where(O.processid == processid)).first()


def outbound_due(conn: Connection, now: int, limit: int = 200) -> list[Any]:
    return list(conn.execute(select(outbound).where(O.lease_expires < now).order_by(O.lease_expires).limit(limit)))


def renew_lease(conn: Connection, processid: str, expires: int, remote_processid: str = "") -> None:
    values: dict[str, Any] = {"lease_expires": expires}
    if remote_processid:
        values["remote_processid"] = remote_processid
    conn.execute(update(outbound).where(O.processid == processid).values(**values))


def remove_outbound(conn: Connection, processid: str) -> None:
    conn.execute(delete(outbound).where(O.processid == processid))


def outbound_of_peer(conn: Connection, peer_node: str) -> list[Any]:
    return list(conn.execute(select(outbound).where(O.peer_node == peer_node)))


# --- inbound --------------------------------------------------------------------------------
def find_inbound(conn: Connection, origin_node: str, origin_processid: str) -> Any:
    return conn.execute(select(inbound).where(I.origin_node == origin_node, I.origin_processid == origin_processid)).first()


def add_inbound(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(inbound).values(**row))


def get_inbound(conn: Connection, processid: str) -> Any:
    return conn.execute(select(inbound).where(I.processid == processid)).first()


def unreported(conn: Connection, limit: int = 200) -> list[Any]:
    return list(conn.execute(select(inbound).where(I.reported == False).limit(limit)))  # noqa: E712


def mark_reported(conn: Connection, processid: str) -> None:
    conn.execute(update(inbound).where(I.processid == processid).values(reported=True))


# --- process queries for forwarding and receiving -------------------------------------------
def hand_back(conn: Connection) -> list[Any]:
    """Forwarded work not started here: removed, to be returned to its origins."""
    handed = []
    for row in unreported(conn, limit=10_000):
        state = conn.execute(select(P.state).where(P.processid == row.processid)).scalar()
        if state == WAITING:
            pq.remove(conn, row.processid)
            mark_reported(conn, row.processid)
            handed.append(row)
    return handed


def inbound_running(conn: Connection) -> int:
    running = 0
    for row in unreported(conn, limit=10_000):
        if conn.execute(select(P.state).where(P.processid == row.processid)).scalar() not in TERMINAL:
            running += 1
    return running


def counts(conn: Connection) -> dict[str, Any]:
    """Work in flight: forwarded out per peer, run here per origin."""
    out = collections.Counter(r.peer_node for r in conn.execute(select(O.peer_node)))
    into = collections.Counter(r.origin_node for r in unreported(conn, limit=100_000))
    return {
        "forwardedout": sum(out.values()),
        "forwardedin": sum(into.values()),
        "peers": {node: {"forwardedout": out[node], "forwardedin": into[node]} for node in sorted(set(out) | set(into))},
    }



def claim_for_peer(conn: Connection, processid: str, peer_node: str, now: int) -> bool:
    """WAITING → RUNNING at a peer (the peer's node id as the assignee); False if taken meanwhile."""
    row = conn.execute(
        update(processes)
        .where(P.processid == processid, P.state == WAITING, P.waitforparents == False)  # noqa: E712
        .values(state=RUNNING, isassigned=True, assignedexecutorid=peer_node, starttime=now, endtime=0)
        .returning(P.processid)
    ).first()
    return row is not None


def runs_at(conn: Connection, processid: str, peer_node: str) -> bool:
    row = conn.execute(select(P.assignedexecutorid, P.state).where(P.processid == processid)).first()
    return row is not None and row.state == RUNNING and row.assignedexecutorid == peer_node


def assignable(conn: Connection, colonyname: str, limit: int = 200) -> list[tuple[str, str]]:
    rows = conn.execute(
        select(P.processid, P.executortype)
        .where(P.colonyname == colonyname, P.state == WAITING, P.waitforparents == False)  # noqa: E712
        .order_by(P.prioritytime)
        .limit(limit)
    )
    return [(r[0], r[1]) for r in rows]


def waiting_count(conn: Connection, colonyname: str, executortype: str) -> int:
    return len(
        conn.execute(
            select(P.processid).where(P.colonyname == colonyname, P.executortype == executortype, P.state == WAITING).limit(10_000)
        ).all()
    )


def spec_and_input(conn: Connection, processid: str) -> tuple[bytes, list[Any]]:
    row = conn.execute(select(P.spec, P.input).where(P.processid == processid)).first()
    if row is None:
        return b"{}", []
    return row.spec.encode(), msgspec.json.decode(row.input)


def result_of(conn: Connection, origin_processid: str, processid: str) -> Result:
    row = conn.execute(select(P.state, P.output, P.errors).where(P.processid == processid)).first()
    return Result(
        origin_processid=origin_processid,
        state=row.state,
        output=msgspec.json.decode(row.output),
        errors=msgspec.json.decode(row.errors),
        remote_processid=processid,
    )


def ended_unreported(conn: Connection) -> list[tuple[Any, Result]]:
    out = []
    for row in unreported(conn):
        state = conn.execute(select(P.state).where(P.processid == row.processid)).scalar()
        if state is None:
            continue
        if state in TERMINAL:
            out.append((row, result_of(conn, row.origin_processid, row.processid)))
    return out

