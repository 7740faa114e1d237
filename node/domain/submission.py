"""Submitting work: a function spec becomes a process row, a workflow spec a process graph
(shared by the submit handlers, crons, generators and blueprints)."""
from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any, Callable

import msgspec
from sqlalchemy.engine import Connection

from colonies import crypto, models
from colonies.models import ENV, WAITING, FunctionSpec, WorkflowSpec
from colonies.timefmt import format_ns
from colonies.node.core import NodeCore
from colonies.node.domain.errors import Invalid
from colonies.node.resources import QuantityError, cpu_millicores, mem_mebibytes
from colonies.node.store import processes as pq
from colonies.node.store import workflows as wq
from colonies.node.store.processes import ProcessRecord

MAX_PRIORITY = 50_000
# 100 years: far beyond any real deadline, and now + it in nanoseconds still fits an int64
MAX_SECONDS = 100 * 365 * 86_400
MAX_RETRIES = 2**31 - 1
MAX_CHANNELS = 100
DAY_NS = 86_400 * 1_000_000_000
NS = 1_000_000_000
MAX_WORKFLOW_SIZE = 10_000
# workflows larger than this are validated, built and inserted off the event loop, and their
# objects freed off it afterwards, FREE_SLICE at a time with a pause between two slices
OFFLOOP_MEMBERS = 200
FREE_SLICE = 250
FREE_PAUSE_S = 0.0005

_json = msgspec.json.Encoder()


def prioritytime(priority: int, submission_ns: int) -> int:
    """Lower runs first: one priority unit weighs as much as one day of queueing (spec §4.1)."""
    return priority * -DAY_NS + submission_ns


def attribute_id(targetid: str, key: str, attributetype: int) -> str:
    return hashlib.sha3_256(f"{targetid}{key}{attributetype}".encode()).hexdigest()


def validate_spec(spec: FunctionSpec) -> FunctionSpec:
    """The normalised spec, or a 400 naming what is wrong."""
    if not -MAX_PRIORITY <= spec.priority <= MAX_PRIORITY:
        raise Invalid(f"Failed to submit function spec, priority outside range [-{MAX_PRIORITY}, {MAX_PRIORITY}]")
    if not spec.conditions.colonyname:
        raise Invalid("Failed to submit function spec, conditions.colonyname is empty")
    if not spec.conditions.executortype:
        raise Invalid("Failed to submit function spec, conditions.executortype is empty")
    for field, upper in (("maxwaittime", MAX_SECONDS), ("maxexectime", MAX_SECONDS), ("maxretries", MAX_RETRIES)):
        value = getattr(spec, field)
        if not -1 <= value <= upper:
            raise Invalid(f"Failed to submit function spec, {field} must be -1 (unlimited) or between 0 and {upper}")
    channels = spec.channels or []
    if len(channels) > MAX_CHANNELS:
        raise Invalid(f"Failed to submit function spec, more than {MAX_CHANNELS} channels")
    if len(set(channels)) != len(channels) or any(not name or len(name) > 256 for name in channels):
        raise Invalid("Failed to submit function spec, channel names must be unique, non-empty and at most 256 characters")
    try:
        cpu_millicores(spec.conditions.cpu)
        mem_mebibytes(spec.conditions.mem)
    except QuantityError as err:
        raise Invalid(f"Failed to submit function spec, {err}") from None
    return spec.normalized()


