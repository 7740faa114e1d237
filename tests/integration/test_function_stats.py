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
