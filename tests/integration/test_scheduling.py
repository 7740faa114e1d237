"""Queue semantics through our SDK against a real node: long-poll, order, matching, timeouts."""
from __future__ import annotations

import asyncio
import collections

import pytest

from colonies.client import AsyncClient, func_spec
from colonies.models import FAILED, RUNNING, SUCCESS, WAITING
from colonies.wire import RPCError


def _client(colony, member) -> AsyncClient:
    return AsyncClient(colony.url, member.prvkey)


async def test_waiting_assign_is_woken_by_a_submit(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with _client(colony, executor) as ex, _client(colony, user) as us:
        pending = asyncio.ensure_future(ex.assign(colony.name, 20))
        await asyncio.sleep(0.3)
        assert not pending.done()
        submitted = await us.submit(func_spec("f", colony.name, "test"))
        assigned = await asyncio.wait_for(pending, 5)
        assert assigned.processid == submitted.processid
        assert assigned.state == RUNNING and assigned.isassigned


async def test_assign_with_nothing_queued_times_out_with_404(colony):
    executor = colony.add_executor()
    async with _client(colony, executor) as ex:
        with pytest.raises(RPCError) as err:
            await ex.assign(colony.name, 1)
        assert err.value.status == 404


async def test_one_process_wakes_exactly_one_of_several_waiting_executors(colony):
    executors = [colony.add_executor() for _ in range(4)]
    user = colony.add_user()
    clients = [_client(colony, e) for e in executors]
    try:
        polls = [asyncio.ensure_future(c.assign(colony.name, 2)) for c in clients]
        await asyncio.sleep(0.3)
        async with _client(colony, user) as us:
            await us.submit(func_spec("f", colony.name, "test"))
        results = await asyncio.gather(*polls, return_exceptions=True)
        got = [r for r in results if not isinstance(r, Exception)]
        timed_out = [r for r in results if isinstance(r, RPCError) and r.status == 404]
        assert len(got) == 1 and len(timed_out) == 3
    finally:
        for c in clients:
            await c.aclose()


async def test_higher_priority_first_then_fifo(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with _client(colony, executor) as ex, _client(colony, user) as us:
        low1 = await us.submit(func_spec("f", colony.name, "test", priority=0))
        low2 = await us.submit(func_spec("f", colony.name, "test", priority=0))
        high = await us.submit(func_spec("f", colony.name, "test", priority=5))
        order = [(await ex.assign(colony.name, 1)).processid for _ in range(3)]
        assert order == [high.processid, low1.processid, low2.processid]


async def test_targeted_process_goes_only_to_the_named_executor(colony):
    first, second = colony.add_executor(name="alpha"), colony.add_executor(name="beta")
    user = colony.add_user()
    async with _client(colony, first) as a, _client(colony, second) as b, _client(colony, user) as us:
        target = await us.submit(func_spec("f", colony.name, "test", executornames=["beta"]))
        with pytest.raises(RPCError) as err:
            await a.assign(colony.name, -1)
        assert err.value.status == 404
        assert (await b.assign(colony.name, 1)).processid == target.processid


async def test_waiting_targeted_executor_is_woken_not_another(colony):
    first, second = colony.add_executor(name="alpha"), colony.add_executor(name="beta")
    user = colony.add_user()
    async with _client(colony, first) as a, _client(colony, second) as b, _client(colony, user) as us:
        poll_a = asyncio.ensure_future(a.assign(colony.name, 2))
        await asyncio.sleep(0.2)
        poll_b = asyncio.ensure_future(b.assign(colony.name, 5))
        await asyncio.sleep(0.2)
        target = await us.submit(func_spec("f", colony.name, "test", executornames=["beta"]))
        assert (await asyncio.wait_for(poll_b, 5)).processid == target.processid
        with pytest.raises(RPCError):
            await poll_a


async def test_cpu_and_memory_conditions_bound_assignment(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with _client(colony, executor) as ex, _client(colony, user) as us:
        big = await us.submit(func_spec("f", colony.name, "test", cpu="4000m", mem="8Gi"))
        with pytest.raises(RPCError) as err:
            await ex.assign(colony.name, -1, availablecpu="2000m", availablemem="16Gi")
        assert err.value.status == 404
        got = await ex.assign(colony.name, 1, availablecpu="4", availablemem="8Gi")
        assert got.processid == big.processid


async def test_maxwaittime_fails_an_unassigned_process(colony):
    user = colony.add_user()
    async with _client(colony, user) as us:
        process = await us.submit(func_spec("f", colony.name, "test", maxwaittime=1))
        failed = await us.wait(process, state=FAILED, timeout=10)
        assert failed.state == FAILED
        assert failed.errors == ["Maximum waiting time limit exceeded"]


async def test_maxexectime_releases_to_the_queue_then_fails_when_retries_run_out(colony):
    executor, other, user = colony.add_executor(), colony.add_executor(), colony.add_user()
    async with _client(colony, executor) as ex, _client(colony, other) as ot, _client(colony, user) as us:
        process = await us.submit(func_spec("f", colony.name, "test", maxexectime=1, maxretries=1))
        await ex.assign(colony.name, 1)
        released = await us.wait(process, state=WAITING, timeout=10, stop_states=())
        assert released.retries == 1 and not released.isassigned
        # the executor that lost it may no longer close it
        with pytest.raises(RPCError) as err:
            await ex.close(process, ["late"])
        assert err.value.status == 403
        again = await ot.assign(colony.name, 5)
        assert again.processid == process.processid
        failed = await us.wait(process, state=FAILED, timeout=10)
        assert failed.errors == ["Maximum execution time limit exceeded"]


async def test_maxexectime_zero_means_unlimited(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with _client(colony, executor) as ex, _client(colony, user) as us:
        await us.submit(func_spec("f", colony.name, "test", maxexectime=0, maxretries=0))
        process = await ex.assign(colony.name, 1)
        await asyncio.sleep(1.5)
        assert (await us.get_process(process)).state == RUNNING
        await ex.close(process, ["done"])
        assert (await us.get_process(process)).state == SUCCESS


async def test_abandoned_long_poll_does_not_swallow_a_process(colony):
    executor, other, user = colony.add_executor(), colony.add_executor(), colony.add_user()
    async with _client(colony, user) as us, _client(colony, other) as ot:
        gone = _client(colony, executor)
        poll = asyncio.ensure_future(gone.assign(colony.name, 10))
        await asyncio.sleep(0.3)
        poll.cancel()
        await gone.aclose()
        await asyncio.sleep(0.3)
        process = await us.submit(func_spec("f", colony.name, "test"))
        got = await ot.assign(colony.name, 5)
        assert got.processid == process.processid


async def test_removing_an_executor_returns_its_running_processes_to_the_queue(colony):
    executor, user = colony.add_executor(name="leaving"), colony.add_user()
    async with _client(colony, executor) as ex, _client(colony, user) as us:
        process = await us.submit(func_spec("f", colony.name, "test"))
        await ex.assign(colony.name, 1)
        async with AsyncClient(colony.url, colony.owner_prvkey) as owner:
            await owner.remove_executor(colony.name, "leaving")
        back = await us.get_process(process)
        assert back.state == WAITING and not back.isassigned and back.retries == 1  # the lost attempt counts (issue 12, item 9)


async def test_concurrent_executors_close_every_process_exactly_once(colony):
    total, workers = 2000, 8
    executors = [colony.add_executor() for _ in range(workers)]
    user = colony.add_user()
    closed: collections.Counter[str] = collections.Counter()
    async with _client(colony, user) as us:
        submitted = set()
        spec = func_spec("f", colony.name, "test")
        for chunk in range(0, total, 100):
            batch = await asyncio.gather(*(us.submit(spec) for _ in range(100)))
            submitted.update(p.processid for p in batch)

        async def work(member) -> None:
            async with _client(colony, member) as ex:
                while sum(closed.values()) < total:
                    try:
                        process = await ex.assign(colony.name, 1)
                    except RPCError as err:
                        assert err.status == 404
                        continue
                    await ex.close(process, [process.processid])
                    closed[process.processid] += 1

        await asyncio.wait_for(asyncio.gather(*(work(e) for e in executors)), 240)
        assert set(closed) == submitted
        assert set(closed.values()) == {1}
        stats = await us.colony_stats(colony.name)
        assert stats.successfulprocesses == total and stats.waitingprocesses == 0 and stats.runningprocesses == 0


async def test_a_long_poll_on_an_empty_queue_claims_once_and_once_more_per_wake_up(colony, monkeypatch):
    from colonies.node.store import processes as pq

    claims: list[str] = []
    claim = pq.claim

    def counting(conn, **kwargs):
        claims.append(kwargs["executorname"])
        return claim(conn, **kwargs)

    monkeypatch.setattr(pq, "claim", counting)
    executor, user = colony.add_executor(), colony.add_user()
    async with _client(colony, executor) as ex, _client(colony, user) as us:
        pending = asyncio.ensure_future(ex.assign(colony.name, 20))
        await asyncio.sleep(0.5)
        assert claims.count(executor.name) == 1  # registered first, then one look
        submitted = await us.submit(func_spec("f", colony.name, "test"))
        assert (await asyncio.wait_for(pending, 5)).processid == submitted.processid
        assert claims.count(executor.name) == 2


def test_a_submit_cancelled_while_its_write_is_queued_still_wakes_the_waiting_executor(node, colony):
    from colonies import dev as dev_ids
    from colonies.node.events import Subscription
    from colonies.node.domain.submission import submit_process

    async def scenario() -> str:
        core = node.node.core
        subscription = core.events.subscribe(Subscription(state=WAITING, executortype="test", colonies=frozenset({colony.name})))
        try:
            task = asyncio.ensure_future(
                submit_process(core, func_spec("f", colony.name, "test"), initiatorid=dev_ids.ID, initiatorname="u")
            )
            while not core.db._pending:
                await asyncio.sleep(0)
            task.cancel()
            record = await asyncio.wait_for(subscription.queue.get(), 5)
            return record.process.processid
        finally:
            core.events.unsubscribe(subscription)

    processid = node.call(scenario())
    user = colony.add_user()
    from tests.support.rpc import call

    assert call(colony.url, {"msgtype": "getprocessmsg", "processid": processid}, user.prvkey)["state"] == WAITING
