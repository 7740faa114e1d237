"""Federation bookkeeping in the node's store: work sent to peers, and work received from them."""
from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Index, String, Table, Text, delete, insert, select, update
from sqlalchemy.engine import Connection

from colonies.node.store.schema import metadata

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