def process_row(
    spec: FunctionSpec,
    *,
    initiatorid: str,
    initiatorname: str,
    now: int,
    processgraphid: str = "",
    waitforparents: bool = False,
    parents: list[str] | None = None,
    children: list[str] | None = None,
    processid: str | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(process row, attribute rows) for a validated, normalised spec.

    maxexectime and maxwaittime of 0 mean unlimited, as -1 does (upstream fails a process with
    maxexectime 0 about a second after assignment for plain submits; see docs/protocol.md).
    """
    pid = processid or crypto.random_id()
    cond = spec.conditions
    names = cond.executornames or []
    row = {
        "processid": pid,
        "colonyname": cond.colonyname,
        "executortype": cond.executortype,
        "funcname": spec.funcname,
        "label": spec.label,
        "state": WAITING,
        "isassigned": False,
        "waitforparents": waitforparents,
        "prioritytime": prioritytime(spec.priority, now),
        "submissiontime": now,
        "starttime": 0,
        "endtime": 0,
        "waitdeadline": now + spec.maxwaittime * NS if spec.maxwaittime > 0 else 0,
        "execdeadline": 0,
        "retries": 0,
        "maxretries": spec.maxretries,
        "maxexectime": spec.maxexectime,
        "maxwaittime": spec.maxwaittime,
        "initiatorid": initiatorid,
        "initiatorname": initiatorname,
        "assignedexecutorid": "",
        "executornames": _json.encode(names).decode() if names else "",
        "locationname": cond.locationname.lower(),
        "cpu": cpu_millicores(cond.cpu),
        "mem": mem_mebibytes(cond.mem),
        "processgraphid": processgraphid,
        "parents": _json.encode(parents or []).decode(),
        "children": _json.encode(children or []).decode(),
        "hasattributes": bool(spec.env),
        "spec": _json.encode(spec).decode(),
        "input": "[]",
        "output": "[]",
        "errors": "[]",
    }
    attrs = [
        {
            "attributeid": attribute_id(pid, key, ENV),
            "targetid": pid,
            "targetcolonyname": cond.colonyname,
            "targetprocessgraphid": processgraphid,
            "state": WAITING,
            "attributetype": ENV,
            "key": key,
            "value": value,
        }
        for key, value in (spec.env or {}).items()
    ]
    return row, attrs


async def submit_process(core: NodeCore, spec: FunctionSpec, *, initiatorid: str, initiatorname: str) -> models.Process:
    checked = validate_spec(spec)
    row, attrs = process_row(checked, initiatorid=initiatorid, initiatorname=initiatorname, now=core.now_ns())
    [record] = await core.change(lambda conn: [pq.insert_process(conn, row, attrs)])
    return record.process


def validate_workflow(spec: WorkflowSpec) -> list[FunctionSpec]:
    """The workflow's specs, normalised, in submission order; a 400 naming the problem otherwise."""
    if not spec.colonyname:
        raise Invalid("Failed to submit workflow, colonyname is empty")
    specs = spec.functionspecs or []
    if not specs:
        raise Invalid("Failed to submit workflow, it has no function specs")
    if len(specs) > MAX_WORKFLOW_SIZE:
        raise Invalid(f"Failed to submit workflow, more than {MAX_WORKFLOW_SIZE} function specs")
    checked: list[FunctionSpec] = []
    names: set[str] = set()
    for spec_ in specs:
        if not spec_.nodename:
            raise Invalid("Failed to submit workflow, every function spec needs a nodename")
        if spec_.nodename in names:
            raise Invalid(f"Failed to submit workflow, nodename {spec_.nodename} is used twice")
        names.add(spec_.nodename)
        conditions = msgspec.structs.replace(spec_.conditions, colonyname=spec.colonyname)
        checked.append(validate_spec(msgspec.structs.replace(spec_, conditions=conditions)))
    for spec_ in checked:
        for dependency in spec_.conditions.dependencies or []:
            if dependency not in names:
                raise Invalid(f"Failed to submit workflow, {spec_.nodename} depends on unknown nodename {dependency}")
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
                raise Invalid(f"Failed to submit workflow, dependencies form a cycle through {nxt}")
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
    A big workflow's `spec.functionspecs` is emptied once it is stored (freed off the loop).
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
    graph = models.ProcessGraph(
        processgraphid=graph_row["processgraphid"],
        initiatorid=initiatorid,
        initiatorname=initiatorname,
        colonyname=spec.colonyname,
        rootprocessids=roots,
        state=models.WAITING,
        submissiontime=format_ns(now) if records else "",
        processids=[r["processid"] for r in rows],
    )
    if big:
        core.spawn(asyncio.to_thread(free_in_slices, rows, attrs, records, spec.functionspecs or []))
    return graph


def free_in_slices(*lists: list[Any]) -> None:
    """Empty these lists a slice at a time, handing the GIL over between two slices. Freeing a
    big workflow's 10,000 rows, records or specs in one go holds the GIL for 15-20 ms each, on
    whichever thread drops the last reference: usually the event loop's, when the reply is sent."""
    for items in lists:
        while items:
            del items[-FREE_SLICE:]
            time.sleep(FREE_PAUSE_S)


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
    if len(specs) > OFFLOOP_MEMBERS:  # this runs in a worker thread: its copies go from here
        free_in_slices(specs)
    return graph_row, rows, attrs, roots


async def add_child(
    core: NodeCore,
    spec: FunctionSpec,
    *,
    parent: ProcessRecord,
    initiatorid: str,
    initiatorname: str,
    childid: str,
    insert_between: bool,
    now: int,
) -> models.Process:
    """A new member of the parent's workflow, waiting for the parent: with `insert_between` it takes
    over the parent's children, else it joins them (and becomes a parent of `childid`, if given)."""
    conditions = msgspec.structs.replace(spec.conditions, colonyname=parent.colonyname, dependencies=[])
    row, attrs = process_row(
        validate_spec(msgspec.structs.replace(spec, conditions=conditions)),
        initiatorid=initiatorid,
        initiatorname=initiatorname,
        now=now,
        processgraphid=parent.processgraphid,
        waitforparents=True,
        parents=[parent.processid],
        processid=crypto.random_id(),
    )

    def write(conn: Connection) -> list[ProcessRecord]:
        record = wq.add_child(
            conn, row=row, attrs=attrs, parentid=parent.processid, childid=childid, insert_between=insert_between
        )
        wq.refresh_state(conn, parent.processgraphid, now)
        return [record]

    [record] = await core.change(write)
    return record.process


async def get_graph(core: NodeCore, processgraphid: str) -> models.ProcessGraph | None:
    return await core.db.read(lambda conn: wq.get_graph(conn, processgraphid))


async def leaf_outputs(core: NodeCore, processgraphid: str) -> list[Any]:
    return await core.db.read(lambda conn: wq.leaf_outputs(conn, processgraphid))
