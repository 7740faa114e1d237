"""Our SDK's workflow and channel methods against a real node."""
from __future__ import annotations

import asyncio

from colonies import models
from colonies.client import AsyncClient, Client, func_spec
from colonies.models import RUNNING, SUCCESS


async def test_sdk_runs_a_two_step_workflow_and_inspects_the_graph(colony):
    executor, user = colony.add_executor(), colony.add_user()
    workflow = models.WorkflowSpec(
        colonyname=colony.name,
        functionspecs=[
            func_spec("first", colony.name, "test"),
            func_spec("second", colony.name, "test", dependencies=["first"]),
        ],
    )
    async with AsyncClient(colony.url, executor.prvkey) as ex, AsyncClient(colony.url, user.prvkey) as us:
        graph = await us.submit_workflow(workflow)
        first = await ex.assign(colony.name, 5)
        extra = await ex.add_child(graph.processgraphid, first, func_spec("extra", colony.name, "test"), insert=False)
        assert extra.waitforparents
        await ex.close(first, ["a"])
        for _ in range(2):
            step = await ex.assign(colony.name, 5)
            assert step.input == ["a"]
            await ex.close(step, [step.spec.nodename])
        done = await us.get_processgraph(graph.processgraphid)
        assert done.state == SUCCESS and len(done.processids) == 3
        assert [g.processgraphid for g in await us.list_processgraphs(colony.name, SUCCESS)] == [graph.processgraphid]
        await us.remove_processgraph(graph.processgraphid)
        assert await us.list_processgraphs(colony.name, SUCCESS) == []


async def test_sdk_channel_append_read_and_subscribe(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with AsyncClient(colony.url, executor.prvkey) as ex, AsyncClient(colony.url, user.prvkey) as us:
        process = await us.submit(func_spec("chat", colony.name, "test", channels=["talk"]))
        await ex.assign(colony.name, 5)
        await us.channel_append(process, "talk", 1, b"hello")
        await ex.channel_append(process, "talk", 1, b"hi back", inreplyto=1)
        entries = await us.channel_read(process, "talk")
        assert [e.payload for e in entries] == ["aGVsbG8=", "aGkgYmFjaw=="]
        assert entries[1].inreplyto == 1 and entries[0].senderid == user.id

        received: list[models.ChannelEntry] = []

        async def follow() -> None:
            async for entry in us.subscribe_channel(process, "talk", afterseq=2, timeout=2):
                received.append(entry)

        follower = asyncio.ensure_future(follow())
        await asyncio.sleep(0.3)
        await ex.channel_append(process, "talk", 2, b"", payloadtype="end")
        await follower
        assert [e.type for e in received] == ["end"]
        assert (await us.get_process(process)).state == RUNNING


def test_blocking_client_submits_a_workflow(colony):
    user = colony.add_user()
    with Client(colony.url, user.prvkey) as client:
        graph = client.submit_workflow(models.WorkflowSpec(colonyname=colony.name, functionspecs=[func_spec("only", colony.name, "test")]))
        assert client.get_processgraph(graph.processgraphid).processids == graph.rootprocessids


async def test_a_workflow_bigger_than_an_insert_slice_is_stored_whole_with_each_members_env(colony):
    # 1,201 members: three insert slices (and three COPY calls on PostgreSQL), the last one short
    executor, user = colony.add_executor(), colony.add_user()
    specs = [func_spec("root", colony.name, "test", nodename="root")]
    for i in range(1200):
        spec = func_spec("leaf", colony.name, "test", nodename=f"leaf{i}", dependencies=["root"])
        spec.env = {"index": str(i)}
        specs.append(spec)
    async with AsyncClient(colony.url, executor.prvkey) as ex, AsyncClient(colony.url, user.prvkey) as us:
        graph = await us.submit_workflow(models.WorkflowSpec(colonyname=colony.name, functionspecs=specs))
        stored = await us.get_processgraph(graph.processgraphid)
        assert len(set(stored.processids)) == 1201 and len(graph.rootprocessids) == 1
        root = await ex.assign(colony.name, 5)
        assert root.spec.nodename == "root" and root.attributes == []
        await ex.close(root, ["r"])
        seen = set()
        for _ in range(3):
            leaf = await ex.assign(colony.name, 5)
            assert {(a.key, a.value) for a in leaf.attributes} == {("index", leaf.spec.nodename.removeprefix("leaf"))}
            seen.add(leaf.spec.nodename)
        assert len(seen) == 3


def fan_out(colonyname: str, leaves: int) -> models.WorkflowSpec:
    specs = [func_spec("root", colonyname, "test", nodename="root")]
    specs += [func_spec("leaf", colonyname, "test", nodename=f"leaf{i}", dependencies=["root"]) for i in range(leaves)]
    return models.WorkflowSpec(colonyname=colonyname, functionspecs=specs)


async def test_a_failed_root_fails_every_leaf_of_a_wide_fan_out_and_a_cancel_ends_the_rest(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with AsyncClient(colony.url, executor.prvkey) as ex, AsyncClient(colony.url, user.prvkey) as us:
        failing = await us.submit_workflow(fan_out(colony.name, 700))
        root = await ex.assign(colony.name, 5)
        await ex.fail(root, ["boom"])
        graph = await us.get_processgraph(failing.processgraphid)
        assert graph.state == models.FAILED
        for pid in (graph.processids[1], graph.processids[350], graph.processids[-1]):
            leaf = await us.get_process(pid)
            assert leaf.state == models.FAILED and leaf.errors and root.processid in leaf.errors[0]

        cancelled = await us.submit_workflow(fan_out(colony.name, 700))
        await us.cancel_processgraph(cancelled.processgraphid)
        graph = await us.get_processgraph(cancelled.processgraphid)
        assert graph.state == models.CANCELLED
        assert {(await us.get_process(pid)).state for pid in (graph.processids[0], graph.processids[-1])} == {models.CANCELLED}
