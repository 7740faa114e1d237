"""Federation bookkeeping queries on a real SQLite store: bounded, set-based, in the right order."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import update

from colonies.client import func_spec
from colonies.federation import store as fq
from colonies.models import RUNNING, SUCCESS, WAITING
from colonies.node.store.database import Database
from colonies.node.store.schema import processes
from colonies.node.domain.submission import process_row, validate_spec

ORIGIN = "a" * 64


def forwarded(count: int, kind: str = "cpu") -> list[tuple[dict[str, Any], list[dict[str, Any]], str]]:
    rows = []
    for i in range(count):
        row, attrs = process_row(validate_spec(func_spec(f"job{i}", "dev", kind)), initiatorid=ORIGIN, initiatorname="node:aaaa", now=time.time_ns())
        rows.append((row, attrs, f"origin-{i}"))
    return rows


async def open_store(tmp_path: Path) -> Database:
    return await Database.open(f"sqlite:///{tmp_path / 'store.db'}")


async def test_finished_work_is_reported_before_work_that_still_runs(tmp_path):
    db = await open_store(tmp_path)
    try:
        ids, _ = await db.write(lambda conn: fq.accept_forwards(conn, ORIGIN, "http://a", forwarded(400), time.time_ns()))
        local = list(ids.values())

        def states(conn: Any) -> None:
            conn.execute(update(processes).values(state=RUNNING))
            for n, pid in enumerate(local[-3:]):  # the last three forwarded are the ones that ended
                conn.execute(update(processes).where(processes.c.processid == pid).values(state=SUCCESS, endtime=1000 - n, output='["ok"]'))

        await db.write(states)
        ended = await db.read(lambda conn: fq.ended_unreported(conn, 200))
        assert [result.remote_processid for _, result in ended] == list(reversed(local[-3:]))  # earliest end first
        assert all(result.output == ["ok"] for _, result in ended)
        await db.write(lambda conn: fq.acknowledge(conn, ORIGIN, [row.origin_processid for row, _ in ended]))
        assert await db.read(lambda conn: fq.ended_unreported(conn, 200)) == []
        assert await db.read(fq.inbound_running) == 397
    finally:
        await db.close()


async def test_a_repeated_forward_keeps_the_copy_and_an_ended_one_is_replaced(tmp_path):
    db = await open_store(tmp_path)
    try:
        rows = forwarded(2)
        first, _ = await db.write(lambda conn: fq.accept_forwards(conn, ORIGIN, "http://a", rows, time.time_ns()))
        again, created = await db.write(lambda conn: fq.accept_forwards(conn, ORIGIN, "http://a", forwarded(2), time.time_ns()))
        assert again == first and created == []
        done = first["origin-0"]
        await db.write(lambda conn: conn.execute(update(processes).where(processes.c.processid == done).values(state=SUCCESS)))
        third, created = await db.write(lambda conn: fq.accept_forwards(conn, ORIGIN, "http://a", forwarded(2), time.time_ns()))
        assert third["origin-1"] == first["origin-1"] and third["origin-0"] != done
        assert [r.state for r in created] == [WAITING]
    finally:
        await db.close()


async def test_waiting_types_skip_through_a_large_queue_one_seek_per_type(tmp_path):
    db = await open_store(tmp_path)
    try:
        def fill(conn: Any) -> None:
            from colonies.node.store import processes as pq

            for kind, count in (("a", 3000), ("b", 1), ("c", 2000)):
                for row, attrs, _ in forwarded(count, kind):
                    row["initiatorname"] = "alice"
                    pq.insert_process(conn, row, attrs)

        await db.write(fill)
        assert await db.read(lambda conn: fq.waiting_types(conn, "dev")) == ["a", "b", "c"]
        assert await db.read(lambda conn: fq.waiting_count(conn, "dev", "c")) == 2000
    finally:
        await db.close()


PEER, OTHER = "b" * 64, "c" * 64


async def submitted_here(db: Database, count: int) -> list[str]:
    from colonies.node.store import processes as pq

    rows = forwarded(count)

    def insert(conn: Any) -> list[str]:
        for row, attrs, _ in rows:
            row["initiatorname"] = "alice"
            pq.insert_process(conn, row, attrs)
        return [row["processid"] for row, _, _ in rows]

    return await db.write(insert)


async def test_a_start_is_granted_only_to_the_peer_that_holds_the_process(tmp_path):
    from colonies.federation.messages import Result

    db = await open_store(tmp_path)
    try:
        held, granted_at_forward, taken_back = await submitted_here(db, 3)
        now = time.time_ns()
        await db.write(lambda conn: fq.claim_for_peers(conn, [(held, PEER, "http://b", False), (granted_at_forward, PEER, "http://b", True), (taken_back, PEER, "http://b", False)], now))
        records, ids = await db.write(lambda conn: fq.take_back(conn, PEER, [held, granted_at_forward, taken_back], now, unstarted_only=True))
        assert sorted(ids) == sorted([held, taken_back])  # a granted one counts as started: it stays
        assert {r.state for r in records} == {WAITING}
        await db.write(lambda conn: fq.claim_for_peers(conn, [(held, PEER, "http://b", False)], now))
        granted, revoked = await db.write(lambda conn: fq.grant_starts(conn, PEER, [held, taken_back], now))
        assert (granted, revoked) == ([held], [taken_back])
        assert (await db.write(lambda conn: fq.grant_starts(conn, OTHER, [held], now))) == ([], [held])

        late = Result(origin_processid=taken_back, state=SUCCESS, output=["late"])
        fine = Result(origin_processid=held, state=SUCCESS, output=["ok"])
        closed = await db.write(lambda conn: fq.apply_results(conn, PEER, [late, fine, fine], now))
        assert [r.process.processid for r in closed] == [held]  # the late one is dropped, the repeat taken once
        assert (await db.read(lambda conn: fq.where_it_runs(conn, held))) is None
    finally:
        await db.close()
