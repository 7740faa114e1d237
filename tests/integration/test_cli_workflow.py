"""`colonies workflow` against a real node and a real executor, with the dev exports set."""
from __future__ import annotations

import json

from pycolonies import Colonies
import pytest

from colonies.client import Client
from tests.support.cli import dev_exports, ok, refused, run, running_executor, shape

pytestmark = pytest.mark.one_store  # the CLI reaches the node over HTTP, whichever store it has


def _workflow_file(tmp_path, executortype: str = "W"):
    path = tmp_path / "workflow.json"
    path.write_text(json.dumps([
        {"nodename": "first", "funcname": "echo", "args": ["1"], "maxexectime": -1, "maxretries": 0,
         "conditions": {"executortype": executortype}},
        {"nodename": "second", "funcname": "echo", "args": ["2"], "maxexectime": -1, "maxretries": 0,
         "conditions": {"executortype": executortype, "dependencies": ["first"]}},
    ]))
    return path


def test_submit_lists_and_shows_a_waiting_workflow(node, colony, tmp_path):
    user = colony.add_user()
    env = dev_exports(node.url, colony, user.prvkey)
    graphid = ok(env, "workflow", "submit", "--spec", str(_workflow_file(tmp_path))).stdout.strip()

    listed = json.loads(ok(env, "workflow", "psw", "--json").stdout)
    wire = Colonies("127.0.0.1", node.port).get_processgraphs(colony.name, 100, user.prvkey, state=0)
    assert [g["processgraphid"] for g in listed] == [g["processgraphid"] for g in wire] == [graphid]
    assert shape(listed) == shape(wire)
    table = ok(env, "workflow", "psw").stdout
    assert graphid[:12] in table and graphid not in table
    shown = ok(env, "workflow", "get", graphid, "--wide").stdout
    assert graphid in shown and "first" in shown and "second" in shown
    assert len(json.loads(ok(env, "workflow", "get", graphid, "--json").stdout)["processids"]) == 2

    ok(env, "workflow", "cancel", graphid)
    assert [g["processgraphid"] for g in json.loads(ok(env, "workflow", "psc", "--json").stdout)] == [graphid]
    ok(env, "workflow", "remove", graphid)
    assert refused(env, "workflow", "get", graphid).stderr.startswith("error: 404")


def test_a_workflow_runs_to_the_end_and_removeall_clears_it(node, colony, tmp_path):
    user = colony.add_user()
    env = dev_exports(node.url, colony, user.prvkey)
    graphid = ok(env, "workflow", "submit", "--spec", str(_workflow_file(tmp_path))).stdout.strip()
    graph = json.loads(ok(env, "workflow", "get", graphid, "--json").stdout)
    with running_executor(node.url, colony, "W", {"echo": lambda *a: list(a)}), Client(node.url, user.prvkey) as client:
        last = [p for p in graph["processids"] if client.get_process(p).spec.nodename == "second"][0]
        assert client.wait(last, timeout=30).state == 2
    assert [g["processgraphid"] for g in json.loads(ok(env, "workflow", "pss", "--json").stdout)] == [graphid]
    assert "successful" in ok(env, "workflow", "get", graphid).stdout
    ok(env, "workflow", "removeall", "--state", "successful")
    assert json.loads(ok(env, "workflow", "pss", "--json").stdout) == []


def test_bad_workflow_files_are_one_line_errors(node, colony, tmp_path):
    env = dev_exports(node.url, colony, colony.add_user().prvkey)
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    assert "no function specs" in refused(env, "workflow", "submit", "--spec", str(empty)).stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"functionspecs": 3}')
    assert str(broken) in refused(env, "workflow", "submit", "--spec", str(broken)).stderr


def test_a_real_subprocess_submits_a_workflow_object(node, colony, tmp_path):
    env = dev_exports(node.url, colony, colony.add_user().prvkey)
    path = tmp_path / "wf.json"
    path.write_text(json.dumps({"colonyname": colony.name, "functionspecs": [{"nodename": "only", "funcname": "f", "conditions": {"executortype": "W"}}]}))
    done = run(env, "workflow", "submit", "--spec", str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["processgraphid"]) == 64
