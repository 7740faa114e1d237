"""Process graphs (workflows): storage, and the writes a member's state change causes.

Every function runs inside the caller's transaction, so a close and the children it unblocks
(or the descendants its failure dooms) commit together.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import msgspec
from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from colonies import models
from colonies.models import CANCELLED, FAILED, RUNNING, SUCCESS, WAITING
from colonies.node.store import processes as pq
from colonies.node.store.processes import ProcessRecord
from colonies.node.store.schema import attributes, in_graph, metadata, processes
from colonies.timefmt import format_ns

processgraphs = Table(
    "processgraphs",
    metadata,
    Column("processgraphid", String(64), primary_key=True),
    Column("colonyname", String(256), nullable=False),
    Column("initiatorid", String(64), nullable=False),
    Column("initiatorname", String(256), nullable=False, default=""),
    Column("rootprocessids", Text, nullable=False, default="[]"),
    Column("state", Integer, nullable=False),
    Column("submissiontime", BigInteger, nullable=False),
    Column("starttime", BigInteger, nullable=False, default=0),
    Column("endtime", BigInteger, nullable=False, default=0),
)
Index("processgraphs_by_state", processgraphs.c.colonyname, processgraphs.c.state, processgraphs.c.submissiontime)

G = processgraphs.c
P = processes.c
TERMINAL = (SUCCESS, FAILED, CANCELLED)
PARENT_FAILED = "Parent process {} failed"

_json = msgspec.json.Encoder()


def _members_of(processgraphid: str) -> tuple[Any, Any]:
    """Where a process belongs to the graph; the literal condition lets it use processes_by_graph."""
    return P.processgraphid == processgraphid, in_graph

_list = msgspec.json.Decoder(list[Any])
_ids = msgspec.json.Decoder(list[str])


# --- creation -------------------------------------------------------------------------------
def insert_graph(
    conn: Connection, graph: dict[str, Any], rows: list[dict[str, Any]], attrs: list[dict[str, Any]]
) -> list[ProcessRecord]:
    conn.execute(insert(processgraphs), [graph])
    return pq.insert_processes(conn, rows, attrs)


# --- what a change of a member causes (node/domain/processes.py decides when) ----------------
def _members(conn: Connection, ids: Sequence[str]) -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    for piece in pq.slices(ids):
        rows = conn.execute(
            select(P.processid, P.state, P.waitforparents, P.parents, P.children, P.output).where(P.processid.in_(piece))
        )
        found.update((r.processid, r._mapping) for r in rows)
    return found


def unblock_children(conn: Connection, parentid: str) -> list[ProcessRecord]:
    """Children whose parents have all succeeded become assignable; their `in` is the parents' `out`.
    A few statements whatever the fan-out: children and their parents are read a slice at a time,
    and the children that get the same input are updated together."""
    parent = _members(conn, [parentid]).get(parentid)
    if parent is None:
        return []
    children = _members(conn, _ids.decode(parent["children"]))
    parents_of = {
        childid: _ids.decode(child["parents"])
        for childid, child in children.items()
        if child["waitforparents"] and child["state"] == WAITING
    }
    parents = _members(conn, sorted({pid for pids in parents_of.values() for pid in pids}))
    by_input: dict[str, list[str]] = {}
    for childid, parentids in parents_of.items():
        if any(parents.get(pid, {}).get("state") != SUCCESS for pid in parentids):
            continue
        inputs: list[Any] = []
        for pid in parentids:
            inputs.extend(_list.decode(parents[pid]["output"]))
        by_input.setdefault(_json.encode(inputs).decode(), []).append(childid)
    for encoded, ids in by_input.items():
        for piece in pq.slices(ids):
            conn.execute(
                update(processes)
                .where(P.processid.in_(piece), P.waitforparents == True)  # noqa: E712
                .values(waitforparents=False, input=encoded)
            )
    unblocked = {childid for ids in by_input.values() for childid in ids}
    return pq.get_records(conn, [childid for childid in children if childid in unblocked])


def fail_descendants(conn: Connection, failedid: str, now: int) -> list[ProcessRecord]:
    """Processes that can now never run (a parent failed) fail too; nothing that already ran is touched."""
    errors = _json.encode([PARENT_FAILED.format(failedid)])
    failed: list[ProcessRecord] = []
    frontier = [failedid]
    seen = {failedid}
    while frontier:
        current = _members(conn, frontier)
        frontier = []
        for member in current.values():
            for childid in _ids.decode(member["children"]):
                if childid in seen:
                    continue
                seen.add(childid)
                frontier.append(childid)
        failed.extend(pq.fail_waiting_many(conn, frontier, now=now, errors=errors))
    return failed


def _graph_state(present: set[int]) -> int:
    """The graph's state from the states its members are in."""
    if FAILED in present:
        return FAILED
    if CANCELLED in present:
        return CANCELLED
    if present == {SUCCESS}:
        return SUCCESS
    if SUCCESS in present or RUNNING in present:
        return RUNNING
    return WAITING


