"""Process queries. Every function takes a Connection and runs inside the caller's transaction."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Sequence

import msgspec
from sqlalchemy import BigInteger, Float, String, bindparam, case, cast, delete, func, insert, literal, or_, select, text, union_all, update
from sqlalchemy.engine import Connection, Row

from colonies import models
from colonies.models import CANCELLED, FAILED, RUNNING, SUCCESS, WAITING
from colonies.node.store.prepared import MANY_SLICE, Prepared
from colonies.node.store.sqlfuncs import text_contains, upsert
from colonies.node.store.schema import attributes, claim_conditioned, claim_open, claim_targeted, ended, executors, functions, processes
from colonies.timefmt import format_ns

P = processes.c
NS = 1_000_000_000
# in SQL: a BIGINT, so that seconds (INTEGER columns) × NS is computed in 64 bits on PostgreSQL
NS_SQL = literal(NS, BigInteger)

_json = msgspec.json.Encoder()


def process_from_row(m: Mapping[str, Any], attrs: Sequence[models.Attribute] = ()) -> models.Process:
    """A wire Process; JSON columns are embedded verbatim (msgspec.Raw) instead of re-parsed."""
    return models.Process(
        processid=m["processid"],
        initiatorid=m["initiatorid"],
        initiatorname=m["initiatorname"],
        assignedexecutorid=m["assignedexecutorid"],
        isassigned=bool(m["isassigned"]),
        state=m["state"],
        prioritytime=m["prioritytime"],
        submissiontime=format_ns(m["submissiontime"]),
        starttime=format_ns(m["starttime"]),
        endtime=format_ns(m["endtime"]),
        waitdeadline=format_ns(m["waitdeadline"]),
        execdeadline=format_ns(m["execdeadline"]),
        retries=m["retries"],
        attributes=list(attrs),
        spec=msgspec.Raw(m["spec"]),  # type: ignore[arg-type]
        waitforparents=bool(m["waitforparents"]),
        parents=msgspec.Raw(m["parents"]),  # type: ignore[arg-type]
        children=msgspec.Raw(m["children"]),  # type: ignore[arg-type]
        processgraphid=m["processgraphid"],
        input=msgspec.Raw(m["input"]),  # type: ignore[arg-type]
        output=msgspec.Raw(m["output"]),  # type: ignore[arg-type]
        errors=msgspec.Raw(m["errors"]),  # type: ignore[arg-type]
    )


def attribute_from_row(m: Mapping[str, Any]) -> models.Attribute:
    return models.Attribute(
        attributeid=m["attributeid"],
        targetid=m["targetid"],
        targetcolonyname=m["targetcolonyname"],
        targetprocessgraphid=m["targetprocessgraphid"],
        state=m["state"],
        attributetype=m["attributetype"],
        key=m["key"],
        value=m["value"],
    )


@dataclass(slots=True)
class ProcessRecord:
    """What the node needs of a process besides its wire form (routing, auth, stats); the wire
    form itself is built from the row when first asked for (a close or a publish without
    subscribers never needs it, and building it is most of the cost of a record)."""

    processid: str
    colonyname: str
    executortype: str
    executornames: str
    locationname: str
    cpu: int
    mem: int
    funcname: str
    state: int
    assignedexecutorid: str
    submissiontime: int
    starttime: int
    processgraphid: str
    maxexectime: int
    waitforparents: bool
    initiatorname: str
    row: Mapping[str, Any] = field(repr=False, compare=False)
    attrs: Sequence[models.Attribute] = field(default=(), repr=False, compare=False)
    _process: models.Process | None = field(default=None, repr=False, compare=False)

    @property
    def process(self) -> models.Process:
        if self._process is None:
            self._process = process_from_row(self.row, self.attrs)
        return self._process


def record_from_row(m: Mapping[str, Any], attrs: Sequence[models.Attribute] = ()) -> ProcessRecord:
    return ProcessRecord(
        processid=m["processid"],
        colonyname=m["colonyname"],
        executortype=m["executortype"],
        executornames=m["executornames"],
        locationname=m["locationname"],
        cpu=m["cpu"],
        mem=m["mem"],
        funcname=m["funcname"],
        state=m["state"],
        assignedexecutorid=m["assignedexecutorid"],
        submissiontime=m["submissiontime"],
        starttime=m["starttime"],
        processgraphid=m["processgraphid"],
        maxexectime=m["maxexectime"],
        waitforparents=bool(m["waitforparents"]),
        initiatorname=m["initiatorname"],
        row=m,
        attrs=attrs,
    )


_attributes_by_target = Prepared(
    select(attributes).where(attributes.c.targetid == bindparam("b_targetid")).order_by(attributes.c.attributetype, attributes.c.key)
)
_attributes_state = Prepared(update(attributes).where(attributes.c.targetid == bindparam("b_targetid")).values(state=bindparam("b_state")))
_select_process = Prepared(select(processes).where(P.processid == bindparam("b_processid")))
_insert_process = Prepared(insert(processes))
_insert_attribute = Prepared(insert(attributes))


def _attributes_of(conn: Connection, processid: str) -> list[models.Attribute]:
    return [attribute_from_row(r) for r in _attributes_by_target.all(conn, {"b_targetid": processid})]


def _with_attributes(conn: Connection, row: Mapping[str, Any] | Row[Any] | None) -> ProcessRecord | None:
    if row is None:
        return None
    m = row._mapping if isinstance(row, Row) else row
    attrs = _attributes_of(conn, m["processid"]) if m["hasattributes"] else ()
    return record_from_row(m, attrs)


def slices(ids: Sequence[str], size: int = MANY_SLICE) -> Iterator[Sequence[str]]:
    """`ids` a bounded IN list at a time."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _records_of_rows(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[ProcessRecord]:
    """Records for many rows, their attributes read in one statement per slice."""
    with_attrs = [m["processid"] for m in rows if m["hasattributes"]]
    by_target: dict[str, list[models.Attribute]] = {}
    for piece in slices(with_attrs):
        found = conn.execute(
            select(attributes).where(attributes.c.targetid.in_(piece)).order_by(attributes.c.attributetype, attributes.c.key)
        )
        for a in found:
            by_target.setdefault(a.targetid, []).append(attribute_from_row(a._mapping))
    return [record_from_row(m, by_target.get(m["processid"], ())) for m in rows]


