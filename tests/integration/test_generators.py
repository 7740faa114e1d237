"""Generators through our SDK against a node checking every 0.2 s (spec §2.10, §4.10)."""
from __future__ import annotations

import asyncio
import secrets
from typing import Any, Iterator

import msgspec
import pytest

from colonies import crypto, dev
from colonies.client import AsyncClient
from colonies.models import WAITING, WorkflowSpec
from colonies.timefmt import ZERO_TIME
from colonies.wire import RPCError
from tests.conftest import ColonyFixture, Member
from tests.support.nodes import RunningNode, start_node
from tests.support.rpc import RPCFailure, call
from tests.support.workflows import extra_colony, fast_trigger_node
from tests.support.workflows import workflow as shared_workflow


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    with fast_trigger_node(tmp_path_factory.mktemp("triggers")) as running:
        yield running


@pytest.fixture
def other_colony(node: RunningNode) -> Iterator[ColonyFixture]:
    with extra_colony(node) as colony:
        yield colony


def workflow(colonyname: str, *nodes: tuple[str, list[str]]) -> WorkflowSpec:
    return shared_workflow(colonyname, *nodes, kwargs={"spec": "kwarg"})


def client(colony: ColonyFixture, member: Member | str) -> AsyncClient:
    return AsyncClient(colony.url, member if isinstance(member, str) else member.prvkey)


async def queued_args(us: AsyncClient, colony: ColonyFixture) -> list[list[Any]]:
    """The args of the waiting processes, oldest submission first."""
    processes = await us.list_processes(colony.name, WAITING, 100)
    processes.sort(key=lambda p: (p.submissiontime, p.prioritytime))
    return [p.spec.args for p in processes]


async def settle(us: AsyncClient, colony: ColonyFixture, count: int, timeout: float = 5.0) -> list[list[Any]]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await queued_args(us, colony)
        if len(found) >= count or asyncio.get_running_loop().time() > deadline:
            await asyncio.sleep(0.6)  # three more checks: nothing else may follow
            return await queued_args(us, colony)
        await asyncio.sleep(0.1)


