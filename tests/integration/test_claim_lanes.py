"""The claim reads the head of each claim lane (open, targeted at one name, conditioned): an
executor finds its work behind any amount of work it cannot take, in priority order across lanes,
and never takes what is not for it."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from colonies.client import AsyncClient, func_spec
from colonies.node.store import processes as pq
from colonies.wire import RPCError


def _client(colony, member) -> AsyncClient:
    return AsyncClient(colony.url, member.prvkey)


async def test_an_executor_finds_its_targeted_process_behind_work_targeted_at_another(colony):
    mine, other, user = colony.add_executor(), colony.add_executor(), colony.add_user()
    async with _client(colony, mine) as ex, _client(colony, user) as us:
        for _ in range(200):
            await us.submit(func_spec("f", colony.name, "test", executornames=[other.name]))
        for _ in range(50):
            await us.submit(func_spec("f", colony.name, "test", executornames=[other.name, "nobody"]))
        for _ in range(50):
            await us.submit(func_spec("f", colony.name, "test", cpu="64000m"))
        for _ in range(50):
            await us.submit(func_spec("f", colony.name, "test", mem="64Gi"))
        wanted = await us.submit(func_spec("f", colony.name, "test", executornames=[mine.name]))
        got = await ex.assign(colony.name, 2, availablecpu="1000m", availablemem="1Gi")
        assert got.processid == wanted.processid
        with pytest.raises(RPCError) as err:
            await ex.assign(colony.name, -1, availablecpu="1000m", availablemem="1Gi")
        assert err.value.status == 404


async def test_the_earliest_process_wins_across_lanes(colony):
    mine, user = colony.add_executor(), colony.add_user()
    async with _client(colony, mine) as ex, _client(colony, user) as us:
        order = [
            await us.submit(func_spec("f", colony.name, "test", executornames=[mine.name])),
            await us.submit(func_spec("f", colony.name, "test")),
            await us.submit(func_spec("f", colony.name, "test", executornames=[mine.name, "someone"])),
            await us.submit(func_spec("f", colony.name, "test", cpu="500m")),
            await us.submit(func_spec("f", colony.name, "test", priority=5, executornames=[mine.name])),
        ]
        expected = [order[4].processid] + [p.processid for p in order[:4]]
        got = [(await ex.assign(colony.name, 2, availablecpu="1000m")).processid for _ in order]
        assert got == expected


async def test_a_process_named_for_several_executors_goes_to_one_of_them_only(colony):
    a, b, stranger, user = colony.add_executor(), colony.add_executor(), colony.add_executor(), colony.add_user()
    async with _client(colony, stranger) as st, _client(colony, b) as ex, _client(colony, user) as us:
        wanted = await us.submit(func_spec("f", colony.name, "test", executornames=[a.name, b.name]))
        with pytest.raises(RPCError):
            await st.assign(colony.name, -1)
        assert (await ex.assign(colony.name, 2)).processid == wanted.processid


async def test_a_located_process_goes_only_to_an_executor_at_that_location(colony):
    here = colony.add_executor(locationname="lab")
    elsewhere, user = colony.add_executor(locationname="cloud"), colony.add_user()
    async with _client(colony, here) as at_lab, _client(colony, elsewhere) as at_cloud, _client(colony, user) as us:
        spec = func_spec("f", colony.name, "test")
        spec.conditions.locationname = "lab"
        wanted = await us.submit(spec)
        with pytest.raises(RPCError):
            await at_cloud.assign(colony.name, -1)
        assert (await at_lab.assign(colony.name, 2)).processid == wanted.processid


async def test_every_statement_of_a_sqlite_claim_is_an_index_seek(tmp_path):
    """No scan of the processes table and no sort: each lane head, each step from one
    requirement shape to the next and each shape's head come from their partial index, on a
    store built by the migrations as a node builds it."""
    from colonies.node.store.database import Database

    url = f"sqlite:///{tmp_path / 'plan.db'}"
    await (await Database.open(url)).close()
    engine = create_engine(url)
    statements = {**pq._lane_heads_apart, "next mem": pq._next_mem, "next cpu": pq._next_cpu, "shape head": pq._shape_head}
    expected = {"open": "processes_claim_open", "here": "processes_claim_open", "targeted": "processes_claim_targeted",
                "next mem": "processes_claim_conditioned", "next cpu": "processes_claim_conditioned",
                "shape head": "processes_claim_conditioned"}
    with engine.connect() as conn:
        for name, prepared in statements.items():
            compiled = prepared.statement.compile(dialect=engine.dialect)
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", tuple(1 for _ in compiled.positiontup or ())).all()
            details = [row[-1] for row in plan]
            assert any(d.startswith("SEARCH processes USING INDEX " + expected[name]) for d in details), (name, details)
            assert not any(d.startswith("SCAN") or "TEMP B-TREE" in d for d in details), (name, details)
    engine.dispose()


async def test_two_postgresql_transactions_claiming_at_once_take_different_processes(postgres):
    """Each lane head is locked as it is read (SKIP LOCKED): a second claimer in another
    transaction passes over the first one's head instead of missing or sharing it."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from colonies.client import func_spec as spec_of
    from colonies.node.store.database import Database
    from colonies.node.domain.submission import process_row, validate_spec

    url = postgres.new_database()
    await (await Database.open(url)).close()
    engine = create_async_engine(url)
    spec = validate_spec(spec_of("f", "c", "t"))
    async with engine.begin() as conn:
        for i in range(2):
            row, attrs = process_row(spec, initiatorid="i", initiatorname="u", now=i + 1)
            await conn.run_sync(lambda sync, row=row, attrs=attrs: pq.insert_process(sync, row, attrs))

    def claim(sync):
        record = pq.claim(sync, colonyname="c", executortype="t", executorname="e", executorid="x",
                          locationname="", availablecpu=10**9, availablemem=10**9, now=5)
        return record.process.processid if record else None

    try:
        async with engine.connect() as first, engine.connect() as second:
            await first.begin()
            await second.begin()
            one = await first.run_sync(claim)
            other = await second.run_sync(claim)
            assert one and other and one != other
            await first.commit()
            await second.commit()
    finally:
        await engine.dispose()