def get_records(conn: Connection, ids: Sequence[str]) -> list[ProcessRecord]:
    """The processes with these ids that exist, in the order of `ids`."""
    rows: dict[str, Mapping[str, Any]] = {}
    for piece in slices(ids):
        rows.update((r.processid, r._mapping) for r in conn.execute(select(processes).where(P.processid.in_(piece))))
    return _records_of_rows(conn, [rows[i] for i in ids if i in rows])


def _change_many(conn: Connection, ids: Sequence[str], from_states: Sequence[int], to_state: int, values: dict[str, Any]) -> list[ProcessRecord]:
    """The processes among `ids` in one of `from_states` move to `to_state` with `values`, a slice
    at a time (one UPDATE … RETURNING each, their attributes' state in one more); in `ids` order."""
    changed: dict[str, Mapping[str, Any]] = {}
    for piece in slices(ids):
        rows = conn.execute(
            update(processes)
            .where(P.processid.in_(piece), P.state.in_(from_states))
            .values(state=to_state, **values)
            .returning(*processes.c)
        ).all()
        with_attrs = [r.processid for r in rows if r.hasattributes]
        if with_attrs:
            conn.execute(update(attributes).where(attributes.c.targetid.in_(with_attrs)).values(state=to_state))
        changed.update((r.processid, r._mapping) for r in rows)
    return _records_of_rows(conn, [changed[i] for i in ids if i in changed])


def _set_attribute_state(conn: Connection, row: Mapping[str, Any] | Row[Any] | None, state: int) -> None:
    if row is None:
        return
    m = row._mapping if isinstance(row, Row) else row
    if m["hasattributes"]:
        _attributes_state.run(conn, {"b_targetid": m["processid"], "b_state": state})


# --- writes ---------------------------------------------------------------------------------
def target_name(executornames: str) -> str:
    """The one executor name a process is targeted at (its claim lane), else ""."""
    if not executornames:
        return ""
    names = msgspec.json.decode(executornames)
    return names[0] if isinstance(names, list) and len(names) == 1 and isinstance(names[0], str) else ""


OPEN, TARGETED, CONDITIONED = 0, 1, 2


def claim_lane(row: Mapping[str, Any]) -> int:
    if row["targetname"]:
        return TARGETED
    return OPEN if not row["executornames"] and not row["cpu"] and not row["mem"] else CONDITIONED


