"""The store on disk: what was acknowledged survives a restart; PostgreSQL specifics."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from colonies import crypto, dev
from colonies.node.store import directory as facts
from colonies.node.store.database import Database
from tests.support.nodes import start_node
from tests.support.rpc import call


def test_acknowledged_work_survives_a_node_restart(tmp_path):
    first = start_node(tmp_path)
    owner = crypto.generate_private_key()
    call(first.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": crypto.id_from_private_key(owner), "name": "kept"}}, dev.SERVER_PRVKEY)
    user = crypto.generate_private_key()
    call(first.url, {"msgtype": "addusermsg", "user": {"colonyname": "kept", "userid": crypto.id_from_private_key(user), "name": "u"}}, owner)
    spec = {"funcname": "f", "conditions": {"colonyname": "kept", "executortype": "t"}}
    ids = [call(first.url, {"msgtype": "submitfuncspecmsg", "spec": spec}, user)["processid"] for _ in range(20)]
    first.stop()

    second = start_node(tmp_path)
    try:
        waiting = call(second.url, {"msgtype": "getprocessesmsg", "colonyname": "kept", "count": 100, "state": 0}, user)
        assert sorted(p["processid"] for p in waiting) == sorted(ids)
    finally:
        second.stop()


async def test_an_unreachable_postgresql_is_a_one_line_error_without_the_password(postgres) -> None:
    from colonies.node.store.database import StoreURLError

    closed_port = postgres.port + 1 if postgres.port < 65535 else postgres.port - 1
    with pytest.raises(StoreURLError) as err:
        await Database.open(f"postgresql+asyncpg://postgres:s3cret@127.0.0.1:{closed_port}/nothing")
    assert "s3cret" not in str(err.value) and "***" in str(err.value) and "\n" not in str(err.value)


async def test_a_postgresql_store_computes_deadlines_in_64_bits(postgres) -> None:
    from colonies.node.store import processes as pq
    from sqlalchemy import select

    url = postgres.new_database()
    db = await Database.open(url)
    try:
        # seconds × 10⁹ overflows a 32-bit INTEGER from 3 s on: the release must still work
        now = 1_796_142_912_834_964_757
        await db.write(lambda conn: conn.execute(pq.processes.insert().values(
            processid="p" * 64, colonyname="c", executortype="t", funcname="f", label="", state=1, isassigned=True,
            waitforparents=False, prioritytime=0, submissiontime=0, starttime=0, endtime=0, waitdeadline=0, execdeadline=0,
            retries=0, maxretries=0, maxexectime=60, maxwaittime=3600, initiatorid="", initiatorname="", assignedexecutorid="e",
            executornames="[]", locationname="", cpu=0, mem=0, processgraphid="", parents="[]", children="[]",
            hasattributes=False, spec="{}", input="[]", output="[]", errors="[]",
        )))
        released = await db.write(lambda conn: pq.release(conn, processid="p" * 64, now=now, count_retry=False))
        assert released is not None
        deadline = await db.read(lambda conn: conn.execute(select(pq.processes.c.waitdeadline)).scalar())
        assert deadline == now + 3600 * 1_000_000_000
    finally:
        await db.close()


async def test_an_offloop_sqlite_read_runs_on_a_reader_thread_and_sees_committed_writes(tmp_path):
    import threading

    db = await Database.open(f"sqlite:///{tmp_path / 'colonies.db'}")
    try:
        await db.write(lambda conn: facts.set_fact(conn, "probe", "written"))
        loop_thread = threading.get_ident()
        seen = await db.read(lambda conn: (threading.get_ident(), facts.get_fact(conn, "probe")), offloop=True)
        inline = await db.read(lambda conn: threading.get_ident())
    finally:
        await db.close()
    assert seen[0] != loop_thread and seen[1] == "written"
    assert inline == loop_thread


async def test_an_offloop_write_commits_on_the_writer_thread_in_its_turn_among_queued_writes(tmp_path):
    import threading

    db = await Database.open(f"sqlite:///{tmp_path / 'colonies.db'}")
    order: list[str] = []

    def step(name: str):
        def op(conn):
            facts.set_fact(conn, "last", name)
            order.append(name)
            return threading.get_ident()
        return op

    try:
        futures = [db.submit(step("before")), db.submit(step("big"), offloop=True), db.submit(step("after"))]
        threads = [await f for f in futures]
        assert order == ["before", "big", "after"]
        assert threads[1] != threading.get_ident() and threads[0] == threads[2] == threading.get_ident()
        assert await db.read(lambda conn: facts.get_fact(conn, "last")) == "after"
    finally:
        await db.close()


async def test_a_write_whose_caller_was_cancelled_still_runs_its_after_commit_step_and_a_failed_one_never(tmp_path):
    import asyncio

    db = await Database.open(f"sqlite:///{tmp_path / 'colonies.db'}")
    after: list[str] = []
    try:
        waiting = asyncio.ensure_future(db.write(lambda conn: facts.set_fact(conn, "k", "v") or "committed", then=after.append))
        await asyncio.sleep(0)  # queued, not yet committed
        waiting.cancel()
        assert await db.write(lambda conn: facts.get_fact(conn, "k")) == "v"
        assert after == ["committed"]

        def failing(conn):
            facts.set_fact(conn, "k", "changed")
            raise ValueError("refused")

        with pytest.raises(ValueError):
            await db.write(failing, then=after.append)
        assert after == ["committed"]
        assert await db.read(lambda conn: facts.get_fact(conn, "k")) == "v"
    finally:
        await db.close()


async def test_a_postgresql_store_comes_back_after_the_server_drops_its_connections(postgres) -> None:
    import asyncio

    import asyncpg

    url = postgres.new_database()
    database = url.rsplit("/", 1)[1]
    db = await Database.open(url)
    try:
        await db.write(lambda conn: facts.set_fact(conn, "probe", "before"))
        # several readers kept open at once: each of them is dropped below
        assert await asyncio.gather(*(db.read(lambda conn: facts.get_fact(conn, "probe")) for _ in range(4))) == ["before"] * 4
        admin = await asyncpg.connect(host="127.0.0.1", port=postgres.port, user="postgres", database="postgres")
        try:  # what a server restart or an administrator does to the node's kept connections
            dropped = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1", database
            )
        finally:
            await admin.close()
        assert dropped >= 5  # the writer's and the readers'

        async def eventually(attempt):  # type: ignore[no-untyped-def]
            for _ in range(6):  # each dropped connection fails its first use once, then is replaced
                try:
                    return await attempt()
                except Exception:
                    continue
            return await attempt()

        await eventually(lambda: db.write(lambda conn: facts.set_fact(conn, "probe", "after")))
        assert await eventually(lambda: db.read(lambda conn: facts.get_fact(conn, "probe"))) == "after"
        # and it stays usable: no broken connection was put back
        for _ in range(10):
            assert await db.read(lambda conn: facts.get_fact(conn, "probe")) == "after"
            await db.write(lambda conn: facts.set_fact(conn, "probe", "after"))
    finally:
        await db.close()
