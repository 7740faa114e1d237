"""Workflows (process graphs) driven by the unmodified pycolonies SDK."""
from __future__ import annotations

import threading
import time

import pytest
from model import Conditions, FuncSpec, Workflow
from pycolonies import Colonies, ColoniesConnectionError

from colonies.models import FAILED, RUNNING, SUCCESS, WAITING


def spec(nodename: str, colonyname: str, dependencies: list[str] | None = None, executortype: str = "test") -> FuncSpec:
    return FuncSpec(
        nodename=nodename,
        funcname=nodename,
        args=[nodename],
        maxexectime=-1,
        maxwaittime=-1,
        maxretries=-1,
        conditions=Conditions(colonyname=colonyname, executortype=executortype, dependencies=dependencies or []),
    )


def diamond(colonyname: str) -> Workflow:
    return Workflow(
        colonyname=colonyname,
        functionspecs=[
            spec("a", colonyname),
            spec("b", colonyname, ["a"]),
            spec("c", colonyname, ["a"]),
            spec("d", colonyname, ["b", "c"]),
        ],
    )


@pytest.fixture
def client(node) -> Colonies:
    return Colonies("127.0.0.1", node.port)


def run_one(client: Colonies, colony, executor, output) -> object:
    process = client.assign(colony.name, 5, executor.prvkey)
    client.close(process.processid, output(process), executor.prvkey)
    return process


def test_diamond_child_receives_both_parents_outputs_in_parent_order(client, colony):
    executor, user = colony.add_executor(), colony.add_user()
    graph = client.submit_workflow(diamond(colony.name), user.prvkey)
    assert len(graph.rootprocessids) == 1
    order = []
    for _ in range(3):
        p = run_one(client, colony, executor, lambda p: [p.spec.nodename + "-out"])
        order.append(p.spec.nodename)
    assert order[0] == "a" and sorted(order[1:]) == ["b", "c"]
    last = client.assign(colony.name, 5, executor.prvkey)
    assert last.spec.nodename == "d"
    b = client.find_process("b", client.get_processgraph(graph.processgraphid, user.prvkey).processids, user.prvkey)
    c = client.find_process("c", client.get_processgraph(graph.processgraphid, user.prvkey).processids, user.prvkey)
    expected = [] + (["b-out", "c-out"] if last.parents == [b.processid, c.processid] else ["c-out", "b-out"])
    assert last.input == expected
    client.close(last.processid, ["done"], executor.prvkey)
    final = client.get_processgraph(graph.processgraphid, user.prvkey)
    assert final.state == SUCCESS
    assert len(final.processids) == 4
    assert {e.id for e in final.edges} >= {f"{last.parents[0]}-{last.processid}"}
    assert len(final.nodes) == 4


def test_children_wait_until_all_parents_succeed(client, colony):
    executor, user = colony.add_executor(), colony.add_user()
    client.submit_workflow(diamond(colony.name), user.prvkey)
    a = client.assign(colony.name, 5, executor.prvkey)
    assert a.spec.nodename == "a"
    with pytest.raises(ColoniesConnectionError):
        client.assign(colony.name, 1, executor.prvkey)  # b and c wait for a


def test_a_failing_parent_fails_its_descendants_and_the_graph(client, colony):
    executor, user = colony.add_executor(), colony.add_user()
    graph = client.submit_workflow(diamond(colony.name), user.prvkey)
    a = client.assign(colony.name, 5, executor.prvkey)
    client.fail(a.processid, ["boom"], executor.prvkey)
    final = client.get_processgraph(graph.processgraphid, user.prvkey)
    assert final.state == FAILED
    states = [client.get_process(pid, user.prvkey).state for pid in final.processids]
    assert states == [FAILED] * 4
    with pytest.raises(ColoniesConnectionError):
        client.assign(colony.name, 1, executor.prvkey)


def test_a_failed_leaf_fails_the_graph_but_not_its_finished_siblings(client, colony):
    executor, user = colony.add_executor(), colony.add_user()
    wf = Workflow(colonyname=colony.name, functionspecs=[spec("x", colony.name), spec("y", colony.name)])
    graph = client.submit_workflow(wf, user.prvkey)
    first = client.assign(colony.name, 5, executor.prvkey)
    client.close(first.processid, ["ok"], executor.prvkey)
    second = client.assign(colony.name, 5, executor.prvkey)
    client.fail(second.processid, ["bad"], executor.prvkey)
    assert client.get_process(first.processid, user.prvkey).state == SUCCESS
    assert client.get_processgraph(graph.processgraphid, user.prvkey).state == FAILED


def test_graph_state_goes_waiting_running_success(client, colony):
    executor, user = colony.add_executor(), colony.add_user()
    wf = Workflow(colonyname=colony.name, functionspecs=[spec("one", colony.name), spec("two", colony.name, ["one"])])
    graph = client.submit_workflow(wf, user.prvkey)
    assert client.get_processgraph(graph.processgraphid, user.prvkey).state == WAITING
    one = client.assign(colony.name, 5, executor.prvkey)
    assert client.get_processgraph(graph.processgraphid, user.prvkey).state == RUNNING
    client.close(one.processid, [1], executor.prvkey)
    two = client.assign(colony.name, 5, executor.prvkey)
    assert two.input == [1]
    client.close(two.processid, [2], executor.prvkey)
    done = client.get_processgraph(graph.processgraphid, user.prvkey)
    assert done.state == SUCCESS and done.endtime > done.starttime