def _with_lane(row: dict[str, Any]) -> dict[str, Any]:
    row.setdefault("targetname", target_name(row.get("executornames", "")))
    row.setdefault("claimlane", claim_lane(row))
    return row


def insert_processes(conn: Connection, rows: list[dict[str, Any]], attrs: list[dict[str, Any]]) -> list[ProcessRecord]:
    """Many processes (a workflow) in two statements; `attrs` name their process in `targetid`."""
    by_target: dict[str, list[models.Attribute]] = {}
    for a in attrs:
        by_target.setdefault(a["targetid"], []).append(attribute_from_row(a))
    records: list[ProcessRecord] = []
    # slice by slice, so on PostgreSQL (where this runs on the loop) each insert's wait lets
    # requests through between building one slice's records and the next slice's parameters
    for start in range(0, len(rows), MANY_SLICE):
        piece = rows[start : start + MANY_SLICE]
        _insert_process.insert_many(conn, [_with_lane(row) for row in piece])
        records.extend(record_from_row(row, by_target.get(row["processid"], ())) for row in piece)
    if attrs:
        _insert_attribute.insert_many(conn, attrs)
    return records


def insert_process(conn: Connection, row: dict[str, Any], attrs: Iterable[dict[str, Any]] = ()) -> ProcessRecord:
    _insert_process.run(conn, _with_lane(row))
    attr_rows = list(attrs)
    if attr_rows:
        _insert_attribute.run_many(conn, attr_rows)
    return record_from_row(row, [attribute_from_row(a) for a in attr_rows])


def _lane_head(lane: Any, *where: Any) -> Any:
    """The first process in line in one claim lane (schema.py) that the executor can take."""
    return (
        select(P.processid, P.prioritytime)
        .where(P.colonyname == bindparam("b_colonyname"), P.executortype == bindparam("b_executortype"), lane, *where)
        .order_by(P.prioritytime)
        .limit(1)
    )


_fits = (
    or_(P.locationname == "", P.locationname == bindparam("b_locationname")),
    P.cpu <= bindparam("b_availablecpu"),
    P.mem <= bindparam("b_availablemem"),
)
_open_anywhere = _lane_head(claim_open, P.locationname == "")
_open_here = _lane_head(claim_open, P.locationname == bindparam("b_locationname"))
_targeted = _lane_head(claim_targeted, P.targetname == bindparam("b_executorname"), *_fits)
_claimed = dict(
    state=RUNNING,
    isassigned=True,
    assignedexecutorid=bindparam("b_executorid"),
    starttime=bindparam("b_now"),
    endtime=0,
    execdeadline=case((P.maxexectime > 0, bindparam("b_now", type_=BigInteger) + P.maxexectime * NS_SQL), else_=0),
)

