"""Process and executor logs."""
from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from colonies import models
from colonies.node.store.schema import logs

L = logs.c


def add(conn: Connection, *, processid: str, colonyname: str, executorname: str, ts: int, message: str) -> None:
    conn.execute(insert(logs).values(processid=processid, colonyname=colonyname, executorname=executorname, ts=ts, message=message))


def _to_models(rows: list) -> list[models.Log]:  # type: ignore[type-arg]
    return [
        models.Log(processid=r.processid, colonyname=r.colonyname, executorname=r.executorname, message=r.message, timestamp=r.ts)
        for r in rows
    ]


def get(
    conn: Connection,
    *,
    colonyname: str,
    processid: str,
    executorname: str,
    count: int,
    since: int,
    latest: bool,
) -> list[models.Log]:
    """By process or by executor, within the colony (a removed process keeps its logs, as on
    upstream: only its colony's members may read them); `latest` = newest `count`, oldest first."""
    if processid:
        query = select(logs).where(L.processid == processid, L.colonyname == colonyname)
    else:
        query = select(logs).where(L.colonyname == colonyname, L.executorname == executorname)
    if since > 0:
        query = query.where(L.ts > since)
    if latest:
        rows = conn.execute(query.order_by(L.ts.desc(), L.logid.desc()).limit(count)).all()
        rows.reverse()
    else:
        rows = conn.execute(query.order_by(L.ts, L.logid).limit(count)).all()
    return _to_models(rows)


def search(conn: Connection, *, colonyname: str, text: str, since_ns: int, count: int) -> list[models.Log]:
    query = (
        select(logs)
        .where(L.colonyname == colonyname, L.ts >= since_ns, L.message.contains(text, autoescape=True))
        .order_by(L.ts, L.logid)
        .limit(count)
    )
    return _to_models(conn.execute(query).all())


def remove_colony_batch(conn: Connection, colonyname: str, limit: int) -> int:
    """Delete up to `limit` logs of the colony (colony removal); how many were deleted."""
    ids = select(L.logid).where(L.colonyname == colonyname).limit(limit).scalar_subquery()
    return conn.execute(delete(logs).where(L.logid.in_(ids))).rowcount
