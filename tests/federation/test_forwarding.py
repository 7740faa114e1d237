"""Forwarding between real nodes on loopback: work goes where its executors are, results come back."""
from __future__ import annotations

import asyncio
import collections
from pathlib import Path
from typing import Iterator

import pytest
from pycolonies import Colonies

from colonies.client import AsyncClient, func_spec
from colonies.models import FAILED, SUCCESS, WAITING, WorkflowSpec
from colonies.wire import RPCError
from tests.federation.sites import Federation, running_federation


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[Federation]:
    with running_federation(tmp_path, ["a", "b", "c"]) as federation:
        yield federation


async def work(url: str, colony: str, key: str, stop: asyncio.Event, closed: collections.Counter[str]) -> None:
    """An executor loop: assign, close with the site's answer, until told to stop."""
    async with AsyncClient(url, key) as client:
        while not stop.is_set():
            try:
                process = await client.assign(colony, 1)
            except RPCError as err:
                assert err.status == 404, err
                continue
            closed[process.processid] += 1
            await client.close(process, [f"{process.spec.funcname}@{url}", *process.input])


async def test_processes_run_where_their_executor_type_lives_and_results_come_back(federation):
    b_cpu = federation.add_executor("b", "cpu")
    c_gpu = federation.add_executor("c", "gpu")
    stop = asyncio.Event()
    closed: collections.Counter[str] = collections.Counter()
    workers = [
        asyncio.ensure_future(work(federation.url("b"), federation.colony, b_cpu, stop, closed)),
        asyncio.ensure_future(work(federation.url("c"), federation.colony, c_gpu, stop, closed)),
    ]
    try:
        async with AsyncClient(federation.url("a"), federation.user) as a:
            total = 500
            submitted = []
            for start in range(0, total, 50):
                submitted += await asyncio.gather(
                    *(
                        a.submit(func_spec("cpu-job" if i % 2 else "gpu-job", federation.colony, "cpu" if i % 2 else "gpu"))
                        for i in range(start, start + 50)
                    )
                )
            deadline = asyncio.get_running_loop().time() + 120
            while asyncio.get_running_loop().time() < deadline:
                stats = await a.colony_stats(federation.colony)
                if stats.successfulprocesses == total:
                    break
                await asyncio.sleep(0.2)
        assert len(closed) == total and set(closed.values()) == {1}
        # the unmodified SDK sees every output at the origin, and wait() returns for a finished one
        origin = Colonies("127.0.0.1", federation.sites["a"].node.port)
        for process in submitted:
            seen = await asyncio.to_thread(origin.get_process, process.processid, federation.user)
            site = "b" if seen.spec.conditions.executortype == "cpu" else "c"
            assert seen.state == SUCCESS
            assert seen.output == [f"{seen.spec.funcname}@{federation.url(site)}"]
            assert seen.assignedexecutorid == federation.sites[site].node.node.core.federation.identity.node_id
        waited = await asyncio.to_thread(origin.wait, origin.get_process(submitted[0].processid, federation.user), 5, federation.user)
        assert waited.state == SUCCESS
    finally:
        stop.set()
        await asyncio.gather(*workers)


def test_pycolonies_sees_a_forwarded_process_finish_at_the_origin(federation):
    b_cpu = federation.add_executor("b", "cpu")
    origin = Colonies("127.0.0.1", federation.sites["a"].node.port)
    remote = Colonies("127.0.0.1", federation.sites["b"].node.port)
    spec = func_spec("hello", federation.colony, "cpu")
    from model import Conditions, FuncSpec

    process = origin.submit_func_spec(
        FuncSpec(funcname="hello", args=["world"], maxexectime=-1, conditions=Conditions(colonyname=federation.colony, executortype="cpu")),
        federation.user,
    )
    assigned = remote.assign(federation.colony, 10, b_cpu)
    assert assigned.spec.args == ["world"]
    remote.close(assigned.processid, ["hi from b"], b_cpu)
    finished = origin.wait(process, 10, federation.user)
    assert finished.state == SUCCESS and finished.output == ["hi from b"]
    assert spec.funcname == "hello"


async def test_a_three_step_workflow_crosses_three_sites_with_its_data(federation):
    a_local = federation.add_executor("a", "local")
    b_cpu = federation.add_executor("b", "cpu")
    c_gpu = federation.add_executor("c", "gpu")
    stop = asyncio.Event()
    closed: collections.Counter[str] = collections.Counter()
    workers = [
        asyncio.ensure_future(work(federation.url(site), federation.colony, key, stop, closed))
        for site, key in (("a", a_local), ("b", b_cpu), ("c", c_gpu))
    ]
    try:
        workflow = WorkflowSpec(
            colonyname=federation.colony,
            functionspecs=[
                func_spec("step1", federation.colony, "local"),
                func_spec("step2", federation.colony, "cpu", dependencies=["step1"]),
                func_spec("step3", federation.colony, "gpu", dependencies=["step2"]),
            ],
        )
        async with AsyncClient(federation.url("a"), federation.user) as a:
            graph = await a.submit_workflow(workflow)
            for _ in range(200):
                current = await a.get_processgraph(graph.processgraphid)
                if current.state in (SUCCESS, FAILED):
                    break
                await asyncio.sleep(0.1)
            assert current.state == SUCCESS
            last = [p for p in [await a.get_process(pid) for pid in current.processids] if p.spec.nodename == "step3"][0]
            assert last.output == [
                f"step3@{federation.url('c')}",
                f"step2@{federation.url('b')}",
                f"step1@{federation.url('a')}",
            ]
    finally:
        stop.set()
        await asyncio.gather(*workers)


async def test_nothing_is_forwarded_while_a_local_executor_is_live(federation):
    a_cpu = federation.add_executor("a", "cpu")
    federation.add_executor("b", "cpu")
    async with AsyncClient(federation.url("a"), a_cpu) as local, AsyncClient(federation.url("a"), federation.user) as a:
        with pytest.raises(RPCError):
            await local.assign(federation.colony, -1)  # makes this executor live
        process = await a.submit(func_spec("job", federation.colony, "cpu"))
        await asyncio.sleep(0.5)
        assert (await a.get_process(process)).state == WAITING
        assert (await local.assign(federation.colony, 2)).processid == process.processid