# PostgreSQL: one statement (one round trip). Each lane head is locked as it is read, skipping
# rows a concurrent claimer holds, so two writers never pick the same head (the heads not taken
# stay locked until the commit, a moment). SQLite runs this form several times slower than its
# parts, and has one writer.
# The conditioned lane on PostgreSQL: a recursive walk from one requirement shape (cpu, mem) to
# the next (at most MAX_SHAPES), then the head of each shape that fits, locked as it is read. Each
# step is two index seeks, as on SQLite: the next memory of the same cpu that fits, else the next
# cpu. (One row-value seek `(cpu, mem) > (…)` made PostgreSQL walk every process of a shape that
# does not fit: 31 ms per claim behind 100k of them.)
_LANE = "colonyname = :b_colonyname AND executortype = :b_executortype AND state = 0 AND waitforparents = false AND claimlane = 2"
_conditioned_by_shape = (
    text(
        f"""
        WITH RECURSIVE shapes(cpu, mem, n) AS (
            (SELECT cpu, mem, 1 FROM processes WHERE {_LANE} AND cpu <= :b_availablecpu ORDER BY cpu, mem LIMIT 1)
            UNION ALL
            SELECT next.cpu, next.mem, shapes.n + 1 FROM shapes, LATERAL (
                (SELECT cpu, mem FROM processes WHERE {_LANE} AND cpu = shapes.cpu AND mem > shapes.mem AND mem <= :b_availablemem
                 ORDER BY cpu, mem LIMIT 1)
                UNION ALL
                (SELECT cpu, mem FROM processes WHERE {_LANE} AND cpu > shapes.cpu AND cpu <= :b_availablecpu
                 ORDER BY cpu, mem LIMIT 1)
                ORDER BY cpu, mem LIMIT 1
            ) AS next WHERE shapes.n < :b_maxshapes
        )
        SELECT head.processid, head.prioritytime FROM shapes, LATERAL (
            SELECT processid, prioritytime FROM processes
            WHERE {_LANE} AND cpu = shapes.cpu AND mem = shapes.mem
              AND (executornames = '' OR strpos(executornames, :b_quotedname) > 0)
              AND (locationname = '' OR locationname = :b_locationname)
            ORDER BY prioritytime LIMIT 1 FOR UPDATE SKIP LOCKED
        ) AS head WHERE shapes.mem <= :b_availablemem
        """
    )
    .bindparams(bindparam("b_maxshapes", value=64))
    .columns(processid=String(), prioritytime=BigInteger())
)
_lane_heads = union_all(
    *(select(leg.with_for_update(skip_locked=True).subquery()) for leg in (_open_anywhere, _open_here, _targeted)),
    select(_conditioned_by_shape.subquery()),
).subquery()
_claim_candidate = select(_lane_heads.c.processid).order_by(_lane_heads.c.prioritytime).limit(1).scalar_subquery()
_claim = Prepared(update(processes).where(P.processid == _claim_candidate, P.state == WAITING).values(**_claimed).returning(*processes.c))
# SQLite: each lane head by itself (an index seek of microseconds), then the chosen one by id
_lane_heads_apart = {name: Prepared(leg) for name, leg in (("open", _open_anywhere), ("here", _open_here), ("targeted", _targeted))}
# The conditioned lane, by requirement shape (cpu, mem): the shapes in the lane that fit are
# found by skipping from one to the next (each an index seek), and only those shapes' heads are
# read, so work that needs more than the executor offers costs one seek per shape, not per row.
def _shape_seek(*where: Any) -> Prepared:
    return Prepared(
        select(P.cpu, P.mem)
        .where(P.colonyname == bindparam("b_colonyname"), P.executortype == bindparam("b_executortype"), claim_conditioned, *where)
        .order_by(P.cpu, P.mem)
        .limit(1)
    )


# the next shape: more memory at the same cpu, else the next cpu (two seeks: SQLite cannot seek
# on a row-value range and an upper bound together)
_next_mem = _shape_seek(P.cpu == bindparam("b_aftercpu"), P.mem > bindparam("b_aftermem"), P.mem <= bindparam("b_availablemem"))
_next_cpu = _shape_seek(P.cpu > bindparam("b_aftercpu"), P.cpu <= bindparam("b_availablecpu"))
_shape_head = Prepared(
    _lane_head(
        claim_conditioned,
        P.cpu == bindparam("b_cpu"),
        P.mem == bindparam("b_mem"),
        or_(P.executornames == "", text_contains(P.executornames, bindparam("b_quotedname"))),
        or_(P.locationname == "", P.locationname == bindparam("b_locationname")),
    )
)
MAX_SHAPES = 64  # distinct (cpu, mem) shapes one claim looks at; beyond, the rest wait their turn
_claim_by_id = Prepared(
    update(processes).where(P.processid == bindparam("b_processid"), P.state == WAITING).values(**_claimed).returning(*processes.c)
)


def claim(
    conn: Connection,
    *,
    colonyname: str,
    executortype: str,
    executorname: str,
    executorid: str,
    locationname: str,
    availablecpu: int,
    availablemem: int,
    now: int,
) -> ProcessRecord | None:
    """Atomically assign the first matching waiting process (prioritytime order) to an executor."""
    params = {
        "b_colonyname": colonyname,
        "b_executortype": executortype,
        "b_executorname": executorname,
        "b_quotedname": _json.encode(executorname).decode(),
        "b_locationname": locationname.lower(),
        "b_availablecpu": availablecpu,
        "b_availablemem": availablemem,
        "b_executorid": executorid,
        "b_now": now,
    }
    if conn.dialect.name == "postgresql":
        row = _claim.first(conn, params)
    else:
        row = _claim_apart(conn, params)
    _set_attribute_state(conn, row, RUNNING)
    return _with_attributes(conn, row)


_claim_for_peer = Prepared(
    update(processes)
    .where(P.processid == bindparam("b_processid"), P.state == WAITING, P.waitforparents == False)  # noqa: E712
    .values(state=RUNNING, isassigned=True, assignedexecutorid=bindparam("b_peer"), starttime=bindparam("b_now"), endtime=0)
    .returning(*processes.c)
)


