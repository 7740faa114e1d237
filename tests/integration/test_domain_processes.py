"""The one transition (node/domain/processes.py) on a real SQLite store, without HTTP: what a
change causes in its workflow commits with it, and what commits is published, exactly once."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from colonies import crypto, models
from colonies.client import func_spec
from colonies.models import CANCELLED, FAILED, RUNNING, SUCCESS, WAITING
from colonies.node.config import NodeConfig
from colonies.node.core import NodeCore
from colonies.node.domain import processes, submission
from colonies.node.domain.errors import Invalid
from colonies.node.resources import UNLIMITED
from colonies.node.store import processes as pq
from colonies.node.store import workflows as wq
from colonies.node.store.database import Database
from colonies.node.store.processes import ProcessRecord

COLONY = "lab"


class Published(list[ProcessRecord]):
    def ids_and_states(self) -> list[tuple[str, int]]:
        return [(r.process.processid, r.state) for r in self]


async def node_on(tmp_path: Path) -> tuple[NodeCore, Published]:
    core = NodeCore(NodeConfig(data_dir=str(tmp_path)), await Database.open(f"sqlite:///{tmp_path / 'store.db'}"))
    published = Published()
    core.events.publish = published.append  # type: ignore[method-assign]
    return core, published


def chain(*names: str) -> models.WorkflowSpec:
    """a → b → c …: each node depends on the one before."""
    specs = []
    for i, name in enumerate(names):
        spec = func_spec(name, COLONY, "worker")
        spec.nodename = name
        spec.conditions.dependencies = [names[i - 1]] if i else []
        specs.append(spec)
    return models.WorkflowSpec(colonyname=COLONY, functionspecs=specs)


def executor() -> models.Executor:
    return models.Executor(executorid=crypto.random_id(), executortype="worker", executorname="w1", colonyname=COLONY)


async def claim(core: NodeCore, who: models.Executor) -> ProcessRecord | None:
    records = await core.db.write(processes.claim_op(who, cpu=UNLIMITED, mem=UNLIMITED, now=core.now_ns()), then=core.publish)
    return records[0] if records else None


@pytest.fixture
async def node(tmp_path: Path):  # type: ignore[no-untyped-def]
    core, published = await node_on(tmp_path)
    try:
        yield core, published
    finally:
        await core.db.close()


async def test_a_success_unblocks_the_child_in_the_same_change_and_both_are_published(node):
    core, published = node
    graph = await submission.submit_workflow(core, chain("a", "b"), initiatorid="u" * 64, initiatorname="user")
    who = executor()
    root = await claim(core, who)
    assert root is not None and root.process.processid == graph.rootprocessids[0]
    published.clear()

    closed = await processes.close(core, processid=root.process.processid, executorid=who.executorid, succeeded=True, now=core.now_ns(), output=["x"])

    assert closed is not None and closed.state == SUCCESS
    child = [pid for pid in graph.processids if pid != root.process.processid][0]
    assert published.ids_and_states() == [(root.process.processid, SUCCESS), (child, WAITING)]
    assert await claim(core, who) is not None  # the child is assignable now
    state = await core.db.read(lambda conn: wq.get_graph(conn, graph.processgraphid, detailed=False))
    assert state is not None and state.state == RUNNING


async def test_a_failure_fails_every_descendant_and_ends_the_graph(node):
    core, published = node
    graph = await submission.submit_workflow(core, chain("a", "b", "c"), initiatorid="u" * 64, initiatorname="user")
    who = executor()
    root = await claim(core, who)
    assert root is not None
    published.clear()

    await processes.close(core, processid=root.process.processid, executorid=who.executorid, succeeded=False, now=core.now_ns(), errors=["boom"])

    assert {state for _, state in published.ids_and_states()} == {FAILED}
    assert len(published) == 3
    state = await core.db.read(lambda conn: wq.get_graph(conn, graph.processgraphid, detailed=False))
    assert state is not None and state.state == FAILED


async def test_a_close_by_another_executor_changes_and_publishes_nothing(node):
    core, published = node
    process = await submission.submit_process(core, func_spec("f", COLONY, "worker"), initiatorid="u" * 64, initiatorname="user")
    assert await claim(core, executor()) is not None
    published.clear()

    closed = await processes.close(core, processid=process.processid, executorid="x" * 64, succeeded=True, now=core.now_ns())

    assert closed is None and published == []


async def test_a_step_that_fails_publishes_nothing_and_leaves_the_store_as_it_was(node):
    core, published = node
    process = await submission.submit_process(core, func_spec("f", COLONY, "worker"), initiatorid="u" * 64, initiatorname="user")
    published.clear()

    def cancel_then_refuse(conn):  # type: ignore[no-untyped-def]
        pq.cancel(conn, processid=process.processid, now=core.now_ns())
        raise Invalid("refused after writing")

    with pytest.raises(Invalid):
        await processes.change(core, cancel_then_refuse, core.now_ns())

    assert published == []
    record = await core.db.read(lambda conn: pq.get_record(conn, process.processid))
    assert record is not None and record.state == WAITING


async def test_a_change_whose_caller_is_cancelled_still_commits_and_publishes(node):
    core, published = node
    process = await submission.submit_process(core, func_spec("f", COLONY, "worker"), initiatorid="u" * 64, initiatorname="user")
    published.clear()

    task = asyncio.ensure_future(processes.cancel(core, process.processid, core.now_ns()))
    await asyncio.sleep(0)  # the write is queued
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(200):  # the writer finishes the batch it holds
        if published:
            break
        await asyncio.sleep(0.01)

    assert published.ids_and_states() == [(process.processid, CANCELLED)]
    record = await core.db.read(lambda conn: pq.get_record(conn, process.processid))
    assert record is not None and record.state == CANCELLED


async def test_publishing_a_workflow_does_not_build_the_wire_form_of_its_processes(node):
    # building 10,000 wire forms on the event loop after a big submit stalled it for 150 ms
    core, published = node
    await submission.submit_workflow(core, chain("a", "b", "c"), initiatorid="u" * 64, initiatorname="user")
    assert len(published) == 3
    assert all(record._process is None for record in published)
