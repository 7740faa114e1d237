"""Function statistics (upstream's rules) written by one statement per close, on both stores."""
from __future__ import annotations

from pathlib import Path

import pytest

from colonies import crypto, models
from colonies.node.store import directory as dq
from colonies.node.store import processes as pq
from colonies.node.store.database import Database


@pytest.fixture
async def db(store_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    store = await Database.open(store_url or f"sqlite:///{tmp_path / 'store.db'}")
    try:
        yield store
    finally:
        await store.close()


async def test_min_max_are_true_and_the_average_halves_towards_each_new_run(db):
    fn = models.Function(functionid=crypto.random_id(), executorname="w", executortype="t", colonyname=crypto.random_id(), funcname="f")
    await db.write(lambda conn: dq.add_function(conn, fn))
    for wait, run in ((4.0, 1.0), (2.0, 3.0), (6.0, 2.0)):
        await db.write(lambda conn, w=wait, r=run: pq.update_function_stats(conn, colonyname=fn.colonyname, executorname="w", funcname="f", waittime=w, exectime=r))

    got = await db.read(lambda conn: dq.get_function(conn, fn.functionid))

    assert got is not None and got.counter == 3
    assert (got.minwaittime, got.maxwaittime, got.minexectime, got.maxexectime) == (2.0, 6.0, 1.0, 3.0)
    assert got.avgwaittime == ((4.0 + 2.0) / 2 + 6.0) / 2
    assert got.avgexectime == ((1.0 + 3.0) / 2 + 2.0) / 2


async def test_a_close_of_an_unregistered_function_writes_nothing(db):
    colony = crypto.random_id()  # the PostgreSQL database is shared by the session
    await db.write(lambda conn: pq.update_function_stats(conn, colonyname=colony, executorname="w", funcname="f", waittime=1.0, exectime=1.0))
    assert await db.read(lambda conn: dq.list_functions(conn, colony, "w")) == []


async def test_a_successful_close_counts_one_run_of_the_assignees_function_and_nothing_else(db):
    from colonies.client import func_spec
    from colonies.node.domain.submission import process_row

    colony = crypto.random_id()
    worker = models.Executor(executorid=crypto.random_id(), executorname="w", executortype="t", colonyname=colony, state=models.APPROVED)
    other = models.Executor(executorid=crypto.random_id(), executorname="o", executortype="t", colonyname=colony, state=models.APPROVED)
    fn = models.Function(functionid=crypto.random_id(), executorname="w", executortype="t", colonyname=colony, funcname="f")
    unregistered = models.Function(functionid=crypto.random_id(), executorname="o", executortype="t", colonyname=colony, funcname="g")

    def running(funcname: str, executor: models.Executor, submitted: int, started: int) -> dict:
        row, _ = process_row(func_spec(funcname, colony, "t"), initiatorid="u" * 64, initiatorname="u", now=submitted)
        row.update(state=models.RUNNING, isassigned=True, assignedexecutorid=executor.executorid, starttime=started)
        return row

    rows = [running("f", worker, 1_000_000_000, 3_000_000_000), running("f", other, 0, 0), running("g", other, 0, 0)]

    def setup(conn) -> None:  # type: ignore[no-untyped-def]
        for e in (worker, other):
            dq.upsert_executor(conn, e, 0)
        dq.add_function(conn, fn)
        for row in rows:
            pq.insert_process(conn, row)

    await db.write(setup)
    closed = await db.write(lambda conn: pq.close_success(conn, processid=rows[0]["processid"], executorid=worker.executorid, now=7_000_000_000, output=b'["x"]'))
    assert closed is not None and closed.state == models.SUCCESS and bytes(closed.process.output) == b'["x"]'
    # not the assignee: nothing closes, nothing counts
    assert await db.write(lambda conn: pq.close_success(conn, processid=rows[0]["processid"], executorid=other.executorid, now=8_000_000_000, output=None)) is None
    # another executor's run of f, and a function nobody registered, count nowhere
    for row in rows[1:]:
        assert await db.write(lambda conn, r=row: pq.close_success(conn, processid=r["processid"], executorid=other.executorid, now=1, output=None)) is not None

    got = await db.read(lambda conn: dq.get_function(conn, fn.functionid))
    assert got is not None and got.counter == 1
    assert (got.minwaittime, got.maxwaittime, got.avgwaittime) == (2.0, 2.0, 2.0)
    assert (got.minexectime, got.maxexectime, got.avgexectime) == (4.0, 4.0, 4.0)
    assert await db.read(lambda conn: dq.list_functions(conn, colony, "o")) == []