def claim_for_peer(conn: Connection, *, processid: str, peer_node: str, now: int) -> ProcessRecord | None:
    """WAITING → RUNNING with a federation peer as the assignee (its node id): forwarded there.
    The peer's lease, not an exec deadline, bounds it."""
    row = _claim_for_peer.first(conn, {"b_processid": processid, "b_peer": peer_node, "b_now": now})
    _set_attribute_state(conn, row, RUNNING)
    return _with_attributes(conn, row)


def _claim_apart(conn: Connection, params: dict[str, Any]) -> Row | None:
    lanes = ("open", "targeted", "here") if params["b_locationname"] else ("open", "targeted")
    heads = [head for head in (_lane_heads_apart[lane].first(conn, params) for lane in lanes) if head is not None]
    heads += _conditioned_heads(conn, params)
    if not heads:
        return None
    first = min(heads, key=lambda head: head["prioritytime"])
    return _claim_by_id.first(conn, {**params, "b_processid": first["processid"]})


def _conditioned_heads(conn: Connection, params: dict[str, Any]) -> list[Row]:
    heads: list[Row] = []
    after = {"b_aftercpu": -1, "b_aftermem": -1}
    for _ in range(MAX_SHAPES):
        more_mem = _next_mem.first(conn, {**params, **after}) if after["b_aftercpu"] >= 0 else None
        shape = more_mem or _next_cpu.first(conn, {**params, **after})
        if shape is None:
            break
        cpu, mem = shape["cpu"], shape["mem"]
        after = {"b_aftercpu": cpu, "b_aftermem": mem}
        if mem > params["b_availablemem"]:
            continue  # the first memory of this cpu is too much already: on to the next cpu
        head = _shape_head.first(conn, {**params, "b_cpu": cpu, "b_mem": mem})
        if head is not None:
            heads.append(head)
    return heads


_close = Prepared(
    update(processes)
    .where(
        P.processid == bindparam("b_processid"),
        P.assignedexecutorid == bindparam("b_executorid"),
        P.state == RUNNING,
        or_(bindparam("b_starttime", type_=BigInteger) == 0, P.starttime == bindparam("b_starttime", type_=BigInteger)),
    )
    .values(
        state=bindparam("b_state"),
        endtime=bindparam("b_now"),
        execdeadline=0,
        output=func.coalesce(bindparam("b_output"), P.output),
        errors=func.coalesce(bindparam("b_errors"), P.errors),
    )
    .returning(*processes.c)
)


def close(
    conn: Connection,
    *,
    processid: str,
    executorid: str,
    state: int,
    now: int,
    output: bytes | None = None,
    errors: bytes | None = None,
    starttime: int = 0,
) -> ProcessRecord | None:
    """RUNNING → SUCCESS/FAILED, only by the assigned executor (in its run that started at
    `starttime`, if not 0); None if that does not hold."""
    row = _close.first(
        conn,
        {
            "b_processid": processid,
            "b_executorid": executorid,
            "b_starttime": starttime,
            "b_state": state,
            "b_now": now,
            "b_output": output.decode() if output is not None else None,
            "b_errors": errors.decode() if errors is not None else None,
        },
    )
    _set_attribute_state(conn, row, state)
    return _with_attributes(conn, row)


def set_output(conn: Connection, *, processid: str, executorid: str, output: bytes, starttime: int = 0) -> bool:
    """The output of a running process, only by its executor (in the run that started at
    `starttime`, if not 0)."""
    query = update(processes).where(P.processid == processid, P.assignedexecutorid == executorid, P.state == RUNNING)
    if starttime:
        query = query.where(P.starttime == starttime)
    return conn.execute(query.values(output=output.decode())).rowcount == 1


def fail_waiting_many(conn: Connection, ids: Sequence[str], *, now: int, errors: bytes) -> list[ProcessRecord]:
    """WAITING → FAILED for those of `ids` still waiting, with the same errors."""
    return _change_many(conn, ids, (WAITING,), FAILED, {"endtime": now, "waitdeadline": 0, "errors": errors.decode()})


def cancel_many(conn: Connection, ids: Sequence[str], *, now: int) -> list[ProcessRecord]:
    """WAITING or RUNNING → CANCELLED for those of `ids` not ended yet."""
    return _change_many(conn, ids, (WAITING, RUNNING), CANCELLED, {"endtime": now, "execdeadline": 0, "waitdeadline": 0})