_MEMBER_STATES = (WAITING, RUNNING, SUCCESS, FAILED, CANCELLED)


def _present_states(conn: Connection, processgraphid: str) -> set[int]:
    """Which member states occur in the graph: one index seek per state (processes_by_graph), so
    a member's change costs the same in a graph of 10 or of 10,000."""
    probes = [
        select(P.processid).where(*_members_of(processgraphid), P.state == state).limit(1).exists()
        for state in _MEMBER_STATES
    ]
    found = conn.execute(select(*probes)).one()
    return {state for state, hit in zip(_MEMBER_STATES, found) if hit}


def refresh_state(conn: Connection, processgraphid: str, now: int) -> int:
    """Recompute the graph's state from its members; set start and end times on the way."""
    state = _graph_state(_present_states(conn, processgraphid))
    graph = conn.execute(select(G.state, G.starttime, G.endtime).where(G.processgraphid == processgraphid)).first()
    if graph is None or graph.state == state:
        return state
    values: dict[str, Any] = {"state": state}
    if state != WAITING and not graph.starttime:
        values["starttime"] = now
    if state in TERMINAL:
        values["endtime"] = now
    conn.execute(update(processgraphs).where(G.processgraphid == processgraphid).values(**values))
    return state


# --- cancel / remove ------------------------------------------------------------------------
def cancel_graph(conn: Connection, processgraphid: str, now: int) -> list[ProcessRecord] | None:
    """Waiting and running members → CANCELLED, graph → CANCELLED; None if the graph had ended."""
    graph = conn.execute(select(G.state).where(G.processgraphid == processgraphid)).first()
    if graph is None or graph.state in TERMINAL:
        return None
    ids = conn.execute(
        select(P.processid).where(*_members_of(processgraphid), P.state.in_((WAITING, RUNNING)))
    ).scalars().all()
    cancelled = pq.cancel_many(conn, ids, now=now)
    conn.execute(update(processgraphs).where(G.processgraphid == processgraphid).values(state=CANCELLED, endtime=now))
    return cancelled


def remove_graph(conn: Connection, processgraphid: str) -> int:
    return _remove_graph_rows(conn, processgraphid)[0]


def _remove_graph_rows(conn: Connection, processgraphid: str) -> tuple[int, int]:
    """The graph with its processes, their attributes and channels; (graphs, processes) removed."""
    from colonies.node.store import channels

    ids = select(P.processid).where(*_members_of(processgraphid))
    channels.delete_for_processes(conn, ids)
    conn.execute(delete(attributes).where(attributes.c.targetid.in_(ids)))
    members = conn.execute(delete(processes).where(*_members_of(processgraphid))).rowcount
    return conn.execute(delete(processgraphs).where(G.processgraphid == processgraphid)).rowcount, members


def remove_graphs_batch(conn: Connection, colonyname: str, state: int, limit: int) -> int:
    """Remove the colony's graphs in `state` (not RUNNING), each whole, until about `limit` rows
    (graphs and their processes) went; the rows removed. Fewer than `limit`: none is left."""
    ids = conn.execute(select(G.processgraphid).where(G.colonyname == colonyname, G.state == state).limit(limit)).scalars().all()
    removed = 0
    for graphid in ids:
        if removed >= limit:
            break
        graphs, members = _remove_graph_rows(conn, graphid)
        removed += graphs + members
    return removed


def remove_colony_graphs(conn: Connection, colonyname: str, limit: int | None = None) -> int:
    """The colony's graph rows (its processes go separately); at most `limit` of them."""
    ids = select(G.processgraphid).where(G.colonyname == colonyname).limit(limit).scalar_subquery()
    return conn.execute(delete(processgraphs).where(G.processgraphid.in_(ids))).rowcount


# --- dynamic children -----------------------------------------------------------------------
def add_child(
    conn: Connection,
    *,
    row: dict[str, Any],
    attrs: list[dict[str, Any]],
    parentid: str,
    childid: str,
    insert_between: bool,
) -> ProcessRecord:
    """Insert a new process under `parentid` (insert: taking over its children; else beside them)."""
    parent = _members(conn, [parentid])[parentid]
    parent_children = _ids.decode(parent["children"])
    newid = row["processid"]
    if insert_between:
        row["children"] = _json.encode(parent_children).decode()
        for pid, member in _members(conn, parent_children).items():
            parents = [newid if p == parentid else p for p in _ids.decode(member["parents"])]
            conn.execute(update(processes).where(P.processid == pid).values(parents=_json.encode(parents).decode()))
        parent_children = [newid]
    else:
        parent_children = [*parent_children, newid]
        if childid:
            target = _members(conn, [childid]).get(childid)
            if target is not None:
                row["children"] = _json.encode([childid]).decode()
                parents = [*_ids.decode(target["parents"]), newid]
                conn.execute(
                    update(processes)
                    .where(P.processid == childid)
                    .values(parents=_json.encode(parents).decode(), waitforparents=True)
                )
    conn.execute(update(processes).where(P.processid == parentid).values(children=_json.encode(parent_children).decode()))
    return pq.insert_process(conn, row, attrs)


