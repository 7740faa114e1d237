"""Federation bookkeeping in the node's store: work sent to peers, and work received from them.

Every query here is set-based and bounded: one statement per batch of processes, never one per row.
"""
from __future__ import annotations

import collections
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
from sqlalchemy import BigInteger, Boolean, Column, Index, String, Table, Text, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.engine import Connection

from colonies.federation.messages import Result
from colonies.models import CANCELLED, FAILED, RUNNING, SUCCESS, WAITING
from colonies.node.store import processes as pq
from colonies.node.store.prepared import Prepared
from colonies.node.store.processes import ProcessRecord
# `assignable` is literal SQL so that the planner can use the partial assign index
from colonies.node.store.schema import assignable, metadata, processes

NS = 1_000_000_000

# a process of ours that runs at a peer (we are its origin)
outbound = Table(
    "federation_outbound",
    metadata,
    Column("processid", String(64), primary_key=True),
    Column("peer_node", String(64), nullable=False),
    Column("peer_url", Text, nullable=False),
    Column("remote_processid", String(64), nullable=False, default=""),
    Column("forwarded", BigInteger, nullable=False),
    # the running lease: for a started process with a maxexectime, when it may be re-run elsewhere
    # if the peer stays silent (0 = the configured running lease, counted from the last answer)
    Column("lease_expires", BigInteger, nullable=False, default=0),
    Column("started", BigInteger, nullable=False, default=0),  # when the peer was allowed to start it; 0 = queued there
)
Index("federation_outbound_by_lease", outbound.c.lease_expires)
Index("federation_outbound_by_peer", outbound.c.peer_node, outbound.c.started)

# a process that runs here for a peer (the peer is its origin); deleted once the origin has the result
inbound = Table(
    "federation_inbound",
    metadata,
    Column("processid", String(64), primary_key=True),
    Column("origin_node", String(64), nullable=False),
    Column("origin_processid", String(64), nullable=False),
    Column("origin_url", Text, nullable=False),
    Column("reported", Boolean, nullable=False, default=False),
    Column("received", BigInteger, nullable=False, default=0),  # local time the forward arrived
)
Index("federation_inbound_by_origin", inbound.c.origin_node, inbound.c.origin_processid, unique=True)
Index("federation_inbound_unreported", inbound.c.reported)

O = outbound.c
I = inbound.c
P = processes.c
TERMINAL = (SUCCESS, FAILED, CANCELLED)
COUNT_CAP = 100_000  # counts shown in status stop here
MIN_GRANTED_LEASE = 30  # seconds: the running lease of work granted with its forward, at least
_json = msgspec.json.Encoder()


def _ids(name: str = "ids") -> Any:
    return bindparam(name, expanding=True)


def _param(name: str) -> Any:
    return bindparam(name)


# Statements are built once: SQLAlchemy then only looks up their compiled form, which on these
# paths costs a fraction of building the statement again on every call.
def _capped(*where: Any) -> Any:
    inner = select(P.processid).where(*where).limit(COUNT_CAP).subquery()
    return select(func.count()).select_from(inner)


