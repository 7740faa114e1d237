"""Crons through our SDK against a node checking every 0.2 s (spec §2.10, §4.9)."""
from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any, Iterator

import msgspec
import pytest

from colonies import crypto, dev
from colonies.client import AsyncClient
from colonies.models import WAITING, WorkflowSpec
from colonies.timefmt import ZERO_TIME, parse_to_ns
from colonies.wire import RPCError
from tests.conftest import ColonyFixture, Member
from tests.support.nodes import RunningNode
from tests.support.rpc import RPCFailure, call
from tests.support.workflows import extra_colony, fast_trigger_node, workflow

EVERY_SECOND = "* * * * * *"
HOUR = 3600


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    with fast_trigger_node(tmp_path_factory.mktemp("triggers")) as running:
        yield running


@pytest.fixture
def other_colony(node: RunningNode) -> Iterator[ColonyFixture]:
    with extra_colony(node) as colony:
        yield colony


def client(colony: ColonyFixture, member: Member | str) -> AsyncClient:
    return AsyncClient(colony.url, member if isinstance(member, str) else member.prvkey)


async def waiting(us: AsyncClient, colony: ColonyFixture) -> list[Any]:
    return await us.list_processes(colony.name, WAITING, 100)


async def eventually(check, timeout: float = 5.0, interval: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(interval)


# --- firing ---------------------------------------------------------------------------------
async def test_cron_on_a_six_field_every_second_expression_starts_its_workflow(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with client(colony, executor) as ex, client(colony, user) as us:
        cron = await us.add_cron(colony.name, "tick", workflow(colony.name), cronexpression=EVERY_SECOND)
        assert cron.interval == -1 and cron.initiatorname == user.name
        process = await ex.assign(colony.name, 5)
        assert process.processgraphid
        assert process.initiatorid == user.id and process.initiatorname == user.name
        got = await us.get_cron(cron.cronid)
        assert got.lastrun != ZERO_TIME
        assert got.prevprocessgraphid
        assert parse_to_ns(got.nextrun) > parse_to_ns(got.lastrun)
        await us.remove_cron(cron.cronid)


async def test_cron_on_an_interval_starts_after_the_interval_and_reschedules(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with client(colony, executor) as ex, client(colony, user) as us:
        added_at = time.monotonic()
        cron = await us.add_cron(colony.name, "every-second", workflow(colony.name), interval=1)
        assert parse_to_ns(cron.nextrun) > 0  # scheduled at add time
        process = await ex.assign(colony.name, 5)
        assert time.monotonic() - added_at >= 0.8
        assert process.processgraphid
        got = await us.get_cron(cron.cronid)
        gap = parse_to_ns(got.nextrun) - parse_to_ns(got.lastrun)
        assert 0.9e9 <= gap <= 1.1e9
        await us.remove_cron(cron.cronid)


async def test_cron_waiting_for_its_previous_graph_starts_no_second_one_while_it_runs(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with client(colony, executor) as ex, client(colony, user) as us:
        cron = await us.add_cron(
            colony.name, "serial", workflow(colony.name), cronexpression=EVERY_SECOND, waitforprevprocessgraph=True
        )
        first = await ex.assign(colony.name, 5)  # running: the graph is unfinished
        await asyncio.sleep(2.5)  # two more due times pass
        assert await waiting(us, colony) == []
        assert (await us.get_cron(cron.cronid)).prevprocessgraphid == first.processgraphid
        await ex.close(first, ["done"])
        second = await ex.assign(colony.name, 5)
        assert second.processgraphid != first.processgraphid
        await us.remove_cron(cron.cronid)


async def test_cron_not_waiting_starts_a_graph_on_every_due_time(colony):
    user = colony.add_user()
    async with client(colony, user) as us:
        cron = await us.add_cron(colony.name, "eager", workflow(colony.name), cronexpression=EVERY_SECOND)
        found = await eventually(lambda: _at_least(us, colony, 2), timeout=6)
        await us.remove_cron(cron.cronid)
        assert found


async def _at_least(us: AsyncClient, colony: ColonyFixture, count: int) -> bool:
    return len(await waiting(us, colony)) >= count


async def test_removed_cron_stops_firing(colony):
    user = colony.add_user()
    async with client(colony, user) as us:
        cron = await us.add_cron(colony.name, "short-lived", workflow(colony.name), cronexpression=EVERY_SECOND)
        await us.remove_cron(cron.cronid)
        with pytest.raises(RPCError) as err:
            await us.get_cron(cron.cronid)
        assert err.value.status == 404
        await asyncio.sleep(1.5)
        assert await waiting(us, colony) == []


# --- runcron --------------------------------------------------------------------------------
async def test_runcron_starts_the_workflow_now_and_returns_the_updated_cron(colony):
    user = colony.add_user()
    async with client(colony, user) as us:
        cron = await us.add_cron(colony.name, "manual", workflow(colony.name), interval=HOUR)
        ran = await us.run_cron(cron.cronid)
        assert ran.lastrun != ZERO_TIME and ran.prevprocessgraphid
        [process] = await waiting(us, colony)
        assert process.processgraphid == ran.prevprocessgraphid


async def test_runcron_respects_wait_for_previous_graph(colony):
    user = colony.add_user()
    async with client(colony, user) as us:
        cron = await us.add_cron(colony.name, "manual-serial", workflow(colony.name), interval=HOUR, waitforprevprocessgraph=True)
        first = await us.run_cron(cron.cronid)
        second = await us.run_cron(cron.cronid)
        assert second.prevprocessgraphid == first.prevprocessgraphid
        assert second.lastrun == first.lastrun
        assert len(await waiting(us, colony)) == 1


async def test_runcron_by_a_non_member_is_refused_before_anything_runs(colony):
    user = colony.add_user()
    outsider = crypto.generate_private_key()
    async with client(colony, user) as us, client(colony, outsider) as out, client(colony, colony.owner_prvkey) as owner:
        cron = await us.add_cron(colony.name, "guarded", workflow(colony.name), interval=HOUR)
        for intruder in (out, owner):  # the colony owner is not a member either (spec §1.5)
            with pytest.raises(RPCError) as err:
                await intruder.run_cron(cron.cronid)
            assert err.value.status == 403
        assert await waiting(us, colony) == []
        got = await us.get_cron(cron.cronid)
        assert got.lastrun == ZERO_TIME and got.prevprocessgraphid == ""


async def test_leaf_outputs_of_the_previous_run_become_input_of_the_next_roots(colony):
    executor, user = colony.add_executor(), colony.add_user()
    async with client(colony, executor) as ex, client(colony, user) as us:
        spec = workflow(colony.name, ("first", []), ("last", ["first"]))
        cron = await us.add_cron(colony.name, "chained", spec, interval=HOUR)
        await us.run_cron(cron.cronid)
        root = await ex.assign(colony.name, 5)
        assert root.spec.nodename == "first" and root.input == []
        await ex.close(root, ["intermediate"])
        leaf = await ex.assign(colony.name, 5)
        assert leaf.spec.nodename == "last"
        await ex.close(leaf, ["leaf-out", 2])
        await us.run_cron(cron.cronid)
        next_root = await ex.assign(colony.name, 5)
        assert next_root.spec.nodename == "first"
        assert next_root.processgraphid != root.processgraphid
        assert next_root.input == ["leaf-out", 2]


# --- add, get, list, remove -----------------------------------------------------------------
async def test_get_cron_reports_the_checker_period_in_milliseconds(colony):
    user = colony.add_user()
    async with client(colony, user) as us:
        cron = await us.add_cron(colony.name, "period", workflow(colony.name), interval=HOUR)
        got = await us.get_cron(cron.cronid)
        assert got.checkerperiod == 200
        assert got.workflowspec == cron.workflowspec
        assert msgspec.json.decode(got.workflowspec, type=WorkflowSpec).colonyname == colony.name


async def test_get_crons_lists_in_added_order_and_is_never_null(colony):
    user = colony.add_user()
    async with client(colony, user) as us:
        _, raw = await us.rpc(_msg("getcronsmsg", colonyname=colony.name, count=10))
        assert raw == b"[]"
        names = ["one", "two", "three"]
        for name in names:
            await us.add_cron(colony.name, name, workflow(colony.name), interval=HOUR)
        assert [c.name for c in await us.list_crons(colony.name)] == names
        assert [c.name for c in await us.list_crons(colony.name, count=2)] == names[:2]
        with pytest.raises(RPCError) as err:
            await us.list_crons(colony.name, count=101)
        assert err.value.status == 400


def _msg(msgtype: str, **fields: Any) -> Any:
    from colonies import messages

    kinds = {"getcronsmsg": messages.GetCronsMsg, "addcronmsg": messages.AddCronMsg}
    return kinds[msgtype](msgtype=msgtype, **fields)


async def test_duplicate_cron_name_in_a_colony_is_refused(colony):
    user = colony.add_user()
    async with client(colony, user) as us:
        await us.add_cron(colony.name, "twin", workflow(colony.name), interval=HOUR)
        with pytest.raises(RPCError) as err:
            await us.add_cron(colony.name, "twin", workflow(colony.name), interval=HOUR)
        assert err.value.status == 400


def _cron_document(colony: ColonyFixture, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "colonyname": colony.name,
        "name": "c",
        "cronexpression": EVERY_SECOND,
        "interval": -1,
        "workflowspec": msgspec.json.encode(workflow(colony.name)).decode(),
    }
    document.update(changes)
    return document


@pytest.mark.parametrize(
    "changes",
    [
        {"cronexpression": "* * * * *"},
        {"cronexpression": "not a cron"},
        {"interval": 0},
        {"interval": -5},
        {"random": True},
        {"workflowspec": "{not json"},
        {"workflowspec": ""},
        {"workflowspec": '{"colonyname": "x", "functionspecs": []}'},
        {"name": ""},
    ],
    ids=["five-fields", "garbage", "interval-0", "interval-below-minus-1", "random-without-interval", "bad-json", "empty-workflow", "wrong-colony-no-specs", "no-name"],
)
def test_invalid_crons_are_refused_with_400(colony, changes):
    user = colony.add_user()
    with pytest.raises(RPCFailure) as err:
        call(colony.url, {"msgtype": "addcronmsg", "cron": _cron_document(colony, **changes)}, user.prvkey)
    assert err.value.status == 400


def test_workflow_with_an_unknown_dependency_is_refused_at_add_time(colony):
    user = colony.add_user()
    spec = msgspec.json.encode(workflow(colony.name, ("a", ["ghost"]))).decode()
    with pytest.raises(RPCFailure) as err:
        call(colony.url, {"msgtype": "addcronmsg", "cron": _cron_document(colony, workflowspec=spec)}, user.prvkey)
    assert err.value.status == 400


def test_workflow_of_another_colony_is_refused(colony, other_colony):
    user = colony.add_user()
    spec = msgspec.json.encode(workflow(other_colony.name)).decode()
    with pytest.raises(RPCFailure) as err:
        call(colony.url, {"msgtype": "addcronmsg", "cron": _cron_document(colony, workflowspec=spec)}, user.prvkey)
    assert err.value.status == 400


def test_pycolonies_misspelt_wait_key_sets_waitforprevprocessgraph(colony):
    user = colony.add_user()
    document = _cron_document(colony, waitforprevprocessgrap=True)
    added = call(colony.url, {"msgtype": "addcronmsg", "cron": document}, user.prvkey)
    assert added["waitforprevprocessgraph"] is True


# --- authorization --------------------------------------------------------------------------
def _cron_messages(cronid: str, colonyname: str) -> list[dict[str, Any]]:
    return [
        {"msgtype": "getcronmsg", "cronid": cronid},
        {"msgtype": "getcronsmsg", "colonyname": colonyname, "count": 10},
        {"msgtype": "runcronmsg", "cronid": cronid},
        {"msgtype": "removecronmsg", "cronid": cronid, "all": False},
    ]


@pytest.mark.parametrize("who", ["stranger", "colony-owner", "member-of-another-colony", "unapproved-executor"])
def test_every_cron_message_needs_membership_of_the_crons_colony(colony, other_colony, who):
    user = colony.add_user()
    cron = call(colony.url, {"msgtype": "addcronmsg", "cron": _cron_document(colony, interval=HOUR)}, user.prvkey)
    key = {
        "stranger": lambda: crypto.generate_private_key(),
        "colony-owner": lambda: colony.owner_prvkey,
        "member-of-another-colony": lambda: other_colony.add_user().prvkey,
        "unapproved-executor": lambda: colony.add_executor(approve=False).prvkey,
    }[who]()
    add = {"msgtype": "addcronmsg", "cron": _cron_document(colony, name="intruder", interval=HOUR)}
    for msg in [add, *_cron_messages(cron["cronid"], colony.name)]:
        with pytest.raises(RPCFailure) as err:
            call(colony.url, msg, key)
        assert err.value.status == 403, msg["msgtype"]
    # nothing happened
    got = call(colony.url, {"msgtype": "getcronmsg", "cronid": cron["cronid"]}, user.prvkey)
    assert got["lastrun"] == ZERO_TIME
    assert [c["name"] for c in call(colony.url, {"msgtype": "getcronsmsg", "colonyname": colony.name, "count": 10}, user.prvkey)] == ["c"]


def test_unknown_cron_is_404(colony):
    user = colony.add_user()
    for msg in _cron_messages("0" * 64, colony.name)[::2] + [_cron_messages("0" * 64, colony.name)[3]]:
        with pytest.raises(RPCFailure) as err:
            call(colony.url, msg, user.prvkey)
        assert err.value.status == 404, msg["msgtype"]


async def test_crons_of_a_removed_colony_stop_and_are_deleted(node):
    from colonies.node.store import crons as cq

    owner = crypto.generate_private_key()
    doomed = ColonyFixture(node.url, f"doomed-{secrets.token_hex(4)}", owner, crypto.id_from_private_key(owner))
    call(node.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": doomed.colonyid, "name": doomed.name}}, dev.SERVER_PRVKEY)
    user = doomed.add_user()
    async with client(doomed, user) as us:
        cron = await us.add_cron(doomed.name, "orphan", workflow(doomed.name), cronexpression=EVERY_SECOND)
    call(node.url, {"msgtype": "removecolonymsg", "colonyname": doomed.name}, dev.SERVER_PRVKEY)
    core = node.node.core

    async def stored() -> Any:
        return await core.db.read(lambda conn: cq.get(conn, cron.cronid))

    await asyncio.sleep(1.6)
    assert node.call(stored()) is None
