"""Issue 10, nothing stalls the event loop: list replies are bounded, and bulk removals run as
many short transactions with other requests answered in between (docs/protocol.md, "Bounded
replies and bulk removals")."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

import pytest
from sqlalchemy import Column, func, select

from colonies import crypto, dev
from colonies.blueprint_models import BlueprintHistory
from colonies.client import func_spec
from colonies.models import FAILED, RUNNING, SUCCESS, WAITING
from colonies.node.handlers import blueprints as blueprint_handlers
from colonies.node.domain import removals
from colonies.node.handlers import limits
from colonies.node.handlers import locations as location_handlers
from colonies.node.store import blueprints as bq
from colonies.node.store import logs as lq
from colonies.node.store import processes as pq
from colonies.node.store import workflows as wq
from colonies.node.store.schema import attributes, logs, processes
from colonies.node.domain.submission import process_row, validate_spec
from tests.support.nodes import RunningNode
from tests.support.rpc import RPCFailure, call

P = processes.c


def insert_processes(node: RunningNode, colonyname: str, n: int, *, state: int = WAITING, graph: str = "", env: bool = False) -> list[str]:
    """`n` processes written straight to the store, one submitted a microsecond after the other."""
    spec = validate_spec(func_spec("f", colonyname, "test", env={"k": "v"} if env else None))
    start = time.time_ns() - n * 1000

    def write(conn: Any) -> list[str]:
        ids = []
        for i in range(n):
            now = start + i * 1000
            row, attrs = process_row(spec, initiatorid=dev.SERVER_ID, initiatorname="seed", now=now, processgraphid=graph)
            row.update(state=state, endtime=now if state not in (WAITING, RUNNING) else 0)
            if state == RUNNING:
                row.update(isassigned=True, assignedexecutorid=crypto.random_id(), starttime=now)
            ids.append(pq.insert_process(conn, row, attrs).process.processid)
        return ids

    return node.call(node.node.core.db.write(write))


def count_rows(node: RunningNode, column: Column[Any], value: str) -> int:
    return node.call(node.node.core.db.read(lambda conn: conn.execute(select(func.count()).where(column == value)).scalar_one()))


def counted(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, events: list[str]) -> None:
    """Each call of module.name (one per write transaction of a bulk removal) leaves an event."""
    original: Callable[..., Any] = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        events.append(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)


# --- bounds ------------------------------------------------------------------------------------
def test_history_with_more_rows_than_the_bound_returns_the_newest_bound_oldest_first(node, colony):
    user = colony.add_user()
    ids = insert_processes(node, colony.name, limits.MAX_HISTORY + 7)
    msg = {"msgtype": "getprocesshistmsg", "colonyname": colony.name, "executorid": "", "seconds": 3600, "state": WAITING}
    history = call(node.url, msg, user.prvkey)
    assert [p["processid"] for p in history] == ids[-limits.MAX_HISTORY :]


def test_history_of_one_executor_is_bounded_too(node, colony, monkeypatch):
    user = colony.add_user()
    monkeypatch.setattr("colonies.node.handlers.processes.MAX_HISTORY", 3)
    running = insert_processes(node, colony.name, 5, state=RUNNING)
    executorid = call(node.url, {"msgtype": "getprocessmsg", "processid": running[-1]}, user.prvkey)["assignedexecutorid"]
    msg = {"msgtype": "getprocesshistmsg", "colonyname": colony.name, "executorid": executorid, "seconds": 3600, "state": RUNNING}
    assert [p["processid"] for p in call(node.url, msg, user.prvkey)] == [running[-1]]
    msg["executorid"] = ""
    assert [p["processid"] for p in call(node.url, msg, user.prvkey)] == running[-3:]


def test_ended_processes_list_newest_ended_first_up_to_count(node, colony):
    user = colony.add_user()
    done = insert_processes(node, colony.name, 5, state=SUCCESS)
    msg = {"msgtype": "getprocessesmsg", "colonyname": colony.name, "count": 3, "state": SUCCESS}
    assert [p["processid"] for p in call(node.url, msg, user.prvkey)] == done[::-1][:3]


@pytest.mark.parametrize("count", [101, -1])
def test_getprocessgraphs_count_outside_0_to_100_is_a_400(node, colony, count):
    user = colony.add_user()
    with pytest.raises(RPCFailure) as err:
        call(node.url, {"msgtype": "getprocessgraphsmsg", "colonyname": colony.name, "count": count, "state": WAITING}, user.prvkey)
    assert err.value.status == 400


def test_blueprint_history_limit_zero_or_too_big_is_capped_at_the_newest_bound(node, colony, monkeypatch):
    monkeypatch.setattr(blueprint_handlers, "MAX_HISTORY", 2)
    blueprintid = crypto.random_id()
    entries = [BlueprintHistory(historyid=crypto.random_id(), blueprintid=blueprintid, namespace=colony.name) for _ in range(3)]

    def write(conn: Any) -> None:
        for ts, entry in enumerate(entries, 1):
            bq.add_history(conn, entry, ts=ts)

    node.call(node.node.core.db.write(write))
    newest = [e.historyid for e in entries[::-1]]
    for limit, expected in ((0, newest[:2]), (5, newest[:2]), (1, newest[:1])):
        msg = {"msgtype": "getblueprinthistorymsg", "blueprintid": blueprintid, "limit": limit}
        assert [h["historyid"] for h in call(node.url, msg, colony.owner_prvkey)] == expected


def test_lists_without_a_count_stop_at_the_list_bound(node, colony, monkeypatch):
    monkeypatch.setattr(location_handlers, "MAX_LIST", 2)
    for name in ("c", "a", "b"):
        location = {"colonyname": colony.name, "name": name, "description": "", "long": 0.0, "lat": 0.0}
        call(node.url, {"msgtype": "addlocationmsg", "location": location}, colony.owner_prvkey)
    listed = call(node.url, {"msgtype": "getlocationsmsg", "colonyname": colony.name}, colony.owner_prvkey)
    assert [loc["name"] for loc in listed] == ["a", "b"]


# --- bulk removals -----------------------------------------------------------------------------
def test_removeall_removes_thousands_in_many_transactions_while_getprocess_answers(node, colony, monkeypatch):
    user = colony.add_user()
    removable = [pid for state in (WAITING, SUCCESS, FAILED) for pid in insert_processes(node, colony.name, 1000, state=state, env=True)]
    (running,) = insert_processes(node, colony.name, 1, state=RUNNING)
    (member,) = insert_processes(node, colony.name, 1, graph=crypto.random_id())
    monkeypatch.setattr(removals, "REMOVE_BATCH", 100)
    events: list[str] = []
    counted(monkeypatch, pq, "remove_batch", events)
    stop, answered = threading.Event(), threading.Event()

    def poll() -> None:
        while not stop.is_set():
            state = call(node.url, {"msgtype": "getprocessmsg", "processid": running}, user.prvkey)["state"]
            events.append("get" if state == RUNNING else f"wrong state {state}")
            answered.set()

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    assert answered.wait(10)
    try:
        assert call(node.url, {"msgtype": "removeallprocessesmsg", "colonyname": colony.name, "state": -1}, colony.owner_prvkey) == {}
    finally:
        stop.set()
        poller.join(10)
    assert set(events) == {"get", "remove_batch"}
    batches = [i for i, event in enumerate(events) if event == "remove_batch"]
    assert len(batches) >= len(removable) // 100
    assert "get" in events[batches[0] : batches[-1]]  # answered between two removal transactions
    assert node.call(node.node.core.db.read(lambda conn: set(conn.execute(select(P.processid).where(P.colonyname == colony.name)).scalars()))) == {
        running,
        member,
    }
    assert count_rows(node, attributes.c.targetcolonyname, colony.name) == 0


def test_removeall_of_one_state_leaves_the_other_states(node, colony, monkeypatch):
    monkeypatch.setattr(removals, "REMOVE_BATCH", 10)
    insert_processes(node, colony.name, 25, state=FAILED)
    kept = set(insert_processes(node, colony.name, 5, state=SUCCESS))
    call(node.url, {"msgtype": "removeallprocessesmsg", "colonyname": colony.name, "state": FAILED}, colony.owner_prvkey)
    assert node.call(node.node.core.db.read(lambda conn: set(conn.execute(select(P.processid).where(P.colonyname == colony.name)).scalars()))) == kept


def _workflow(colonyname: str) -> dict[str, Any]:
    conditions = {"colonyname": colonyname, "executortype": "test"}
    parent = {"nodename": "parent", "funcname": "p", "maxexectime": -1, "conditions": conditions}
    kid = {"nodename": "child", "funcname": "c", "maxexectime": -1, "conditions": {**conditions, "dependencies": ["parent"]}}
    return {"colonyname": colonyname, "functionspecs": [parent, kid]}


def test_removeall_process_graphs_removes_every_graph_but_running_ones_in_many_transactions(node, colony, monkeypatch):
    user, executor = colony.add_user(), colony.add_executor()
    running = call(node.url, {"msgtype": "submitworkflowspecmsg", "spec": _workflow(colony.name)}, user.prvkey)
    call(node.url, {"msgtype": "assignprocessmsg", "colonyname": colony.name, "timeout": 5}, executor.prvkey)
    for _ in range(12):
        call(node.url, {"msgtype": "submitworkflowspecmsg", "spec": _workflow(colony.name)}, user.prvkey)
    monkeypatch.setattr(removals, "REMOVE_BATCH", 5)
    events: list[str] = []
    counted(monkeypatch, wq, "remove_graphs_batch", events)
    call(node.url, {"msgtype": "removeallprocessgraphsmsg", "colonyname": colony.name, "state": -1}, colony.owner_prvkey)
    assert len(events) >= 12 * 3 // 5  # three rows a graph (two processes and the graph)
    left = [
        g["processgraphid"]
        for state in (WAITING, RUNNING)
        for g in call(node.url, {"msgtype": "getprocessgraphsmsg", "colonyname": colony.name, "count": 100, "state": state}, user.prvkey)
    ]
    assert left == [running["processgraphid"]]
    assert count_rows(node, P.colonyname, colony.name) == 2


def test_removing_a_colony_removes_its_processes_and_logs_in_many_transactions(node, monkeypatch):
    owner = crypto.generate_private_key()
    name = f"colony-{crypto.random_id()[:12]}"
    call(node.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": crypto.id_from_private_key(owner), "name": name}}, dev.SERVER_PRVKEY)
    ids = insert_processes(node, name, 600, env=True) + insert_processes(node, name, 300, state=RUNNING, graph=crypto.random_id())

    def write_logs(conn: Any) -> None:
        for i, pid in enumerate(ids):
            lq.add(conn, processid=pid, colonyname=name, executorname="e", ts=i + 1, message=f"line {i}")

    node.call(node.node.core.db.write(write_logs))
    monkeypatch.setattr(removals, "REMOVE_BATCH", 100)
    events: list[str] = []
    counted(monkeypatch, pq, "remove_colony_batch", events)
    counted(monkeypatch, lq, "remove_colony_batch", events)
    call(node.url, {"msgtype": "removecolonymsg", "colonyname": name}, dev.SERVER_PRVKEY)
    assert len(events) >= 2 * len(ids) // 100
    for column in (P.colonyname, logs.c.colonyname, attributes.c.targetcolonyname):
        assert count_rows(node, column, name) == 0