_waiting_count = _capped(P.colonyname == _param("colony"), P.executortype == _param("type"), assignable)
_running_count = _capped(P.colonyname == _param("colony"), P.executortype == _param("type"), P.state == RUNNING)
_first_type = select(P.executortype).where(P.colonyname == _param("colony"), assignable).order_by(P.executortype).limit(1)
_next_type = (
    select(P.executortype).where(P.colonyname == _param("colony"), assignable, P.executortype > _param("after")).order_by(P.executortype).limit(1)
)
_candidates = (
    select(P.processid)
    .where(P.colonyname == _param("colony"), P.executortype == _param("type"), assignable, ~exists().where(I.processid == P.processid))
    .order_by(P.prioritytime)
    .limit(_param("limit"))
)
_forwards_of = select(P.processid, P.spec, P.input).where(P.processid.in_(_ids()))
_held = (
    select(O.processid, O.peer_node, O.peer_url, O.remote_processid, O.forwarded, O.started, O.lease_expires, P.colonyname, P.executortype)
    .select_from(outbound.join(processes, P.processid == O.processid))
    .where(P.state == RUNNING, P.assignedexecutorid == O.peer_node)
    .order_by(O.forwarded)
    .limit(_param("limit"))
)
_orphans = delete(outbound).where(
    O.processid.in_(
        select(O.processid)
        .where(~exists().where(P.processid == O.processid, P.state == RUNNING, P.assignedexecutorid == O.peer_node))
        .limit(1000)
        .scalar_subquery()
    )
)
_mark_started = update(outbound).where(O.processid.in_(_ids()), O.peer_node == _param("peer"), O.started == 0).values(started=_param("now"))
_held_by = select(O.processid).where(O.processid.in_(_ids()), O.peer_node == _param("peer"))
_held_unstarted_by = select(O.processid).where(O.processid.in_(_ids()), O.peer_node == _param("peer"), O.started == 0)
_outbound_of = select(O.processid, O.peer_node).where(O.processid.in_(_ids()))
_delete_outbound = delete(outbound).where(O.processid.in_(_ids()))
_runs_at_peer = select(P.processid).where(P.processid.in_(_ids()), P.state == RUNNING, P.assignedexecutorid == _param("peer"))
_where = select(O.peer_node, O.peer_url, O.started, O.remote_processid).where(O.processid == _param("pid"))
_copies = (
    select(I.processid, I.origin_processid, P.state)
    .select_from(inbound.outerjoin(processes, P.processid == I.processid))
    .where(I.origin_node == _param("origin"), I.origin_processid.in_(_ids()))
)
_inbound_of = select(inbound).where(I.processid == _param("pid"))
# forwarded-in copies next in line for a type (the assign index, then the inbound row by key)
_next_copies = (
    select(P.processid, I.origin_node, I.origin_url, I.origin_processid)
    .select_from(processes.join(inbound, I.processid == P.processid))
    .where(P.colonyname == _param("colony"), P.executortype == _param("type"), assignable)
    .order_by(P.prioritytime)
    .limit(_param("limit"))
)
_copies_of_origin = (
    select(I.processid, I.origin_processid, I.received, P.state)
    .select_from(inbound.outerjoin(processes, P.processid == I.processid))
    .where(I.origin_node == _param("origin"))
    .limit(_param("limit"))
)
_states = select(P.processid, P.state).where(P.processid.in_(_ids()))
_delete_inbound = delete(inbound).where(I.processid.in_(_ids()))
_ended_columns = (I.processid, I.origin_node, I.origin_url, I.origin_processid, P.state, P.output, P.errors)
_ended = (
    select(*_ended_columns)
    .select_from(inbound.join(processes, P.processid == I.processid))
    .where(P.state.in_(TERMINAL))
    .order_by(P.endtime)
    .limit(_param("limit"))
)
_ended_of = (
    select(*_ended_columns)
    .select_from(inbound.join(processes, P.processid == I.processid))
    .where(P.state.in_(TERMINAL), I.origin_node == _param("origin"), I.origin_processid.in_(_ids()))
    .order_by(P.endtime)
    .limit(_param("limit"))
)
_acknowledge = delete(inbound).where(I.origin_node == _param("origin"), I.origin_processid.in_(_ids()))
_insert_outbound = Prepared(insert(outbound))
_set_remote_id = Prepared(
    update(outbound)
    .where(O.processid == bindparam("b_processid"), O.peer_node == bindparam("b_peer"))
    .values(remote_processid=bindparam("b_remote"))
)
_grant = Prepared(update(outbound).where(O.processid == bindparam("b_processid")).values(started=bindparam("b_now"), lease_expires=bindparam("b_lease")))
_insert_inbound = Prepared(insert(inbound))
# one outbound row with the state of its process: the per-row checks of results and start requests
_held_row = Prepared(
    select(O.peer_node, O.started, P.state, P.assignedexecutorid, P.maxexectime)
    .select_from(outbound.join(processes, P.processid == O.processid))
    .where(O.processid == bindparam("b_processid"))
)
_delete_outbound_row = Prepared(delete(outbound).where(O.processid == bindparam("b_processid")))


# --- origin: what to forward ----------------------------------------------------------------
def waiting_types(conn: Connection, colonyname: str, limit: int = 1000) -> list[str]:
    """Executor types with assignable waiting processes, by skipping through the assign index
    (one index seek per type, however many processes wait)."""
    types: list[str] = []
    after = conn.execute(_first_type, {"colony": colonyname}).scalar()
    while after is not None and len(types) < limit:
        types.append(after)
        after = conn.execute(_next_type, {"colony": colonyname, "after": after}).scalar()
    return types


def candidates(conn: Connection, colonyname: str, executortype: str, limit: int) -> list[str]:
    """The oldest assignable processes of one type, except work forwarded here (no multi-hop)."""
    return [r[0] for r in conn.execute(_candidates, {"colony": colonyname, "type": executortype, "limit": limit})]