def fail_waiting(conn: Connection, *, processid: str, now: int, errors: bytes) -> ProcessRecord | None:
    row = conn.execute(
        update(processes)
        .where(P.processid == processid, P.state == WAITING)
        .values(state=FAILED, endtime=now, waitdeadline=0, errors=errors.decode())
        .returning(*processes.c)
    ).first()
    _set_attribute_state(conn, row, FAILED)
    return _with_attributes(conn, row)


def release(conn: Connection, *, processid: str, now: int, count_retry: bool) -> ProcessRecord | None:
    """RUNNING → WAITING (exec deadline passed or executor removed); keeps the prioritytime."""
    values: dict[str, Any] = {
        "state": WAITING,
        "isassigned": False,
        "assignedexecutorid": "",
        "endtime": now,
        "execdeadline": 0,
        "waitdeadline": case((P.maxwaittime > 0, literal(now, BigInteger) + P.maxwaittime * NS_SQL), else_=0),
    }
    if count_retry:
        values["retries"] = P.retries + 1
    row = conn.execute(
        update(processes).where(P.processid == processid, P.state == RUNNING).values(**values).returning(*processes.c)
    ).first()
    _set_attribute_state(conn, row, WAITING)
    return _with_attributes(conn, row)


def fail_running(conn: Connection, *, processid: str, now: int, errors: bytes) -> ProcessRecord | None:
    row = conn.execute(
        update(processes)
        .where(P.processid == processid, P.state == RUNNING)
        .values(state=FAILED, endtime=now, execdeadline=0, errors=errors.decode())
        .returning(*processes.c)
    ).first()
    _set_attribute_state(conn, row, FAILED)
    return _with_attributes(conn, row)


def cancel(conn: Connection, *, processid: str, now: int) -> ProcessRecord | None:
    row = conn.execute(
        update(processes)
        .where(P.processid == processid, P.state.in_((WAITING, RUNNING)))
        .values(state=models.CANCELLED, endtime=now, execdeadline=0, waitdeadline=0)
        .returning(*processes.c)
    ).first()
    _set_attribute_state(conn, row, models.CANCELLED)
    return _with_attributes(conn, row)


def remove(conn: Connection, processid: str) -> int:
    return _remove_ids(conn, [processid])


def _remove_ids(conn: Connection, ids: Sequence[str]) -> int:
    """The processes with their attributes and channels."""
    from colonies.node.store import channels

    if not ids:
        return 0
    channels.delete_for_processes(conn, ids)
    conn.execute(delete(attributes).where(attributes.c.targetid.in_(ids)))
    return conn.execute(delete(processes).where(P.processid.in_(ids))).rowcount


def remove_batch(conn: Connection, colonyname: str, state: int, *, after: int, limit: int) -> tuple[int, int]:
    """Remove up to `limit` of the colony's processes outside workflows in `state` (not RUNNING)
    with a prioritytime of at least `after`; (how many, the prioritytime to go on from). Going on
    from there, workflow members already passed over are not read again."""
    rows = conn.execute(
        select(P.processid, P.prioritytime)
        .where(P.colonyname == colonyname, P.state == state, P.processgraphid == "", P.prioritytime >= after)
        .order_by(P.prioritytime)
        .limit(limit)
    ).all()
    return _remove_ids(conn, [r.processid for r in rows]), rows[-1].prioritytime if rows else after


def remove_colony_batch(conn: Connection, colonyname: str, limit: int) -> int:
    """Remove up to `limit` processes of the colony, any state, workflow members too (colony removal)."""
    ids = conn.execute(select(P.processid).where(P.colonyname == colonyname).limit(limit)).scalars().all()
    return _remove_ids(conn, ids)


def running_assignees(conn: Connection, colonynames: Iterable[str]) -> list[tuple[str, str, int]]:
    """(colonyname, assignedexecutorid, latest starttime) of every executor (or peer node)
    running something in these colonies: it called in (its assign) at that time at least. One
    statement per colony, each reading only the colony's running processes (processes_by_state)."""
    found: list[tuple[str, str, int]] = []
    for colonyname in colonynames:
        rows = conn.execute(
            select(P.assignedexecutorid, func.max(P.starttime))
            .where(P.colonyname == colonyname, P.state == RUNNING)
            .group_by(P.assignedexecutorid)
        )
        found.extend((colonyname, r[0], r[1] or 0) for r in rows)
    return found