def test_dynamic_child_inserted_between_parent_and_its_children(client, colony):
    executor, user = colony.add_executor(), colony.add_user()
    wf = Workflow(colonyname=colony.name, functionspecs=[spec("p", colony.name), spec("q", colony.name, ["p"])])
    graph = client.submit_workflow(wf, user.prvkey)
    p = client.assign(colony.name, 5, executor.prvkey)
    child = client.add_child(graph.processgraphid, p.processid, "", spec("mid", colony.name), "mid", True, executor.prvkey)
    client.close(p.processid, ["p-out"], executor.prvkey)
    mid = client.assign(colony.name, 5, executor.prvkey)
    assert mid.processid == child["processid"] and mid.input == ["p-out"]
    client.close(mid.processid, ["mid-out"], executor.prvkey)
    q = client.assign(colony.name, 5, executor.prvkey)
    assert q.spec.nodename == "q" and q.input == ["mid-out"] and q.parents == [mid.processid]


def test_dynamic_child_appended_beside_existing_children(client, colony):
    executor, user = colony.add_executor(), colony.add_user()
    wf = Workflow(colonyname=colony.name, functionspecs=[spec("p", colony.name), spec("q", colony.name, ["p"])])
    graph = client.submit_workflow(wf, user.prvkey)
    p = client.assign(colony.name, 5, executor.prvkey)
    client.add_child(graph.processgraphid, p.processid, "", spec("extra", colony.name), "extra", False, executor.prvkey)
    client.close(p.processid, ["p-out"], executor.prvkey)
    names = sorted(client.assign(colony.name, 5, executor.prvkey).spec.nodename for _ in range(2))
    assert names == ["extra", "q"]
    assert len(client.get_processgraph(graph.processgraphid, user.prvkey).processids) == 3


def test_only_the_executor_running_the_parent_may_add_children(client, colony):
    executor, other, user = colony.add_executor(), colony.add_executor(), colony.add_user()
    wf = Workflow(colonyname=colony.name, functionspecs=[spec("p", colony.name)])
    graph = client.submit_workflow(wf, user.prvkey)
    p = client.assign(colony.name, 5, executor.prvkey)
    with pytest.raises(ColoniesConnectionError, match="only the executor running the parent"):
        client.add_child(graph.processgraphid, p.processid, "", spec("x", colony.name), "x", False, other.prvkey)


def test_list_remove_and_stats_of_graphs(client, colony):
    user = colony.add_user()
    g1 = client.submit_workflow(diamond(colony.name), user.prvkey)
    client.submit_workflow(diamond(colony.name), user.prvkey)
    assert len(client.get_processgraphs(colony.name, 10, user.prvkey, state=WAITING)) == 2
    assert client.stats(colony.name, user.prvkey)["waitingworkflows"] == 2
    client.remove_processgraph(g1.processgraphid, user.prvkey)
    assert len(client.get_processgraphs(colony.name, 10, user.prvkey, state=WAITING)) == 1
    assert client.stats(colony.name, user.prvkey)["waitingprocesses"] == 4
    client.remove_all_processgraphs(colony.name, colony.owner_prvkey, state=-1)
    assert client.get_processgraphs(colony.name, 10, user.prvkey, state=WAITING) == []


def test_workflow_members_cannot_be_removed_one_by_one(client, colony):
    user = colony.add_user()
    graph = client.submit_workflow(diamond(colony.name), user.prvkey)
    with pytest.raises(ColoniesConnectionError, match="workflow"):
        client.remove_process(graph.rootprocessids[0], user.prvkey)


def test_bad_workflows_are_refused(client, colony):
    user = colony.add_user()
    unknown = Workflow(colonyname=colony.name, functionspecs=[spec("a", colony.name, ["nope"])])
    with pytest.raises(ColoniesConnectionError, match="unknown nodename"):
        client.submit_workflow(unknown, user.prvkey)
    twice = Workflow(colonyname=colony.name, functionspecs=[spec("a", colony.name), spec("a", colony.name)])
    with pytest.raises(ColoniesConnectionError, match="used twice"):
        client.submit_workflow(twice, user.prvkey)
    cycle = Workflow(colonyname=colony.name, functionspecs=[spec("a", colony.name, ["b"]), spec("b", colony.name, ["a"])])
    with pytest.raises(ColoniesConnectionError, match="cycle"):
        client.submit_workflow(cycle, user.prvkey)


def test_non_members_cannot_submit_or_read_graphs(client, colony, node):
    from tests.conftest import ColonyFixture  # noqa: F401  (fixture type only)

    user = colony.add_user()
    graph = client.submit_workflow(diamond(colony.name), user.prvkey)
    from colonies import crypto

    stranger = crypto.generate_private_key()
    with pytest.raises(ColoniesConnectionError, match="not a member"):
        client.submit_workflow(diamond(colony.name), stranger)
    with pytest.raises(ColoniesConnectionError, match="not a member"):
        client.get_processgraph(graph.processgraphid, stranger)
    with pytest.raises(ColoniesConnectionError, match="not owner"):
        client.remove_all_processgraphs(colony.name, user.prvkey, state=-1)


def test_wait_returns_when_a_workflow_step_succeeds(client, colony):
    executor, user = colony.add_executor(), colony.add_user()
    wf = Workflow(colonyname=colony.name, functionspecs=[spec("solo", colony.name)])
    graph = client.submit_workflow(wf, user.prvkey)
    root = client.get_process(graph.rootprocessids[0], user.prvkey)

    def work() -> None:
        time.sleep(0.3)
        run_one(client, colony, executor, lambda p: ["x"])

    worker = threading.Thread(target=work)
    worker.start()
    done = client.wait(root, 10, user.prvkey)
    worker.join()
    assert done.state == SUCCESS