def waiting_count(conn: Connection, colonyname: str, executortype: str) -> int:
    return int(conn.execute(_waiting_count, {"colony": colonyname, "type": executortype}).scalar() or 0)


def running_count(conn: Connection, colonyname: str, executortype: str) -> int:
    return int(conn.execute(_running_count, {"colony": colonyname, "type": executortype}).scalar() or 0)


def claim_for_peers(conn: Connection, assignments: Sequence[tuple[str, str, str, bool]], now: int) -> list[ProcessRecord]:
    """WAITING → RUNNING at a peer (the peer's node id as the assignee) with an outbound row, for
    each (processid, peer node, peer url, granted); what was taken meanwhile is skipped. A granted
    process counts as started there from now on. Returns the claimed records (a step of
    node/domain/processes.py: the caller's transition adds their workflow consequences)."""
    claimed: list[ProcessRecord] = []
    rows = []
    for processid, peer_node, peer_url, granted in assignments:
        record = pq.claim_for_peer(conn, processid=processid, peer_node=peer_node, now=now)
        if record is None:
            continue
        claimed.append(record)
        maxexec = record.maxexectime if granted else 0
        # a granted copy may start up to the grant window after arrival: its lease covers that
        lease = now + max(maxexec, MIN_GRANTED_LEASE) * NS if maxexec > 0 else 0
        rows.append({
            "processid": processid, "peer_node": peer_node, "peer_url": peer_url, "remote_processid": "", "forwarded": now,
            "lease_expires": lease, "started": now if granted else 0,
        })
    if rows:
        conn.execute(_delete_outbound, {"ids": [r["processid"] for r in rows]})
        _insert_outbound.run_many(conn, rows)
    return claimed


def forwards_of(conn: Connection, processids: Sequence[str]) -> dict[str, tuple[bytes, list[Any]]]:
    rows = conn.execute(_forwards_of, {"ids": list(processids)})
    return {r.processid: (r.spec.encode(), msgspec.json.decode(r.input)) for r in rows}


def set_remote_ids(conn: Connection, peer_node: str, ids: Iterable[tuple[str, str]]) -> None:
    _set_remote_id.run_many(conn, [{"b_processid": pid, "b_peer": peer_node, "b_remote": remote} for pid, remote in ids])


# --- origin: what peers hold ----------------------------------------------------------------
def held_by_peers(conn: Connection, limit: int, *, clean: bool = False) -> dict[str, list[Any]]:
    """Outbound rows per peer whose process still runs there; with `clean`, rows whose process
    ended or went (removed with its colony, say) are deleted on the way."""
    held = conn.execute(_held, {"limit": limit}).all()
    if clean:
        conn.execute(_orphans)
    by_peer: dict[str, list[Any]] = collections.defaultdict(list)
    for row in held:
        by_peer[row.peer_node].append(row)
    return by_peer


def _held_by_row(conn: Connection, processid: str, peer_node: str) -> dict[str, Any] | None:
    """The outbound row of a process this node holds `peer_node` responsible for (still running
    there), else None."""
    row = _held_row.first(conn, {"b_processid": processid})
    if row is None or row["peer_node"] != peer_node or row["state"] != RUNNING or row["assignedexecutorid"] != peer_node:
        return None
    return row


def grant_starts(conn: Connection, peer_node: str, origin_processids: Sequence[str], now: int) -> tuple[list[str], list[str]]:
    """The peer asks to start these: granted while this node still holds the peer responsible."""
    granted, revoked, leases = [], [], []
    for pid in dict.fromkeys(origin_processids):
        row = _held_by_row(conn, pid, peer_node)
        if row is None:
            revoked.append(pid)
            continue
        granted.append(pid)
        maxexec = int(row["maxexectime"])
        leases.append({"b_processid": pid, "b_now": now, "b_lease": now + maxexec * NS if maxexec > 0 else 0})
    if leases:
        _grant.run_many(conn, leases)
    return granted, revoked


def mark_started(conn: Connection, peer_node: str, processids: Sequence[str], now: int) -> None:
    """The peer says these run (a start we granted whose reply it may have missed)."""
    conn.execute(_mark_started, {"ids": list(processids), "peer": peer_node, "now": now})


def _running_at(conn: Connection, peer_node: str, processids: Sequence[str]) -> set[str]:
    return {r[0] for r in conn.execute(_runs_at_peer, {"ids": list(processids), "peer": peer_node})}