def release_executor_processes(conn: Connection, colonyname: str, executorid: str, now: int) -> list[ProcessRecord]:
    """An executor left or was rejected: its running processes go back to the queue, each
    counted as a retry (the attempt was lost)."""
    ids = conn.execute(
        select(P.processid).where(P.colonyname == colonyname, P.state == RUNNING, P.assignedexecutorid == executorid)
    ).scalars().all()
    released = [release(conn, processid=pid, now=now, count_retry=True) for pid in ids]
    return [r for r in released if r is not None]


def add_attribute(conn: Connection, row: dict[str, Any]) -> None:
    upsert(conn, attributes, row, ["attributeid"])
    conn.execute(update(processes).where(P.processid == row["targetid"]).values(hasattributes=True))


def _stats_values(new_wait: Any, new_exec: Any) -> dict[str, Any]:
    """Upstream's statistics: true min/max, and avg = (old avg + new) / 2; the first run sets all.
    SET expressions read the row as it was, so `counter = 0` means the first run in each."""
    F = functions.c
    first = F.counter == 0
    values: dict[str, Any] = {"counter": F.counter + 1}
    for kind, new in (("wait", new_wait), ("exec", new_exec)):
        low, high, avg = F[f"min{kind}time"], F[f"max{kind}time"], F[f"avg{kind}time"]
        values[f"min{kind}time"] = case((or_(first, new < low), new), else_=low)
        values[f"max{kind}time"] = case((or_(first, new > high), new), else_=high)
        values[f"avg{kind}time"] = case((first, new), else_=(avg + new) * 0.5)  # × 0.5 is ÷ 2, exactly
    return values


_function_stats = Prepared(
    update(functions)
    .where(
        functions.c.colonyname == bindparam("b_colonyname"),
        functions.c.executorname == bindparam("b_executorname"),
        functions.c.funcname == bindparam("b_funcname"),
    )
    .values(**_stats_values(bindparam("b_waittime", type_=Float), bindparam("b_exectime", type_=Float)))
)


def _seconds(ns: Any) -> Any:
    """Nanoseconds (never negative) as float seconds, as Python's max(ns, 0) / 1e9."""
    return cast(case((ns > 0, ns), else_=0), Float) / 1e9


def _stats_of_run(run: Any) -> Any:
    """The UPDATE of the closing executor's statistics for the run `run` describes (colonyname,
    funcname, waittime, exectime): the executor's name comes from the executors table, so
    nothing is written when the function is not registered (no row) or the executor is gone."""
    E, F = executors.c, functions.c
    return (
        update(functions)
        .where(
            F.colonyname == run.c.colonyname,
            F.funcname == run.c.funcname,
            E.colonyname == run.c.colonyname,
            E.executorid == bindparam("b_executorid"),
            F.executorname == E.name,
        )
        .values(**_stats_values(run.c.waittime, run.c.exectime))
    )


# PostgreSQL: the close and the statistics in one statement (one round trip, not two)
_closed = _close.statement.cte("closed")  # type: ignore[attr-defined]
_closed_run = select(
    _closed.c.colonyname,
    _closed.c.funcname,
    _seconds(_closed.c.starttime - _closed.c.submissiontime).label("waittime"),
    _seconds(bindparam("b_now", type_=BigInteger) - _closed.c.starttime).label("exectime"),
).cte("run")
_close_success_with_stats = Prepared(select(_closed).add_cte(_stats_of_run(_closed_run).cte("stats")))
# SQLite (in-process, no round trip to save): the statistics after the close, from its row
_stats_by_executor = Prepared(
    update(functions)
    .where(
        functions.c.colonyname == bindparam("b_colonyname"),
        functions.c.funcname == bindparam("b_funcname"),
        functions.c.executorname
        == select(executors.c.name)
        .where(executors.c.colonyname == bindparam("b_colonyname"), executors.c.executorid == bindparam("b_executorid"))
        .scalar_subquery(),
    )
    .values(**_stats_values(bindparam("b_waittime", type_=Float), bindparam("b_exectime", type_=Float)))
)