# --- reads ----------------------------------------------------------------------------------
_STYLE = {
    WAITING: ("#ffffff", "#6c757d"),
    RUNNING: ("#ffffff", "#0d6efd"),
    SUCCESS: ("#ffffff", "#198754"),
    FAILED: ("#ffffff", "#dc3545"),
    CANCELLED: ("#ffffff", "#adb5bd"),
}


def graph_from_row(conn: Connection, g: Mapping[str, Any], *, detailed: bool = True) -> models.ProcessGraph:
    graph = models.ProcessGraph(
        processgraphid=g["processgraphid"],
        initiatorid=g["initiatorid"],
        initiatorname=g["initiatorname"],
        colonyname=g["colonyname"],
        rootprocessids=_ids.decode(g["rootprocessids"]),
        state=g["state"],
        submissiontime=format_ns(g["submissiontime"]),
        starttime=format_ns(g["starttime"]),
        endtime=format_ns(g["endtime"]),
    )
    if not detailed:
        return graph
    rows = conn.execute(
        select(P.processid, P.state, P.parents, P.children, P.spec)
        .where(*_members_of(g["processgraphid"]))
        .order_by(P.submissiontime, P.processid)
    ).all()
    graph.processids = [r.processid for r in rows]
    states = {r.processid: r.state for r in rows}
    depth = _depths(graph.rootprocessids, {r.processid: _ids.decode(r.children) for r in rows})
    per_level: dict[int, int] = {}
    for r in rows:
        level = depth.get(r.processid, 0)
        column = per_level.get(level, 0)
        per_level[level] = column + 1
        children = _ids.decode(r.children)
        color, background = _STYLE.get(r.state, _STYLE[WAITING])
        nodename = msgspec.json.decode(r.spec, type=models.FunctionSpec).nodename
        graph.nodes.append(
            models.GraphNode(
                id=r.processid,
                data=models.GraphNodeData(label=nodename),
                position=models.GraphNodePosition(x=column * 200, y=level * 100),
                type="input" if not _ids.decode(r.parents) else ("output" if not children else ""),
                style=models.GraphNodeStyle(color=color, background=background),
            )
        )
        for child in children:
            graph.edges.append(
                models.GraphEdge(id=f"{r.processid}-{child}", source=r.processid, target=child, animated=states.get(r.processid) == RUNNING)
            )
    return graph


def _depths(roots: list[str], children: Mapping[str, list[str]]) -> dict[str, int]:
    depth = {root: 0 for root in roots}
    frontier = list(roots)
    while frontier:
        nxt = []
        for pid in frontier:
            for child in children.get(pid, []):
                if depth.get(child, -1) < depth[pid] + 1 and depth[pid] + 1 <= len(children):
                    depth[child] = depth[pid] + 1
                    nxt.append(child)
        frontier = nxt
    return depth


def get_graph(conn: Connection, processgraphid: str, *, detailed: bool = True) -> models.ProcessGraph | None:
    row = conn.execute(select(processgraphs).where(G.processgraphid == processgraphid)).first()
    return graph_from_row(conn, row._mapping, detailed=detailed) if row else None


def list_graphs(conn: Connection, colonyname: str, state: int, count: int) -> list[models.ProcessGraph]:
    rows = conn.execute(
        select(processgraphs).where(G.colonyname == colonyname, G.state == state).order_by(G.submissiontime.desc()).limit(count)
    ).all()
    return [graph_from_row(conn, r._mapping) for r in rows]


def count_by_state(conn: Connection, colonyname: str | None) -> dict[int, int]:
    query = select(G.state, func.count()).group_by(G.state)
    if colonyname is not None:
        query = query.where(G.colonyname == colonyname)
    return {s: n for s, n in conn.execute(query)}


def leaf_outputs(conn: Connection, processgraphid: str) -> list[Any]:
    rows = conn.execute(
        select(P.children, P.output).where(*_members_of(processgraphid)).order_by(P.submissiontime, P.processid)
    )
    outputs: list[Any] = []
    for r in rows:
        if not _ids.decode(r.children):
            outputs.extend(_list.decode(r.output))
    return outputs
