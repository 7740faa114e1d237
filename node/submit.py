"""Submitting work: single processes and workflows (process graphs), for handlers and services."""
from __future__ import annotations

import asyncio
from typing import Any, Callable

import msgspec
from sqlalchemy.engine import Connection

from colonies import crypto, models
from colonies.models import FunctionSpec, WorkflowSpec
from colonies.node.core import NodeCore
from colonies.node.store import processes as pq
from colonies.node.store import workflows as wq
from colonies.node.store.processes import ProcessRecord
from colonies.node.submission import process_row, validate_spec
from colonies.wire import RPCError

MAX_WORKFLOW_SIZE = 10_000
# workflows larger than this are validated, built and inserted off the event loop
OFFLOOP_MEMBERS = 200


async def submit_process(core: NodeCore, spec: FunctionSpec, *, initiatorid: str, initiatorname: str) -> models.Process:
    checked = validate_spec(spec)
    row, attrs = process_row(checked, initiatorid=initiatorid, initiatorname=initiatorname, now=core.now_ns())
    [record] = await core.change(lambda conn: [pq.insert_process(conn, row, attrs)])
    return record.process


def validate_workflow(spec: WorkflowSpec) -> list[FunctionSpec]:
    """The workflow's specs, normalised, in submission order; a 400 naming the problem otherwise."""
    if not spec.colonyname:
        raise RPCError(400, "Failed to submit workflow, colonyname is empty")
    specs = spec.functionspecs or []
    if not specs:
        raise RPCError(400, "Failed to submit workflow, it has no function specs")
    if len(specs) > MAX_WORKFLOW_SIZE:
        raise RPCError(400, f"Failed to submit workflow, more than {MAX_WORKFLOW_SIZE} function specs")
    checked: list[FunctionSpec] = []
    names: set[str] = set()
    for spec_ in specs:
        if not spec_.nodename:
            raise RPCError(400, "Failed to submit workflow, every function spec needs a nodename")
        if spec_.nodename in names:
            raise RPCError(400, f"Failed to submit workflow, nodename {spec_.nodename} is used twice")
        names.add(spec_.nodename)
        conditions = msgspec.structs.replace(spec_.conditions, colonyname=spec.colonyname)
        checked.append(validate_spec(msgspec.structs.replace(spec_, conditions=conditions)))
    for spec_ in checked:
        for dependency in spec_.conditions.dependencies or []:
            if dependency not in names:
                raise RPCError(400, f"Failed to submit workflow, {spec_.nodename} depends on unknown nodename {dependency}")
    _refuse_cycles(checked)
    return checked


def _refuse_cycles(specs: list[FunctionSpec]) -> None:
    depends = {s.nodename: list(s.conditions.dependencies or []) for s in specs}
    done: set[str] = set()
    for start in depends:
        stack = [(start, iter(depends[start]))]
        on_path = {start}
        while stack:
            node, deps = stack[-1]
            nxt = next(deps, None)
            if nxt is None:
                stack.pop()
                on_path.discard(node)
                done.add(node)
                continue
            if nxt in on_path:
                raise RPCError(400, f"Failed to submit workflow, dependencies form a cycle through {nxt}")
            if nxt not in done:
                on_path.add(nxt)
                stack.append((nxt, iter(depends[nxt])))


async def submit_workflow(
    core: NodeCore,
    spec: WorkflowSpec,
    *,
    initiatorid: str,
    initiatorname: str,
    root_input: list[Any] | None = None,
    root_args: list[Any] | None = None,
    also: Callable[[Connection], Any] | None = None,
) -> models.ProcessGraph:
    """Store a workflow and wake executors for its roots.

    root_input becomes `in` of every root (a cron's previous leaf outputs); root_args replaces every
    root's args and clears its kwargs (a generator's packed arguments). `also` runs in the same
    transaction as the insert (e.g. consuming the arguments it was made from: exactly once).
    """
    now = core.now_ns()
    build = (spec, now, initiatorid, initiatorname, root_input, root_args)
    big = len(spec.functionspecs or ()) > OFFLOOP_MEMBERS
    # a big workflow's rows and its insert are CPU work of up to a second: off the loop
    graph_row, rows, attrs, roots = await asyncio.to_thread(_workflow_rows, *build) if big else _workflow_rows(*build)

    def store(conn: Connection) -> list[ProcessRecord]:
        inserted = wq.insert_graph(conn, graph_row, rows, attrs)
        if also is not None:
            also(conn)
        return inserted

    records = await core.change(store, offloop=big)
    return models.ProcessGraph(
        processgraphid=graph_row["processgraphid"],
        initiatorid=initiatorid,
        initiatorname=initiatorname,
        colonyname=spec.colonyname,
        rootprocessids=roots,
        state=models.WAITING,
        submissiontime=records[0].process.submissiontime if records else "",
        processids=[r["processid"] for r in rows],
    )


def _workflow_rows(
    spec: WorkflowSpec,
    now: int,
    initiatorid: str,
    initiatorname: str,
    root_input: list[Any] | None,
    root_args: list[Any] | None,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """The validated workflow as rows: (graph, processes, attributes, root process ids)."""
    specs = validate_workflow(spec)
    graphid = crypto.random_id()
    ids = {s.nodename: crypto.random_id() for s in specs}
    children: dict[str, list[str]] = {s.nodename: [] for s in specs}
    for s in specs:
        for dependency in s.conditions.dependencies or []:
            children[dependency].append(ids[s.nodename])
    rows: list[dict[str, Any]] = []
    attrs: list[dict[str, Any]] = []
    roots: list[str] = []
    for s in specs:
        dependencies = list(s.conditions.dependencies or [])
        is_root = not dependencies
        if is_root:
            roots.append(ids[s.nodename])
            if root_args is not None:
                s = msgspec.structs.replace(s, args=list(root_args), kwargs={})
        row, mine = process_row(
            s,
            initiatorid=initiatorid,
            initiatorname=initiatorname,
            now=now,
            processgraphid=graphid,
            waitforparents=not is_root,
            parents=[ids[d] for d in dependencies],
            children=children[s.nodename],
            processid=ids[s.nodename],
        )
        if is_root and root_input:
            row["input"] = msgspec.json.encode(root_input).decode()
        rows.append(row)
        attrs.extend(mine)
    graph_row = {
        "processgraphid": graphid,
        "colonyname": spec.colonyname,
        "initiatorid": initiatorid,
        "initiatorname": initiatorname,
        "rootprocessids": msgspec.json.encode(roots).decode(),
        "state": models.WAITING,
        "submissiontime": now,
        "starttime": 0,
        "endtime": 0,
    }
    return graph_row, rows, attrs, roots


async def get_graph(core: NodeCore, processgraphid: str) -> models.ProcessGraph | None:
    return await core.db.read(lambda conn: wq.get_graph(conn, processgraphid))


async def leaf_outputs(core: NodeCore, processgraphid: str) -> list[Any]:
    return await core.db.read(lambda conn: wq.leaf_outputs(conn, processgraphid))