def close_success(
    conn: Connection, *, processid: str, executorid: str, now: int, output: bytes | None, starttime: int = 0
) -> ProcessRecord | None:
    """RUNNING → SUCCESS by the assigned executor (in its run that started at `starttime`, if not
    0), with one more run in the statistics of its registered function; None (and nothing
    written) if the executor is not the assignee."""
    params = {
        "b_processid": processid,
        "b_executorid": executorid,
        "b_starttime": starttime,
        "b_state": SUCCESS,
        "b_now": now,
        "b_output": output.decode() if output is not None else None,
        "b_errors": None,
    }
    if conn.dialect.name == "postgresql":
        row = _close_success_with_stats.first(conn, params)
    else:
        row = _close.first(conn, params)
        if row is not None:
            _stats_by_executor.run(
                conn,
                {
                    "b_colonyname": row["colonyname"],
                    "b_funcname": row["funcname"],
                    "b_executorid": executorid,
                    "b_waittime": max(row["starttime"] - row["submissiontime"], 0) / 1e9,
                    "b_exectime": max(now - row["starttime"], 0) / 1e9,
                },
            )
    _set_attribute_state(conn, row, SUCCESS)
    return _with_attributes(conn, row)


def update_function_stats(conn: Connection, *, colonyname: str, executorname: str, funcname: str, waittime: float, exectime: float) -> None:
    """One more run of a registered function, in one statement (no read first)."""
    _function_stats.run(
        conn,
        {"b_colonyname": colonyname, "b_executorname": executorname, "b_funcname": funcname, "b_waittime": waittime, "b_exectime": exectime},
    )


# --- reads ----------------------------------------------------------------------------------
def get_record(conn: Connection, processid: str) -> ProcessRecord | None:
    return _with_attributes(conn, _select_process.first(conn, {"b_processid": processid}))


def get_attribute(conn: Connection, attributeid: str) -> models.Attribute | None:
    row = conn.execute(select(attributes).where(attributes.c.attributeid == attributeid)).first()
    return attribute_from_row(row._mapping) if row else None


def list_processes(
    conn: Connection,
    *,
    colonyname: str,
    state: int,
    count: int,
    executortype: str = "",
    label: str = "",
    initiatorname: str = "",
) -> list[models.Process]:
    query = select(processes).where(P.colonyname == colonyname, P.state == state)
    if executortype:
        query = query.where(P.executortype == executortype)
    if label:
        query = query.where(P.label == label)
    if initiatorname:
        query = query.where(P.initiatorname == initiatorname)
    if state in (WAITING, RUNNING):
        query = query.order_by(P.prioritytime)
    else:
        query = query.where(ended).order_by(P.endtime.desc())
    rows = conn.execute(query.limit(count)).all()
    return [_with_attributes(conn, r).process for r in rows]  # type: ignore[union-attr]


def history(conn: Connection, *, colonyname: str, executorid: str, since_ns: int, state: int, limit: int) -> list[models.Process]:
    """The newest `limit` processes of the state submitted since `since_ns`, oldest first (as upstream orders)."""
    query = select(processes).where(P.colonyname == colonyname, P.state == state, P.submissiontime >= since_ns)
    if state in (SUCCESS, FAILED, CANCELLED):
        # what was submitted since `since_ns` ended since then: a range of processes_ended
        query = query.where(ended, P.endtime >= since_ns)
    if executorid:
        query = query.where(P.assignedexecutorid == executorid)
    rows = conn.execute(query.order_by(P.submissiontime.desc()).limit(limit)).all()
    rows.reverse()
    return [_with_attributes(conn, r).process for r in rows]  # type: ignore[union-attr]


def count_by_state(conn: Connection, colonyname: str | None) -> dict[int, int]:
    query = select(P.state, func.count()).group_by(P.state)
    if colonyname is not None:
        query = query.where(P.colonyname == colonyname)
    return {state: n for state, n in conn.execute(query)}


def expired_waiting(conn: Connection, now: int, limit: int = 1000) -> list[str]:
    return list(
        conn.execute(
            select(P.processid).where(P.state == WAITING, P.waitdeadline > 0, P.waitdeadline < now).order_by(P.waitdeadline).limit(limit)
        ).scalars()
    )


def expired_running(conn: Connection, now: int, limit: int = 1000) -> list[tuple[str, int, int]]:
    rows = conn.execute(
        select(P.processid, P.retries, P.maxretries)
        .where(P.state == RUNNING, P.execdeadline > 0, P.execdeadline < now)
        .order_by(P.execdeadline)
        .limit(limit)
    )
    return [(r[0], r[1], r[2]) for r in rows]