async def test_conditioned_work_goes_to_the_first_executor_that_fits_it_in_line(colony):
    small, big, user = colony.add_executor(), colony.add_executor(), colony.add_user()
    async with _client(colony, small) as at_small, _client(colony, big) as at_big, _client(colony, user) as us:
        huge = await us.submit(func_spec("f", colony.name, "test", cpu="8000m", mem="16Gi"))
        wide = await us.submit(func_spec("f", colony.name, "test", cpu="500m", mem="32Gi"))
        fits = await us.submit(func_spec("f", colony.name, "test", cpu="500m", mem="512Mi"))
        tiny = await us.submit(func_spec("f", colony.name, "test", mem="100Mi"))
        assert (await at_small.assign(colony.name, 2, availablecpu="1000m", availablemem="1Gi")).processid == fits.processid
        assert (await at_small.assign(colony.name, 2, availablecpu="1000m", availablemem="1Gi")).processid == tiny.processid
        with pytest.raises(RPCError):
            await at_small.assign(colony.name, -1, availablecpu="1000m", availablemem="1Gi")
        got = [(await at_big.assign(colony.name, 2, availablecpu="16000m", availablemem="64Gi")).processid for _ in range(2)]
        assert got == [huge.processid, wide.processid]


async def test_a_postgresql_claim_bounds_each_conditioned_lane_seek_by_lane_cpu_and_mem(postgres):
    """The conditioned lane's index must be entered at (lane, cpu, mem): PostgreSQL drops a clause
    its partial index's predicate implies, and with `claimlane = 2` in both every shape step read
    the whole lane (migration 0003)."""
    import asyncpg
    from sqlalchemy.dialects.postgresql import asyncpg as pg_dialect

    from colonies.node.store.database import Database

    url = postgres.new_database()
    await (await Database.open(url)).close()
    compiled = pq._claim.statement.compile(dialect=pg_dialect.dialect())
    params = {"b_colonyname": "c", "b_executortype": "t", "b_executorname": "e", "b_quotedname": '"e"', "b_locationname": "",
              "b_availablecpu": 1000, "b_availablemem": 1024, "b_executorid": "x", "b_now": 1}
    values = [params.get(name, compiled.params.get(name)) for name in compiled.positiontup or ()]
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("SET enable_seqscan = off")  # an empty table would be read whole anyway
        [plan] = await (await conn.prepare(str(compiled))).explain(*values)

        def scans(node):  # type: ignore[no-untyped-def]
            if node.get("Index Name") == "processes_claim_conditioned":
                yield node
            for child in node.get("Plans", []):
                yield from scans(child)

        found = list(scans(plan["Plan"]))
        assert len(found) >= 3  # the first shape, the two seeks of a step, the heads
        for scan in found:
            assert "claimlane" in scan.get("Index Cond", ""), scan
    finally:
        await conn.close()
