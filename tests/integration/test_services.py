"""Node services on their own nodes with short intervals: stale-executor cleanup and retention (spec §4.5)."""
from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Awaitable, Callable, Iterator

import pytest
from sqlalchemy import update

from colonies import crypto, dev
from colonies.client import AsyncClient, func_spec
from colonies.models import APPROVED, FAILED, PENDING, RUNNING, SUCCESS, UNREGISTERED, WAITING
from colonies.node.config import NodeConfig
from colonies.node.services import retention, stale_executors
from colonies.node.store.schema import processes
from colonies.wire import RPCError
from tests.support.nodes import RunningNode, start_node


@dataclass
class Key:
    prvkey: str
    id: str


def _key() -> Key:
    prvkey = crypto.generate_private_key()
    return Key(prvkey, crypto.id_from_private_key(prvkey))


@dataclass
class Colony:
    url: str
    name: str
    owner: Key

    async def add_executor(self, name: str, executortype: str = "test", key: Key | None = None) -> Key:
        key = key or _key()
        async with AsyncClient(self.url, self.owner.prvkey) as owner:
            await owner.add_executor(self.name, key.id, name, executortype)
            await owner.approve_executor(self.name, name)
        return key

    async def add_user(self) -> Key:
        key = _key()
        async with AsyncClient(self.url, self.owner.prvkey) as owner:
            await owner.add_user(self.name, key.id, f"user-{secrets.token_hex(3)}")
        return key

    async def executor_state(self, name: str) -> int:
        async with AsyncClient(self.url, self.owner.prvkey) as owner:
            return {e.executorname: e.state for e in await owner.list_executors(self.name)}[name]


async def _colony(running: RunningNode) -> Colony:
    owner = _key()
    name = f"colony-{secrets.token_hex(4)}"
    async with AsyncClient(running.url, dev.SERVER_PRVKEY) as server:
        await server.add_colony(owner.id, name)
    return Colony(running.url, name, owner)


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


async def _gone(client: AsyncClient, processid: str) -> bool:
    try:
        await client.get_process(processid)
    except RPCError as err:
        return err.status == 404
    return False


# --- stale executors ----------------------------------------------------------------------
@pytest.fixture
def stale_node(tmp_path: Path) -> Iterator[RunningNode]:
    running = start_node(tmp_path, stale_executor_duration=1, cleanup_interval=0.2)
    yield running
    running.stop()


async def test_silent_executor_is_removed_and_its_running_process_goes_back_to_the_queue(stale_node):
    colony = await _colony(stale_node)
    silent = await colony.add_executor("silent")
    user = await colony.add_user()
    async with AsyncClient(colony.url, silent.prvkey) as ex, AsyncClient(colony.url, user.prvkey) as us:
        submitted = await us.submit(func_spec("f", colony.name, "test"))
        assert (await ex.assign(colony.name, 5)).processid == submitted.processid

        async def removed() -> bool:
            return await colony.executor_state("silent") == UNREGISTERED

        await _eventually(removed)
        process = await us.get_process(submitted.processid)
        assert process.state == WAITING and not process.isassigned and process.assignedexecutorid == ""
        assert process.retries == 1  # the lost attempt counts (issue 12, item 9)
        with pytest.raises(RPCError) as err:
            await ex.close(submitted.processid)
        assert err.value.status == 403


async def test_polling_executor_and_never_heard_executor_stay(stale_node):
    colony = await _colony(stale_node)
    polling = await colony.add_executor("polling")
    await colony.add_executor("never-heard")
    silent = await colony.add_executor("silent")
    async with AsyncClient(colony.url, polling.prvkey) as poller, AsyncClient(colony.url, silent.prvkey) as quiet:
        with pytest.raises(RPCError):
            await quiet.assign(colony.name, -1)  # heard from once, then silent
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            with pytest.raises(RPCError) as err:
                await poller.assign(colony.name, -1)
            assert err.value.status == 404
            await asyncio.sleep(0.2)
    assert await colony.executor_state("silent") == UNREGISTERED
    assert await colony.executor_state("polling") == APPROVED
    assert await colony.executor_state("never-heard") == APPROVED