# --- firing ---------------------------------------------------------------------------------
async def test_generator_fires_once_per_trigger_with_args_in_pack_order(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with client(colony, executor) as ex, client(colony, user) as us:
        generator = await us.add_generator(colony.name, "batches", workflow(colony.name), trigger=3)
        for i in range(7):
            await us.pack_generator(generator.generatorid, f"arg-{i}")
        await settle(us, colony, 2)
        first, second = await ex.assign(colony.name, 5), await ex.assign(colony.name, 5)
        assert first.spec.args == ["arg-0", "arg-1", "arg-2"]
        assert second.spec.args == ["arg-3", "arg-4", "arg-5"]
        assert first.spec.kwargs == {} and second.spec.kwargs == {}
        assert first.processgraphid and first.processgraphid != second.processgraphid
        assert first.initiatorid == user.id and first.initiatorname == user.name
        got = await us.get_generator(generator.generatorid)
        assert got.queuesize == 1
        assert got.lastrun != ZERO_TIME and got.firstpack != ZERO_TIME
        assert await queued_args(us, colony) == []


async def test_generator_fires_on_timeout_with_all_queued_args_in_order(colony):
    user = colony.add_user()
    async with client(colony, user) as us:
        generator = await us.add_generator(colony.name, "slow", workflow(colony.name), trigger=10, timeout=1)
        await us.pack_generator(generator.generatorid, "first")
        await us.pack_generator(generator.generatorid, "second")
        assert await queued_args(us, colony) == []  # the timeout has not passed yet
        assert await settle(us, colony, 1) == [["first", "second"]]
        assert (await us.get_generator(generator.generatorid)).queuesize == 0


async def test_generator_without_timeout_waits_for_its_trigger(colony):
    user = colony.add_user()
    async with client(colony, user) as us:
        generator = await us.add_generator(colony.name, "patient", workflow(colony.name), trigger=3, timeout=0)
        await us.pack_generator(generator.generatorid, "a")
        await us.pack_generator(generator.generatorid, "b")
        await asyncio.sleep(1.5)
        assert await queued_args(us, colony) == []
        await us.pack_generator(generator.generatorid, "c")
        assert await settle(us, colony, 1) == [["a", "b", "c"]]


async def test_every_root_gets_the_packed_args_and_children_keep_theirs(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with client(colony, executor) as ex, client(colony, user) as us:
        spec = workflow(colony.name, ("left", []), ("right", []), ("join", ["left", "right"]))
        generator = await us.add_generator(colony.name, "fan-in", spec, trigger=1)
        await us.pack_generator(generator.generatorid, "only")
        roots = [await ex.assign(colony.name, 5), await ex.assign(colony.name, 5)]
        assert sorted(r.spec.nodename for r in roots) == ["left", "right"]
        assert all(r.spec.args == ["only"] and r.spec.kwargs == {} for r in roots)
        for root in roots:
            await ex.close(root, [])
        child = await ex.assign(colony.name, 5)
        assert child.spec.nodename == "join"
        assert child.spec.args == ["spec-arg"] and child.spec.kwargs == {"spec": "kwarg"}


async def test_queued_args_survive_a_node_restart(tmp_path):
    restartable = start_node(tmp_path, generator_checker_period=0.2)
    try:
        owner = crypto.generate_private_key()
        colony2 = ColonyFixture(restartable.url, f"restart-{secrets.token_hex(4)}", owner, crypto.id_from_private_key(owner))
        call(restartable.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": colony2.colonyid, "name": colony2.name}}, dev.SERVER_PRVKEY)
        user = colony2.add_user()
        async with client(colony2, user) as us:
            generator = await us.add_generator(colony2.name, "durable", workflow(colony2.name), trigger=3)
            await us.pack_generator(generator.generatorid, "kept-1")
            await us.pack_generator(generator.generatorid, "kept-2")
        restartable.stop()
        restartable = start_node(tmp_path, generator_checker_period=0.2)
        colony2.url = restartable.url
        async with client(colony2, user) as us:
            assert (await us.get_generator(generator.generatorid)).queuesize == 2
            await us.pack_generator(generator.generatorid, "new-3")
            assert await settle(us, colony2, 1) == [["kept-1", "kept-2", "new-3"]]
    finally:
        restartable.stop()


# --- add, get, resolve, list, pack, remove --------------------------------------------------
async def test_get_resolve_and_list_report_queue_size_and_checker_period(colony):
    user = colony.add_user()
    async with client(colony, user) as us:
        generator = await us.add_generator(colony.name, "inspect", workflow(colony.name), trigger=100, timeout=-1)
        assert generator.queuesize == 0 and generator.firstpack == ZERO_TIME
        await us.pack_generator(generator.generatorid, "x")
        got = await us.get_generator(generator.generatorid)
        assert got.queuesize == 1 and got.checkerperiod == 200 and got.firstpack != ZERO_TIME
        assert got.initiatorname == user.name and got.trigger == 100 and got.timeout == -1
        resolved = await us.resolve_generator(colony.name, "inspect")
        assert resolved.generatorid == generator.generatorid and resolved.queuesize == 1
        [listed] = await us.list_generators(colony.name)
        assert listed.generatorid == generator.generatorid and listed.queuesize == 1
        with pytest.raises(RPCError) as err:
            await us.resolve_generator(colony.name, "nope")
        assert err.value.status == 404


async def test_get_generators_is_never_null_and_bounded(colony):
    user = colony.add_user()
    async with client(colony, user) as us:
        from colonies import messages

        _, raw = await us.rpc(messages.GetGeneratorsMsg(msgtype="getgeneratorsmsg", colonyname=colony.name, count=10))
        assert raw == b"[]"
        for name in ("g1", "g2", "g3"):
            await us.add_generator(colony.name, name, workflow(colony.name), trigger=5)
        assert [g.name for g in await us.list_generators(colony.name, count=2)] == ["g1", "g2"]
        with pytest.raises(RPCError) as err:
            await us.list_generators(colony.name, count=101)
        assert err.value.status == 400


async def test_removed_generator_and_its_queue_are_gone(colony):
    user = colony.add_user()
    async with client(colony, user) as us:
        generator = await us.add_generator(colony.name, "gone", workflow(colony.name), trigger=2)
        await us.pack_generator(generator.generatorid, "orphan")
        await us.remove_generator(generator.generatorid)
        for attempt in (us.get_generator(generator.generatorid), us.pack_generator(generator.generatorid, "late")):
            with pytest.raises(RPCError) as err:
                await attempt
            assert err.value.status == 404
        # the name is free again, with an empty queue
        again = await us.add_generator(colony.name, "gone", workflow(colony.name), trigger=2)
        assert (await us.get_generator(again.generatorid)).queuesize == 0


def _generator_document(colony: ColonyFixture, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "colonyname": colony.name,
        "name": "g",
        "workflowspec": msgspec.json.encode(workflow(colony.name)).decode(),
        "trigger": 2,
        "timeout": -1,
    }
    document.update(changes)
    return document


@pytest.mark.parametrize(
    "changes",
    [
        {"trigger": 0},
        {"trigger": -1},
        {"timeout": -2},
        {"workflowspec": "{not json"},
        {"workflowspec": '{"colonyname": "elsewhere", "functionspecs": []}'},
        {"name": ""},
    ],
    ids=["trigger-0", "trigger-negative", "timeout-below-minus-1", "bad-json", "bad-workflow", "no-name"],
)
def test_invalid_generators_are_refused_with_400(colony, changes):
    user = colony.add_user()
    with pytest.raises(RPCFailure) as err:
        call(colony.url, {"msgtype": "addgeneratormsg", "generator": _generator_document(colony, **changes)}, user.prvkey)
    assert err.value.status == 400


def test_duplicate_generator_name_and_missing_generator_are_refused(colony):
    user = colony.add_user()
    call(colony.url, {"msgtype": "addgeneratormsg", "generator": _generator_document(colony)}, user.prvkey)
    for msg in ({"msgtype": "addgeneratormsg", "generator": _generator_document(colony)}, {"msgtype": "addgeneratormsg"}):
        with pytest.raises(RPCFailure) as err:
            call(colony.url, msg, user.prvkey)
        assert err.value.status == 400


def test_workflow_of_another_colony_is_refused(colony, other_colony):
    user = colony.add_user()
    spec = msgspec.json.encode(workflow(other_colony.name)).decode()
    with pytest.raises(RPCFailure) as err:
        call(colony.url, {"msgtype": "addgeneratormsg", "generator": _generator_document(colony, workflowspec=spec)}, user.prvkey)
    assert err.value.status == 400


# --- authorization --------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["stranger", "colony-owner", "member-of-another-colony", "unapproved-executor"])
def test_every_generator_message_needs_membership_of_the_generators_colony(colony, other_colony, who):
    user = colony.add_user()
    generator = call(colony.url, {"msgtype": "addgeneratormsg", "generator": _generator_document(colony)}, user.prvkey)
    gid = generator["generatorid"]
    key = {
        "stranger": lambda: crypto.generate_private_key(),
        "colony-owner": lambda: colony.owner_prvkey,
        "member-of-another-colony": lambda: other_colony.add_user().prvkey,
        "unapproved-executor": lambda: colony.add_executor(approve=False).prvkey,
    }[who]()
    for msg in [
        {"msgtype": "addgeneratormsg", "generator": _generator_document(colony, name="intruder")},
        {"msgtype": "getgeneratormsg", "generatorid": gid},
        {"msgtype": "resolvegeneratormsg", "colonyname": colony.name, "generatorname": "g"},
        {"msgtype": "getgeneratorsmsg", "colonyname": colony.name, "count": 10},
        {"msgtype": "packgeneratormsg", "generatorid": gid, "arg": "sneaky"},
        {"msgtype": "removegeneratormsg", "generatorid": gid, "all": False},
    ]:
        with pytest.raises(RPCFailure) as err:
            call(colony.url, msg, key)
        assert err.value.status == 403, msg["msgtype"]
    got = call(colony.url, {"msgtype": "getgeneratormsg", "generatorid": gid}, user.prvkey)
    assert got["queuesize"] == 0
    assert [g["name"] for g in call(colony.url, {"msgtype": "getgeneratorsmsg", "colonyname": colony.name, "count": 10}, user.prvkey)] == ["g"]


def test_unknown_generator_is_404(colony):
    user = colony.add_user()
    for msg in (
        {"msgtype": "getgeneratormsg", "generatorid": "0" * 64},
        {"msgtype": "packgeneratormsg", "generatorid": "0" * 64, "arg": "x"},
        {"msgtype": "removegeneratormsg", "generatorid": "0" * 64},
    ):
        with pytest.raises(RPCFailure) as err:
            call(colony.url, msg, user.prvkey)
        assert err.value.status == 404, msg["msgtype"]


async def test_generators_of_a_removed_colony_do_not_fire_and_are_deleted(node):
    from colonies.node.store import generators as gq

    owner = crypto.generate_private_key()
    doomed = ColonyFixture(node.url, f"doomed-{secrets.token_hex(4)}", owner, crypto.id_from_private_key(owner))
    call(node.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": doomed.colonyid, "name": doomed.name}}, dev.SERVER_PRVKEY)
    user = doomed.add_user()
    async with client(doomed, user) as us:
        generator = await us.add_generator(doomed.name, "orphan", workflow(doomed.name), trigger=2)
        await us.pack_generator(generator.generatorid, "a")
    call(node.url, {"msgtype": "removecolonymsg", "colonyname": doomed.name}, dev.SERVER_PRVKEY)
    core = node.node.core

    async def stored() -> Any:
        return await core.db.read(lambda conn: (gq.get(conn, generator.generatorid), gq.queue_size(conn, generator.generatorid)))

    await asyncio.sleep(0.8)
    assert node.call(stored()) == (None, 0)
