"""Crons (spec §3.12, §4.9): the table and its queries. Times are integer nanoseconds, 0 = unset."""
from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Index, String, Table, Text, delete, insert, select, update
from sqlalchemy.engine import Connection, Row

from colonies import models
from colonies.node.store.schema import metadata
from colonies.timefmt import format_ns

crons = Table(
    "crons",
    metadata,
    Column("cronid", String(64), primary_key=True),
    Column("colonyname", String(256), nullable=False),
    Column("name", String(256), nullable=False),
    Column("initiatorid", String(64), nullable=False),
    Column("initiatorname", String(256), nullable=False, default=""),
    Column("cronexpression", Text, nullable=False, default=""),
    Column("interval", BigInteger, nullable=False, default=-1),
    Column("random", Boolean, nullable=False, default=False),
    Column("nextrun", BigInteger, nullable=False, default=0),
    Column("lastrun", BigInteger, nullable=False, default=0),
    Column("workflowspec", Text, nullable=False),
    Column("prevprocessgraphid", String(64), nullable=False, default=""),
    Column("waitforprevprocessgraph", Boolean, nullable=False, default=False),
    Column("added", BigInteger, nullable=False),
)
Index("crons_by_name", crons.c.colonyname, crons.c.name, unique=True)
Index("crons_by_colony", crons.c.colonyname, crons.c.added)
Index("crons_by_nextrun", crons.c.nextrun)

C = crons.c


def to_model(row: Row[Any], checkerperiod_ms: int = 0) -> models.Cron:
    return models.Cron(
        cronid=row.cronid,
        initiatorid=row.initiatorid,
        initiatorname=row.initiatorname,
        colonyname=row.colonyname,
        name=row.name,
        cronexpression=row.cronexpression,
        interval=row.interval,
        random=row.random,
        nextrun=format_ns(row.nextrun),
        lastrun=format_ns(row.lastrun),
        workflowspec=row.workflowspec,
        prevprocessgraphid=row.prevprocessgraphid,
        waitforprevprocessgraph=row.waitforprevprocessgraph,
        checkerperiod=checkerperiod_ms,
    )


def add(conn: Connection, row: dict[str, Any]) -> Row[Any] | None:
    """Insert the cron; None when the colony already has a cron with that name."""
    taken = conn.execute(select(C.cronid).where(C.colonyname == row["colonyname"], C.name == row["name"])).first()
    if taken is not None:
        return None
    conn.execute(insert(crons).values(**row))
    return get(conn, row["cronid"])


def get(conn: Connection, cronid: str) -> Row[Any] | None:
    return conn.execute(select(crons).where(C.cronid == cronid)).first()


def list_for_colony(conn: Connection, colonyname: str, count: int) -> list[Row[Any]]:
    query = select(crons).where(C.colonyname == colonyname).order_by(C.added, C.cronid).limit(count)
    return list(conn.execute(query).all())


def due(conn: Connection, now: int, limit: int, *, after: tuple[int, str] | None = None) -> list[Row[Any]]:
    """Crons whose next run has come, or that were never scheduled (nextrun 0), by (nextrun,
    cronid); `after` continues from the last of the previous page."""
    query = select(crons).where(C.nextrun <= now)
    if after is not None:
        nextrun, cronid = after
        query = query.where((C.nextrun > nextrun) | ((C.nextrun == nextrun) & (C.cronid > cronid)))
    return list(conn.execute(query.order_by(C.nextrun, C.cronid).limit(limit)).all())


def schedule(conn: Connection, cronid: str, nextrun: int) -> None:
    conn.execute(update(crons).where(C.cronid == cronid).values(nextrun=nextrun))


def record_run(conn: Connection, cronid: str, *, nextrun: int, lastrun: int, processgraphid: str) -> None:
    conn.execute(
        update(crons)
        .where(C.cronid == cronid)
        .values(nextrun=nextrun, lastrun=lastrun, prevprocessgraphid=processgraphid)
    )


def remove(conn: Connection, cronid: str) -> int:
    return conn.execute(delete(crons).where(C.cronid == cronid)).rowcount


def remove_colony(conn: Connection, colonyname: str) -> int:
    """Every cron of a colony (for colony removal)."""
    return conn.execute(delete(crons).where(C.colonyname == colonyname)).rowcount
