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