def take_back(conn: Connection, peer_node: str, processids: Sequence[str], now: int, *, unstarted_only: bool) -> tuple[list[ProcessRecord], list[str]]:
    """These go back into our queue (not counted as a retry); the released records (a step, as
    above) and the ids taken back (to revoke at the peer)."""
    query = _held_unstarted_by if unstarted_only else _held_by
    ids = [r[0] for r in conn.execute(query, {"ids": list(processids), "peer": peer_node})]
    if not ids:
        return [], []
    running = _running_at(conn, peer_node, ids)
    conn.execute(_delete_outbound, {"ids": ids})
    released = [pq.release(conn, processid=pid, now=now, count_retry=False) for pid in ids if pid in running]
    return [r for r in released if r is not None], ids


def forget_outbound(conn: Connection, processids: Sequence[str]) -> dict[str, list[str]]:
    """Cancelled (or otherwise ended) here: drop their outbound rows; which peer held which."""
    rows = conn.execute(_outbound_of, {"ids": list(processids)}).all()
    conn.execute(_delete_outbound, {"ids": [r.processid for r in rows]})
    by_peer: dict[str, list[str]] = collections.defaultdict(list)
    for row in rows:
        by_peer[row.peer_node].append(row.processid)
    return by_peer


def remove_unstarted(conn: Connection, processid: str) -> str | None:
    """Remove a process that only waits at a peer; the peer's node id, or None if it has started."""
    row = conn.execute(_where, {"pid": processid}).first()
    if row is None or row.started:
        return None
    conn.execute(_delete_outbound, {"ids": [processid]})
    pq.remove(conn, processid)
    return str(row.peer_node)


def apply_results(conn: Connection, sender: str, results: Sequence[Result], now: int) -> list[ProcessRecord]:
    """Close what the sender holds (a step, as above); anything else is a late duplicate and is dropped."""
    changed: list[ProcessRecord | None] = []
    seen: set[str] = set()
    for result in results:
        pid = result.origin_processid
        if pid in seen or result.state not in TERMINAL:
            continue
        seen.add(pid)  # a result listed twice is taken once
        row = _held_row.first(conn, {"b_processid": pid})
        if row is None or row["peer_node"] != sender:
            continue
        _delete_outbound_row.run(conn, {"b_processid": pid})
        if row["state"] != RUNNING or row["assignedexecutorid"] != sender:
            continue
        if result.state == CANCELLED:  # handed back (the peer leaves, or its copy was cancelled there)
            changed.append(pq.release(conn, processid=pid, now=now, count_retry=False))
        elif result.state == SUCCESS:
            changed.append(pq.close(conn, processid=pid, executorid=sender, state=SUCCESS, now=now, output=_json.encode(result.output)))
        else:
            changed.append(pq.close(conn, processid=pid, executorid=sender, state=FAILED, now=now, errors=_json.encode(result.errors)))
    return [r for r in changed if r is not None]


def where_it_runs(conn: Connection, processid: str) -> Any:
    return conn.execute(_where, {"pid": processid}).first()


# --- receiving side -------------------------------------------------------------------------
def inbound_copies(conn: Connection, origin_node: str, origin_processids: Sequence[str]) -> dict[str, Any]:
    """This origin's copies here by origin process id, with their local state."""
    return {r.origin_processid: r for r in conn.execute(_copies, {"origin": origin_node, "ids": list(origin_processids)})}


def accept_forwards(conn: Connection, origin_node: str, origin_url: str, rows: Sequence[tuple[dict[str, Any], list[dict[str, Any]], str]], now: int) -> tuple[dict[str, str], list[ProcessRecord]]:
    """Store forwarded processes (row, attributes, origin process id): a copy that still waits or
    runs here is kept (a repeated forward), an ended or lost one is replaced (a new attempt).
    Origin process id → local process id, and the new records to publish."""
    existing = inbound_copies(conn, origin_node, [origin for _, _, origin in rows])
    ids: dict[str, str] = {}
    created: list[ProcessRecord] = []
    replaced: list[str] = []
    links = []
    for row, attrs, origin_processid in rows:
        copy = existing.get(origin_processid)
        if copy is not None and copy.state in (WAITING, RUNNING):
            ids[origin_processid] = copy.processid
            continue
        if copy is not None:
            replaced.append(copy.processid)
        created.append(pq.insert_process(conn, row, attrs))
        links.append({"processid": row["processid"], "origin_node": origin_node, "origin_processid": origin_processid, "origin_url": origin_url, "reported": False, "received": now})
        ids[origin_processid] = row["processid"]
    if replaced:
        conn.execute(_delete_inbound, {"ids": replaced})
    if links:
        _insert_inbound.run_many(conn, links)
    return ids, created