async def test_re_registered_executor_does_not_inherit_its_old_silence(stale_node):
    colony = await _colony(stale_node)
    key = await colony.add_executor("worker")
    async with AsyncClient(colony.url, key.prvkey) as ex:
        with pytest.raises(RPCError):
            await ex.assign(colony.name, -1)

    async def removed() -> bool:
        return await colony.executor_state("worker") == UNREGISTERED

    await _eventually(removed)
    async with AsyncClient(colony.url, colony.owner.prvkey) as owner:
        await owner.add_executor(colony.name, key.id, "worker", "test")
    await asyncio.sleep(1.5)
    assert await colony.executor_state("worker") == PENDING


async def _keep_busy(client: AsyncClient, processid: str, seconds: float) -> None:
    """A busy executor: no assign polls, only logs about the process it runs."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await client.add_log(processid, "still working")
        await asyncio.sleep(0.2)


async def test_busy_executor_that_only_logs_is_not_stale_and_its_silence_later_requeues_the_process(stale_node):
    colony = await _colony(stale_node)
    busy = await colony.add_executor("busy")
    user = await colony.add_user()
    async with AsyncClient(colony.url, busy.prvkey) as ex, AsyncClient(colony.url, user.prvkey) as us:
        submitted = await us.submit(func_spec("f", colony.name, "test", maxexectime=-1))
        await ex.assign(colony.name, 5)
        await _keep_busy(ex, submitted.processid, 2.5)  # over twice the stale window
        assert await colony.executor_state("busy") == APPROVED
        assert (await us.get_process(submitted.processid)).state == RUNNING

        async def requeued() -> bool:
            return (await us.get_process(submitted.processid)).state == WAITING

        await _eventually(requeued)  # silent now: removed, and the process back (a retry)
        assert (await us.get_process(submitted.processid)).retries == 1
        assert await colony.executor_state("busy") == UNREGISTERED


async def test_after_a_restart_a_busy_executor_is_still_heard_from(tmp_path: Path):
    running = start_node(tmp_path, stale_executor_duration=1, cleanup_interval=0.2)
    try:
        colony = await _colony(running)
        busy = await colony.add_executor("busy")
        async with AsyncClient(colony.url, busy.prvkey) as ex:
            submitted = await ex.submit(func_spec("f", colony.name, "test", maxexectime=-1))
            await ex.assign(colony.name, 5)
            await _keep_busy(ex, submitted.processid, 1.0)
    finally:  # stopping flushes the last contact to the store
        running.stop()
    running = start_node(tmp_path, stale_executor_duration=1, cleanup_interval=0.2, port=running.port)
    try:
        async with AsyncClient(running.url, busy.prvkey) as ex:
            await _keep_busy(ex, submitted.processid, 2.5)
            assert (await ex.get_process(submitted.processid)).state == RUNNING
            assert await colony.executor_state("busy") == APPROVED
    finally:
        running.stop()


async def test_an_executor_gone_before_its_contact_was_written_is_still_found_stale(stale_node):
    """A node that stopped before writing the contact behind (a crash) still knows the executor
    called in: it was assigned a process then."""
    from colonies.node.store import directory as dq

    colony = await _colony(stale_node)
    gone = await colony.add_executor("gone")
    user = await colony.add_user()
    async with AsyncClient(colony.url, gone.prvkey) as ex, AsyncClient(colony.url, user.prvkey) as us:
        submitted = await us.submit(func_spec("f", colony.name, "test", maxexectime=-1))
        await ex.assign(colony.name, 5)
        core = stale_node.node.core

        async def forget_the_contact() -> None:
            core.heard_from.pop(gone.id, None)
            await core.db.write(lambda conn: dq.touch_executors(conn, {gone.id: 0}))

        stale_node.call(forget_the_contact())

        async def requeued() -> bool:
            return (await us.get_process(submitted.processid)).state == WAITING

        await _eventually(requeued)
        assert await colony.executor_state("gone") == UNREGISTERED


@pytest.fixture
def sweeping_node(tmp_path: Path) -> Iterator[RunningNode]:
    """Cleanup runs often; executors are never stale within a test."""
    running = start_node(tmp_path, stale_executor_duration=3600, cleanup_interval=0.2)
    yield running
    running.stop()


async def test_process_left_running_on_a_rejected_executor_goes_back_to_the_queue(sweeping_node):
    """A store written before rejection released processes (or a crash between): the sweep does it."""
    from colonies.models import REJECTED
    from colonies.node.store import directory as dq

    stale_node = sweeping_node
    colony = await _colony(stale_node)
    worker = await colony.add_executor("worker")
    user = await colony.add_user()
    async with AsyncClient(colony.url, worker.prvkey) as ex, AsyncClient(colony.url, user.prvkey) as us:
        submitted = await us.submit(func_spec("f", colony.name, "test", maxexectime=-1))
        await ex.assign(colony.name, 5)
        core = stale_node.node.core

        async def reject_without_release() -> None:
            await core.db.write(lambda conn: dq.set_executor_state(conn, colony.name, "worker", REJECTED))
            core.directory.update_executor(colony.name, "worker", state=REJECTED)

        stale_node.call(reject_without_release())

        async def requeued() -> bool:
            return (await us.get_process(submitted.processid)).state == WAITING

        await _eventually(requeued)
        assert (await us.get_process(submitted.processid)).retries == 1


async def test_re_registering_an_executor_name_requeues_what_the_old_registration_ran(tmp_path: Path):
    running = start_node(tmp_path, allow_executor_reregister=True)
    try:
        colony = await _colony(running)
        old = await colony.add_executor("worker")
        user = await colony.add_user()
        async with AsyncClient(colony.url, old.prvkey) as ex, AsyncClient(colony.url, user.prvkey) as us:
            submitted = await us.submit(func_spec("f", colony.name, "test", maxexectime=-1))
            await ex.assign(colony.name, 5)
            await colony.add_executor("worker")  # restarted with a new key, same name
            process = await us.get_process(submitted.processid)
            assert process.state == WAITING and process.assignedexecutorid == "" and process.retries == 1
    finally:
        running.stop()


def test_stale_cleanup_is_off_when_the_duration_is_zero():
    core = SimpleNamespace(config=NodeConfig(stale_executor_duration=0))
    assert stale_executors.service(core) is None  # type: ignore[arg-type]


# --- retention ----------------------------------------------------------------------------
def test_retention_is_off_by_default():
    config = NodeConfig()
    assert config.retention is False
    assert retention.service(SimpleNamespace(config=config)) is None  # type: ignore[arg-type]


def test_retention_without_a_positive_policy_does_not_start():
    config = NodeConfig(retention=True, retention_policy=0)
    assert retention.service(SimpleNamespace(config=config)) is None  # type: ignore[arg-type]


@pytest.fixture
def retention_node(tmp_path: Path) -> Iterator[RunningNode]:
    running = start_node(tmp_path, retention=True, retention_policy=1, cleanup_interval=0.2, stale_executor_duration=0)
    yield running
    running.stop()


async def _run_one(ex: AsyncClient, us: AsyncClient, colony: Colony, *, succeed: bool) -> str:
    submitted = await us.submit(func_spec("f", colony.name, "test"))
    assigned = await ex.assign(colony.name, 5)
    assert assigned.processid == submitted.processid
    await ex.add_log(assigned, "working")
    if succeed:
        await ex.add_attribute(assigned, "result", "42", colonyname=colony.name)
        await ex.close(assigned, ["ok"])
    else:
        await ex.fail(assigned, ["broken"])
    return submitted.processid


async def test_retention_deletes_old_successful_processes_with_their_attributes_and_logs(retention_node):
    colony = await _colony(retention_node)
    executor = await colony.add_executor("worker")
    user = await colony.add_user()
    async with AsyncClient(colony.url, executor.prvkey) as ex, AsyncClient(colony.url, user.prvkey) as us:
        succeeded = await _run_one(ex, us, colony, succeed=True)
        attribute = (await us.get_process(succeeded)).attributes[0]
        failed = await _run_one(ex, us, colony, succeed=False)
        waiting = (await us.submit(func_spec("f", colony.name, "test"))).processid
        await _eventually(lambda: _gone(us, succeeded))
        with pytest.raises(RPCError) as err:
            await us.get_attribute(attribute.attributeid)
        assert err.value.status == 404

        async def logs_gone() -> bool:
            return await us.get_logs(colony.name, failed) == []

        await _eventually(logs_gone)
        assert (await us.get_process(failed)).state == FAILED
        assert (await us.get_process(waiting)).state == WAITING


async def test_retention_keeps_recent_successful_processes(tmp_path: Path):
    running = start_node(tmp_path, retention=True, retention_policy=3600, cleanup_interval=0.2)
    try:
        colony = await _colony(running)
        executor = await colony.add_executor("worker")
        user = await colony.add_user()
        async with AsyncClient(colony.url, executor.prvkey) as ex, AsyncClient(colony.url, user.prvkey) as us:
            succeeded = await _run_one(ex, us, colony, succeed=True)
            await asyncio.sleep(1.0)
            assert (await us.get_process(succeeded)).state == SUCCESS
            assert [log.message for log in await us.get_logs(colony.name, succeeded)] == ["working"]
    finally:
        running.stop()


async def test_retention_removes_a_succeeded_workflow_whole_and_keeps_a_failed_one(retention_node):
    from tests.support.rpc import RPCFailure, call

    colony = await _colony(retention_node)
    executor = await colony.add_executor("worker")
    user = await colony.add_user()

    def workflow() -> dict:
        step = {"nodename": "only", "funcname": "f", "maxexectime": -1, "conditions": {"colonyname": colony.name, "executortype": "test"}}
        return call(colony.url, {"msgtype": "submitworkflowspecmsg", "spec": {"colonyname": colony.name, "functionspecs": [step]}}, user.prvkey)

    async with AsyncClient(colony.url, executor.prvkey) as ex:
        kept, removed = workflow(), workflow()
        first = await ex.assign(colony.name, 5)
        second = await ex.assign(colony.name, 5)
        by_graph = {first.processgraphid: first, second.processgraphid: second}
        await ex.fail(by_graph[kept["processgraphid"]], ["broken"])
        await ex.close(by_graph[removed["processgraphid"]], ["ok"])

        async def graph_gone() -> bool:
            try:
                call(colony.url, {"msgtype": "getprocessgraphmsg", "processgraphid": removed["processgraphid"]}, user.prvkey)
            except RPCFailure as err:
                return err.status == 404
            return False

        await _eventually(graph_gone)
        async with AsyncClient(colony.url, user.prvkey) as us:
            assert await _gone(us, by_graph[removed["processgraphid"]].processid)
        still = call(colony.url, {"msgtype": "getprocessgraphmsg", "processgraphid": kept["processgraphid"]}, user.prvkey)
        assert still["state"] == FAILED


async def test_retention_drains_more_than_one_batch(retention_node, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)
    colony = await _colony(retention_node)
    executor = await colony.add_executor("worker")
    user = await colony.add_user()
    async with AsyncClient(colony.url, executor.prvkey) as ex, AsyncClient(colony.url, user.prvkey) as us:
        done = [await _run_one(ex, us, colony, succeed=True) for _ in range(5)]

        async def all_gone() -> bool:
            return all([await _gone(us, pid) for pid in done])

        await _eventually(all_gone)


def test_retention_finds_old_processes_through_its_index(retention_node):
    core = retention_node.node.core
    assert core is not None

    def plan(conn):  # type: ignore[no-untyped-def]
        rows = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT processid FROM processes "
            "WHERE state = 2 AND processgraphid = '' AND endtime < 5 ORDER BY endtime LIMIT 1000"
        ).all()
        return " ".join(str(r[-1]) for r in rows)

    deadline = time.monotonic() + 5
    while "processes_retention" not in (found := retention_node.call(core.db.read(plan))):
        assert time.monotonic() < deadline, found
        time.sleep(0.1)
