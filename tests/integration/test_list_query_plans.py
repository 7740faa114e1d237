"""Every query behind a list reply or a bulk-removal batch is an index search: no scan of a whole
table and no sort of everything a colony holds (SQLite's plans, on a store built by the
migrations, so the indexes are the ones real stores have)."""
from __future__ import annotations

import re
from typing import Any, AsyncIterator, Callable

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection

from colonies.node.store import blueprints as bq
from colonies.node.store import crons as cq
from colonies.node.store import directory as dq
from colonies.node.store import generators as gq
from colonies.node.store import locations as locq
from colonies.node.store import logs as lq
from colonies.node.store import processes as pq
from colonies.node.store import workflows as wq
from colonies.node.store.database import Database

C, E = "colony", "executor"
QUERIES: dict[str, Callable[[Connection], Any]] = {
    "history": lambda conn: pq.history(conn, colonyname=C, executorid="", since_ns=0, state=2, limit=10),
    "history of an executor": lambda conn: pq.history(conn, colonyname=C, executorid=E, since_ns=0, state=1, limit=10),
    **{
        f"processes in state {state}": lambda conn, state=state: pq.list_processes(conn, colonyname=C, state=state, count=10)
        for state in range(5)
    },
    "processes with a label": lambda conn: pq.list_processes(conn, colonyname=C, state=3, count=10, label="l"),
    "removeall batch": lambda conn: pq.remove_batch(conn, C, 2, after=0, limit=10),
    "colony removal batch": lambda conn: pq.remove_colony_batch(conn, C, 10),
    "graphs": lambda conn: wq.list_graphs(conn, C, 2, 10),
    "graph removal batch": lambda conn: wq.remove_graphs_batch(conn, C, 2, 10),
    "colony graph removal batch": lambda conn: wq.remove_colony_graphs(conn, C, 10),
    "logs of a process": lambda conn: lq.get(conn, colonyname=C, processid="p", executorname="", count=10, since=0, latest=True),
    "logs of an executor": lambda conn: lq.get(conn, colonyname=C, processid="", executorname=E, count=10, since=1, latest=False),
    "log search": lambda conn: lq.search(conn, colonyname=C, text="t", since_ns=0, count=10),
    "colony log removal batch": lambda conn: lq.remove_colony_batch(conn, C, 10),
    "crons": lambda conn: cq.list_for_colony(conn, C, 10),
    "generators": lambda conn: gq.list_for_colony(conn, C, 10),
    "locations": lambda conn: locq.list_of(conn, C, 10),
    "blueprint definitions": lambda conn: bq.list_definitions(conn, C, limit=10),
    "blueprints": lambda conn: bq.list_blueprints(conn, C, kind="k", limit=10),
    "blueprint history": lambda conn: bq.history_of(conn, "b", 10),
    "functions": lambda conn: dq.list_functions(conn, C, "", 10),
}


# History sorts what its index search found: processes that ended within the window (final
# states), or the colony's running or waiting ones. An index per submission time would cost every
# state change one more page to write; history is read off the loop and its reply is bounded.
SORTED_AFTER_SEARCH = {"history", "history of an executor"}


def plans(conn: Connection, op: Callable[[Connection], Any]) -> list[str]:
    """The plan lines of every statement `op` runs."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(conn, "before_cursor_execute", capture)
    try:
        op(conn)
    finally:
        event.remove(conn, "before_cursor_execute", capture)
    explain = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
    return [str(row[-1]) for sql, params in statements for row in conn.exec_driver_sql(explain + sql, params)]


def full_scans_or_sorts(conn: Connection, lines: list[str]) -> list[str]:
    if conn.dialect.name == "sqlite":
        return [line for line in lines if line.startswith("SCAN") or line == "USE TEMP B-TREE FOR ORDER BY"]
    # PostgreSQL: an incremental sort (of rows the index gave in order but for ties) is fine
    return [line for line in lines if "Seq Scan" in line or re.match(r"(->\s+)?Sort\s+\(", line.strip())]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('plans') / 'colonies.db'}"
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Database]:
    db = await Database.open(store_url)
    yield db
    await db.close()


@pytest.mark.parametrize("name", QUERIES)
async def test_the_query_behind_a_list_or_a_removal_batch_searches_an_index(store: Database, name: str) -> None:
    def explain(conn: Connection) -> tuple[list[str], list[str]]:
        if conn.dialect.name == "postgresql":
            # on empty tables any plan is cheap: ask whether an index serves the query in order
            for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                conn.exec_driver_sql(f"SET LOCAL {setting} = off")
        lines = plans(conn, QUERIES[name])
        return lines, full_scans_or_sorts(conn, lines)

    lines, bad = await store.read(explain)
    if name in SORTED_AFTER_SEARCH:
        bad = [line for line in bad if "Sort" not in line and "ORDER BY" not in line]
    assert lines and not bad, lines
