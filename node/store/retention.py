"""Retention queries (spec §4.5): bounded deletes of old successful processes and old logs.

Each call deletes at most `limit` rows so one transaction (and the writes queued behind it) stays
short; the retention service repeats a call until it deletes fewer than `limit`.
"""
from __future__ import annotations

from sqlalchemy import delete, select, text
from sqlalchemy.engine import Connection

from colonies.node.store import channels as channel_queries
from colonies.node.store.schema import attributes, logs, processes

P = processes.c
L = logs.c

# Literal SQL, not bound parameters, so planners can match the partial index's condition.
_EXPIRABLE = text("state = 2 AND processgraphid = ''")

# Only retention needs this index; it is created when retention is first enabled, so nodes
# without retention do not pay for it on every close.
# processgraphid leads so the planner prefers it to a plain processgraphid index.
_INDEX_DDL = "CREATE INDEX IF NOT EXISTS processes_retention ON processes (processgraphid, endtime) WHERE state = 2"


def ensure_index(conn: Connection) -> None:
    conn.exec_driver_sql(_INDEX_DDL)


def delete_processes(conn: Connection, *, ended_before: int, limit: int) -> int:
    """Delete up to `limit` SUCCESS processes outside workflows that ended before `ended_before`
    (ns), with their attributes and channels; how many were deleted."""
    ids = list(
        conn.execute(
            select(P.processid).where(_EXPIRABLE, P.endtime < ended_before).order_by(P.endtime).limit(limit)
        ).scalars()
    )
    if not ids:
        return 0
    conn.execute(delete(attributes).where(attributes.c.targetid.in_(ids)))
    channel_queries.delete_for_processes(conn, ids)
    conn.execute(delete(processes).where(P.processid.in_(ids)))
    return len(ids)


def delete_graphs(conn: Connection, *, ended_before: int, limit: int) -> int:
    """Delete up to `limit` SUCCESS process graphs that ended before `ended_before` (ns), each with
    all its processes; how many graphs were deleted."""
    from colonies.node.store import workflows as wq

    ids = list(
        conn.execute(
            select(wq.G.processgraphid)
            .where(wq.G.state == 2, wq.G.endtime < ended_before)
            .order_by(wq.G.endtime)
            .limit(limit)
        ).scalars()
    )
    for graphid in ids:
        wq.remove_graph(conn, graphid)
    return len(ids)


def delete_logs(conn: Connection, *, colonyname: str, before: int, limit: int) -> int:
    """Delete up to `limit` logs of the colony written before `before` (ns); how many were deleted."""
    ids = select(L.logid).where(L.colonyname == colonyname, L.ts < before).limit(limit).scalar_subquery()
    return conn.execute(delete(logs).where(L.logid.in_(ids))).rowcount
