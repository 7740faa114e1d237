"""Operations beyond pycolonies, through our SDK: pause/resume, cancel, history, logs search,
executor logs, allocations and capabilities, statistics and colony-scoped subscriptions."""
from __future__ import annotations

import asyncio

import pytest

from colonies import dev, models
from colonies.client import AsyncClient, func_spec
from colonies.models import CANCELLED, RUNNING, SUCCESS, WAITING
from colonies.wire import RPCError


async def test_paused_colony_assigns_nothing_until_resumed(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with AsyncClient(colony.url, colony.owner_prvkey) as owner, AsyncClient(colony.url, executor.prvkey) as ex, AsyncClient(
        colony.url, user.prvkey
    ) as us:
        await owner.pause_assignments(colony.name)
        assert await us.get_pause_status(colony.name) is True
        process = await us.submit(func_spec("f", colony.name, "test"))
        with pytest.raises(RPCError) as err:
            await ex.assign(colony.name, -1)
        assert err.value.status == 503
        waiting = asyncio.ensure_future(ex.assign(colony.name, 10))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await owner.resume_assignments(colony.name)
        assert (await asyncio.wait_for(waiting, 5)).processid == process.processid
        assert await us.get_pause_status(colony.name) is False


async def test_only_the_colony_owner_pauses(colony):
    user = colony.add_user()
    async with AsyncClient(colony.url, user.prvkey) as us:
        with pytest.raises(RPCError) as err:
            await us.pause_assignments(colony.name)
        assert err.value.status == 403


async def test_cancel_waiting_and_running_processes(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with AsyncClient(colony.url, executor.prvkey) as ex, AsyncClient(colony.url, user.prvkey) as us:
        waiting = await us.submit(func_spec("f", colony.name, "test"))
        await us.cancel(waiting)
        assert (await us.get_process(waiting)).state == CANCELLED
        running = await us.submit(func_spec("f", colony.name, "test"))
        assigned = await ex.assign(colony.name, 2)
        assert assigned.processid == running.processid
        await us.cancel(running)
        assert (await us.get_process(running)).state == CANCELLED
        with pytest.raises(RPCError):
            await ex.close(running, ["late"])
        with pytest.raises(RPCError) as err:
            await us.cancel(running)
        assert err.value.status == 400


async def test_history_lists_recent_processes_of_a_state(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with AsyncClient(colony.url, executor.prvkey) as ex, AsyncClient(colony.url, user.prvkey) as us:
        for _ in range(3):
            await us.submit(func_spec("f", colony.name, "test"))
        done = await ex.assign(colony.name, 2)
        await ex.close(done, ["ok"])
        assert len(await us.process_history(colony.name, 60, WAITING)) == 2
        successful = await us.process_history(colony.name, 60, SUCCESS, executorid=executor.id)
        assert [p.processid for p in successful] == [done.processid]


async def test_logs_by_process_executor_latest_and_search(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with AsyncClient(colony.url, executor.prvkey) as ex, AsyncClient(colony.url, user.prvkey) as us:
        await us.submit(func_spec("f", colony.name, "test"))
        process = await ex.assign(colony.name, 2)
        for i in range(5):
            await ex.add_log(process, f"line {i} needle" if i == 3 else f"line {i}")
        await ex.add_executor_log(colony.name, executor.name, "executor says hi")
        logs = await us.get_logs(colony.name, process=process, count=10)
        assert [entry.message for entry in logs] == [f"line {i}" if i != 3 else "line 3 needle" for i in range(5)]
        latest = await us.get_logs(colony.name, process=process, count=2, latest=True)
        assert [entry.message for entry in latest] == ["line 3 needle", "line 4"]
        since = await us.get_logs(colony.name, process=process, count=10, since=logs[2].timestamp)
        assert len(since) == 2
        by_executor = await us.get_logs(colony.name, executorname=executor.name, count=100)
        assert "executor says hi" in [entry.message for entry in by_executor]
        found = await us.search_logs(colony.name, "needle", days=1, count=10)
        assert [entry.message for entry in found] == ["line 3 needle"]


async def test_executor_reports_allocations_and_capabilities_for_itself_only(colony):
    executor, other = colony.add_executor(), colony.add_executor()
    capabilities = models.Capabilities(hardware=[models.Hardware(model="gpu-box", cores=8)], software=[models.Software(name="python")])
    allocations = models.Allocations(projects={"p": models.ProjectAllocation(allocatedcpu=4, usedcpu=1)})
    async with AsyncClient(colony.url, executor.prvkey) as ex, AsyncClient(colony.url, other.prvkey) as ot:
        await ex.update_capabilities(colony.name, executor.name, capabilities)
        await ex.report_allocations(colony.name, executor.name, allocations)
        stored = await ex.get_executor(colony.name, executor.name)
        assert stored.capabilities.hardware[0].model == "gpu-box"
        assert stored.allocations.projects["p"].allocatedcpu == 4
        with pytest.raises(RPCError) as err:
            await ot.update_capabilities(colony.name, executor.name, capabilities)
        assert err.value.status == 403


async def test_server_statistics_for_the_server_owner_only(colony):
    user = colony.add_user()
    async with AsyncClient(colony.url, dev.SERVER_PRVKEY) as server, AsyncClient(colony.url, user.prvkey) as us:
        await us.submit(func_spec("f", colony.name, "test"))
        stats = await server.statistics()
        assert stats.colonies >= 1 and stats.waitingprocesses >= 1
        with pytest.raises(RPCError) as err:
            await us.statistics()
        assert err.value.status == 403


async def test_process_subscription_hears_only_its_own_colony(node, colony):
    from tests.conftest import ColonyFixture  # noqa: F401
    from tests.support.rpc import call
    from colonies import crypto

    executor, user = colony.add_executor(), colony.add_user()
    other_owner = crypto.generate_private_key()
    other_name = colony.name + "-other"
    call(node.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": crypto.id_from_private_key(other_owner), "name": other_name}}, dev.SERVER_PRVKEY)
    try:
        stranger_key = crypto.generate_private_key()
        stranger = {"colonyname": other_name, "userid": crypto.id_from_private_key(stranger_key), "name": "s", "email": "", "phone": ""}
        call(node.url, {"msgtype": "addusermsg", "user": stranger}, other_owner)
        async with AsyncClient(colony.url, executor.prvkey) as ex, AsyncClient(colony.url, user.prvkey) as us, AsyncClient(
            colony.url, stranger_key
        ) as st:
            heard: list[models.Process] = []

            async def listen() -> None:
                async for process in ex.subscribe_processes(colony.name, "test", WAITING, 3):
                    heard.append(process)

            listener = asyncio.ensure_future(listen())
            await asyncio.sleep(0.3)
            mine = await us.submit(func_spec("f", colony.name, "test"))
            await listener
            assert [p.processid for p in heard] == [mine.processid]
            with pytest.raises((RPCError, ConnectionError)):
                async for _ in st.subscribe_processes(colony.name, "test", WAITING, 1):
                    pass
    finally:
        call(node.url, {"msgtype": "removecolonymsg", "colonyname": other_name}, dev.SERVER_PRVKEY)


async def test_wait_follows_a_process_to_running(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with AsyncClient(colony.url, executor.prvkey) as ex, AsyncClient(colony.url, user.prvkey) as us:
        process = await us.submit(func_spec("f", colony.name, "test"))
        waiting = asyncio.ensure_future(us.wait(process, state=RUNNING, timeout=5, stop_states=()))
        await asyncio.sleep(0.2)
        await ex.assign(colony.name, 2)
        assert (await waiting).state == RUNNING


async def test_a_removed_executor_is_no_longer_a_member(colony):
    executor = colony.add_executor(name="gone")
    async with AsyncClient(colony.url, colony.owner_prvkey) as owner, AsyncClient(colony.url, executor.prvkey) as ex:
        assert await ex.list_users(colony.name) == []
        await owner.remove_executor(colony.name, "gone")
        with pytest.raises(RPCError) as err:
            await ex.list_users(colony.name)
        assert err.value.status == 403


def test_cluster_info_names_this_node_as_leader(node):
    from tests.support.rpc import call

    cluster = call(node.url, {"msgtype": "getclustermsg"}, dev.SERVER_PRVKEY)
    assert cluster["leader"]["apiport"] == node.port
    assert cluster["nodes"] == [cluster["leader"]]


async def test_only_the_owning_executor_removes_its_function(colony):
    executor, other = colony.add_executor(), colony.add_executor()
    async with AsyncClient(colony.url, executor.prvkey) as ex, AsyncClient(colony.url, other.prvkey) as ot:
        function = await ex.add_function(colony.name, executor.name, "test", "echo", description="says it back")
        assert [f.funcname for f in await ot.list_functions(colony.name)] == ["echo"]
        with pytest.raises(RPCError) as err:
            await ot.remove_function(function.functionid)
        assert err.value.status == 403
        await ex.remove_function(function.functionid)
        assert await ex.list_functions(colony.name) == []
        with pytest.raises(RPCError) as err:
            await ex.remove_function(function.functionid)
        assert err.value.status == 404
