"""Generators (spec §3.13, §4.10): the generator table and its durable argument queue.

Each packed argument is a row of `generator_args` whose `position` is an autoincrement key, never
reused, so reading a generator's queue by position gives the arguments in pack order.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Row

from colonies import models
from colonies.node.store.schema import metadata
from colonies.timefmt import format_ns

generators = Table(
    "generators",
    metadata,
    Column("generatorid", String(64), primary_key=True),
    Column("colonyname", String(256), nullable=False),
    Column("name", String(256), nullable=False),
    Column("initiatorid", String(64), nullable=False),
    Column("initiatorname", String(256), nullable=False, default=""),
    Column("workflowspec", Text, nullable=False),
    Column("trigger", BigInteger, nullable=False),
    Column("timeout", BigInteger, nullable=False, default=0),
    Column("firstpack", BigInteger, nullable=False, default=0),
    Column("lastrun", BigInteger, nullable=False, default=0),
    Column("added", BigInteger, nullable=False),
)
Index("generators_by_name", generators.c.colonyname, generators.c.name, unique=True)
Index("generators_by_colony", generators.c.colonyname, generators.c.added)

generator_args = Table(
    "generator_args",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=True),
    Column("generatorid", String(64), nullable=False),
    Column("arg", Text, nullable=False),
    Column("added", BigInteger, nullable=False),
    sqlite_autoincrement=True,  # positions are never reused, even after the newest is deleted
)
Index("generator_args_queue", generator_args.c.generatorid, generator_args.c.position)

G = generators.c
A = generator_args.c
# bound on the parameters of one DELETE ... IN (...) statement
_DELETE_CHUNK = 500


@dataclass(frozen=True, slots=True)
class QueuedArg:
    position: int
    arg: str


def to_model(row: Row[Any], *, queuesize: int = 0, checkerperiod_ms: int = 0) -> models.Generator:
    return models.Generator(
        generatorid=row.generatorid,
        initiatorid=row.initiatorid,
        initiatorname=row.initiatorname,
        colonyname=row.colonyname,
        name=row.name,
        workflowspec=row.workflowspec,
        trigger=row.trigger,
        timeout=row.timeout,
        firstpack=format_ns(row.firstpack),
        lastrun=format_ns(row.lastrun),
        queuesize=queuesize,
        checkerperiod=checkerperiod_ms,
    )


# --- generators -----------------------------------------------------------------------------
def add(conn: Connection, row: dict[str, Any]) -> Row[Any] | None:
    """Insert the generator; None when the colony already has a generator with that name."""
    taken = conn.execute(select(G.generatorid).where(G.colonyname == row["colonyname"], G.name == row["name"])).first()
    if taken is not None:
        return None
    conn.execute(insert(generators).values(**row))
    return get(conn, row["generatorid"])


def get(conn: Connection, generatorid: str) -> Row[Any] | None:
    return conn.execute(select(generators).where(G.generatorid == generatorid)).first()


def get_by_name(conn: Connection, colonyname: str, name: str) -> Row[Any] | None:
    return conn.execute(select(generators).where(G.colonyname == colonyname, G.name == name)).first()


def list_for_colony(conn: Connection, colonyname: str, count: int) -> list[Row[Any]]:
    query = select(generators).where(G.colonyname == colonyname).order_by(G.added, G.generatorid).limit(count)
    return list(conn.execute(query).all())


def remove(conn: Connection, generatorid: str) -> int:
    """The generator and its queued arguments."""
    conn.execute(delete(generator_args).where(A.generatorid == generatorid))
    return conn.execute(delete(generators).where(G.generatorid == generatorid)).rowcount


def remove_colony(conn: Connection, colonyname: str) -> int:
    """Every generator of a colony and their queues (for colony removal)."""
    ids = select(G.generatorid).where(G.colonyname == colonyname).scalar_subquery()
    conn.execute(delete(generator_args).where(A.generatorid.in_(ids)))
    return conn.execute(delete(generators).where(G.colonyname == colonyname)).rowcount


# --- the queue ------------------------------------------------------------------------------
def pack(conn: Connection, generatorid: str, arg: str, now: int) -> bool:
    """Append an argument (and record the first pack ever); False if the generator is gone."""
    firstpack = conn.execute(select(G.firstpack).where(G.generatorid == generatorid)).scalar()
    if firstpack is None:
        return False
    conn.execute(insert(generator_args).values(generatorid=generatorid, arg=arg, added=now))
    if firstpack == 0:
        conn.execute(update(generators).where(G.generatorid == generatorid).values(firstpack=now))
    return True


def queue_size(conn: Connection, generatorid: str) -> int:
    return conn.execute(select(func.count()).select_from(generator_args).where(A.generatorid == generatorid)).scalar_one()


def queue_sizes(conn: Connection, generatorids: list[str]) -> dict[str, int]:
    if not generatorids:
        return {}
    query = select(A.generatorid, func.count()).where(A.generatorid.in_(generatorids)).group_by(A.generatorid)
    return {gid: count for gid, count in conn.execute(query).all()}


def pending(conn: Connection) -> list[tuple[Row[Any], int]]:
    """Every generator with queued arguments, with its queue size (nothing to read when idle)."""
    counts = select(A.generatorid, func.count().label("queued")).group_by(A.generatorid).subquery()
    query = (
        select(generators, counts.c.queued)
        .join(counts, counts.c.generatorid == G.generatorid)
        .order_by(G.added, G.generatorid)
    )
    return [(row, row.queued) for row in conn.execute(query).all()]


def oldest(conn: Connection, generatorid: str, count: int) -> list[QueuedArg]:
    """The first `count` queued arguments, in pack order."""
    query = select(A.position, A.arg).where(A.generatorid == generatorid).order_by(A.position).limit(count)
    return [QueuedArg(position, arg) for position, arg in conn.execute(query).all()]


def consume(conn: Connection, generatorid: str, positions: list[int], lastrun: int) -> int:
    """Delete exactly the arguments a submitted workflow used and record the run, in one write."""
    deleted = 0
    for start in range(0, len(positions), _DELETE_CHUNK):
        chunk = positions[start : start + _DELETE_CHUNK]
        deleted += conn.execute(delete(generator_args).where(A.generatorid == generatorid, A.position.in_(chunk))).rowcount
    conn.execute(update(generators).where(G.generatorid == generatorid).values(lastrun=lastrun))
    return deleted