def inbound_of_process(conn: Connection, processid: str) -> Any:
    return conn.execute(_inbound_of, {"pid": processid}).first()


def next_copies(conn: Connection, colonyname: str, executortype: str, limit: int) -> list[Any]:
    """The forwarded-in copies of a type that executors here would be handed next, in queue order."""
    return conn.execute(_next_copies, {"colony": colonyname, "type": executortype, "limit": limit}).all()


def copies_of_origin(conn: Connection, origin_node: str, limit: int) -> list[Any]:
    return conn.execute(_copies_of_origin, {"origin": origin_node, "limit": limit}).all()


def drop_copies(conn: Connection, processids: Sequence[str], now: int) -> list[ProcessRecord]:
    """Revoked by their origin: a waiting copy is removed, a running one cancelled (its executor's
    close will be refused), an ended one forgotten; never reported."""
    if not processids:
        return []
    states = dict(conn.execute(_states, {"ids": list(processids)}).all())
    conn.execute(_delete_inbound, {"ids": list(processids)})
    cancelled = []
    for pid in processids:
        state = states.get(pid)
        if state == WAITING:
            pq.remove(conn, pid)
        elif state == RUNNING:
            cancelled.append(pq.cancel(conn, processid=pid, now=now))
    return [r for r in cancelled if r is not None]


def result_of(origin_processid: str, row: Any) -> Result:
    return Result(
        origin_processid=origin_processid,
        state=row.state,
        output=msgspec.json.decode(row.output),
        errors=msgspec.json.decode(row.errors),
        remote_processid=row.processid,
    )


def ended_unreported(conn: Connection, limit: int, origin_node: str | None = None, origin_processids: Sequence[str] | None = None) -> list[tuple[Any, Result]]:
    """Copies that ended here and whose origin has not acknowledged them, earliest end first
    (all of them, or those of one origin among `origin_processids`)."""
    if origin_node is None:
        rows = conn.execute(_ended, {"limit": limit})
    else:
        rows = conn.execute(_ended_of, {"limit": limit, "origin": origin_node, "ids": list(origin_processids or [])})
    return [(row, result_of(row.origin_processid, row)) for row in rows]


def acknowledge(conn: Connection, origin_node: str, origin_processids: Sequence[str]) -> None:
    if origin_processids:
        conn.execute(_acknowledge, {"origin": origin_node, "ids": list(origin_processids)})


def hand_back(conn: Connection, limit: int = 10_000) -> list[Any]:
    """Forwarded work not started here: removed, to be returned to its origins."""
    rows = conn.execute(
        select(I.processid, I.origin_node, I.origin_url, I.origin_processid)
        .select_from(inbound.join(processes, P.processid == I.processid))
        .where(P.state == WAITING)
        .limit(limit)
    ).all()
    for row in rows:
        pq.remove(conn, row.processid)
    conn.execute(_delete_inbound, {"ids": [r.processid for r in rows]})
    return rows


def inbound_running(conn: Connection) -> int:
    inner = (
        select(I.processid)
        .select_from(inbound.join(processes, P.processid == I.processid))
        .where(P.state.notin_(TERMINAL))
        .limit(COUNT_CAP)
        .subquery()
    )
    return int(conn.execute(select(func.count()).select_from(inner)).scalar() or 0)


def counts(conn: Connection) -> dict[str, Any]:
    """Work in flight: ours at each peer (queued there / started there), theirs held here."""
    out = conn.execute(
        select(O.peer_node, O.peer_url, O.started > 0, func.count()).group_by(O.peer_node, O.peer_url, O.started > 0)
    ).all()
    into = conn.execute(
        select(I.origin_node, I.origin_url, func.count())
        .select_from(inbound.join(processes, P.processid == I.processid))
        .where(P.state.notin_(TERMINAL))
        .group_by(I.origin_node, I.origin_url)
    ).all()
    peers: dict[str, dict[str, Any]] = collections.defaultdict(lambda: {"apiurl": "", "waiting": 0, "running": 0, "forwardedin": 0})
    for node, url, started, count in out:
        peers[node]["apiurl"] = url
        peers[node]["running" if started else "waiting"] += count
    for node, url, count in into:
        peers[node]["apiurl"] = peers[node]["apiurl"] or url
        peers[node]["forwardedin"] += count
    return {
        "forwardedout": sum(p["waiting"] + p["running"] for p in peers.values()),
        "forwardedin": sum(p["forwardedin"] for p in peers.values()),
        "peers": dict(peers),
    }
