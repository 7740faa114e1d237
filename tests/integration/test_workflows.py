"""Workflow behaviour not reachable through pycolonies: cancel, timeouts inside graphs."""
from __future__ import annotations

from colonies.client import AsyncClient
from colonies.models import CANCELLED, FAILED, WAITING
from tests.support.rpc import call


def _workflow(colonyname: str, **child: object) -> dict:
    parent = {"nodename": "parent", "funcname": "p", "maxexectime": -1, "conditions": {"colonyname": colonyname, "executortype": "test"}}
    kid = {"nodename": "child", "funcname": "c", "maxexectime": -1, "conditions": {"colonyname": colonyname, "executortype": "test", "dependencies": ["parent"]}}
    kid.update(child)
    return {"colonyname": colonyname, "functionspecs": [parent, kid]}


def test_cancelling_a_graph_cancels_its_waiting_and_running_members(colony):
    executor, user = colony.add_executor(), colony.add_user()
    graph = call(colony.url, {"msgtype": "submitworkflowspecmsg", "spec": _workflow(colony.name)}, user.prvkey)
    call(colony.url, {"msgtype": "assignprocessmsg", "colonyname": colony.name, "timeout": 5}, executor.prvkey)
    call(colony.url, {"msgtype": "cancelprocessgraphmsg", "processgraphid": graph["processgraphid"]}, user.prvkey)
    after = call(colony.url, {"msgtype": "getprocessgraphmsg", "processgraphid": graph["processgraphid"]}, user.prvkey)
    assert after["state"] == CANCELLED
    states = {call(colony.url, {"msgtype": "getprocessmsg", "processid": pid}, user.prvkey)["state"] for pid in after["processids"]}
    assert states == {CANCELLED}


async def test_a_child_past_its_maxwaittime_fails_the_graph(colony):
    user = colony.add_user()
    graph = call(colony.url, {"msgtype": "submitworkflowspecmsg", "spec": _workflow(colony.name, maxwaittime=1)}, user.prvkey)
    async with AsyncClient(colony.url, user.prvkey) as client:
        root = graph["rootprocessids"][0]
        processes = call(colony.url, {"msgtype": "getprocessgraphmsg", "processgraphid": graph["processgraphid"]}, user.prvkey)
        child = next(pid for pid in processes["processids"] if pid != root)
        failed = await client.wait(child, state=FAILED, timeout=10)
        assert failed.errors == ["Maximum waiting time limit exceeded"]
        assert (await client.get_process(root)).state == WAITING
    after = call(colony.url, {"msgtype": "getprocessgraphmsg", "processgraphid": graph["processgraphid"]}, user.prvkey)
    assert after["state"] == FAILED


def test_colony_stats_count_workflows_by_state(colony):
    user = colony.add_user()
    for _ in range(3):
        call(colony.url, {"msgtype": "submitworkflowspecmsg", "spec": _workflow(colony.name)}, user.prvkey)
    stats = call(colony.url, {"msgtype": "getcolonystatsmsg", "colonyname": colony.name}, user.prvkey)
    assert stats["waitingworkflows"] == 3 and stats["waitingprocesses"] == 6


def test_a_big_workflow_is_stored_whole_with_its_attributes_and_runs_in_dependency_order(colony):
    """Above OFFLOOP_MEMBERS the rows are built and inserted off the loop, in one transaction."""
    from colonies.node.domain.submission import OFFLOOP_MEMBERS

    size = OFFLOOP_MEMBERS * 3
    executor, user = colony.add_executor(), colony.add_user()
    specs = []
    for i in range(size):
        spec = {"nodename": f"n{i}", "funcname": "f", "maxexectime": -1, "env": {"index": str(i)},
                "conditions": {"colonyname": colony.name, "executortype": "test", "dependencies": [f"n{i - 1}"] if i % 3 else []}}
        specs.append(spec)
    submitted = call(colony.url, {"msgtype": "submitworkflowspecmsg", "spec": {"colonyname": colony.name, "functionspecs": specs}}, user.prvkey)
    graph = call(colony.url, {"msgtype": "getprocessgraphmsg", "processgraphid": submitted["processgraphid"]}, user.prvkey)
    roots = set(graph["rootprocessids"])
    assert len(graph["processids"]) == size and len(roots) == size // 3
    first = call(colony.url, {"msgtype": "assignprocessmsg", "colonyname": colony.name, "timeout": 5}, executor.prvkey)
    assert first["processid"] in roots and not first["waitforparents"]
    assert {a["key"]: a["value"] for a in first["attributes"]}["index"] in {str(i) for i in range(0, size, 3)}
    childid = next(pid for pid in graph["processids"] if pid not in roots)
    child = call(colony.url, {"msgtype": "getprocessmsg", "processid": childid}, user.prvkey)
    assert child["waitforparents"] and len(child["parents"]) == 1 and child["parents"][0] in graph["processids"]
