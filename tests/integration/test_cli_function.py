"""`colonies function` against a real node and a real executor, with the dev exports set."""
from __future__ import annotations

import json

from pycolonies import Colonies
import pytest

from tests.support.cli import dev_exports, ok, refused, run, running_executor, shape

pytestmark = pytest.mark.one_store  # the CLI reaches the node over HTTP, whichever store it has


def _echo(*args, **kwargs):
    return list(args) + ([kwargs] if kwargs else [])


def _boom(*args):
    raise RuntimeError("boom")


def test_exec_wait_prints_the_finished_process(node, colony):
    user = colony.add_user()
    env = dev_exports(node.url, colony, user.prvkey)
    with running_executor(node.url, colony, "T", {"echo": _echo}):
        text = ok(env, "function", "exec", "--func", "echo", "--args", "hello", "--type", "T", "--wait").stdout
        assert "successful" in text and '["hello"]' in text
        finished = json.loads(ok(env, "function", "exec", "--func", "echo", "--args", "a", "--args", "b",
                                 "--kwargs", '{"n": 3}', "--type", "T", "--wait", "--json").stdout)
    assert finished["state"] == 2 and finished["out"] == ["a", "b", {"n": 3}]
    assert finished["spec"]["funcname"] == "echo" and finished["spec"]["kwargs"] == {"n": 3}


def test_exec_wait_exits_1_when_the_process_fails(node, colony):
    user = colony.add_user()
    env = dev_exports(node.url, colony, user.prvkey)
    with running_executor(node.url, colony, "T", {"boom": _boom}):
        result = refused(env, "function", "exec", "--func", "boom", "--type", "T", "--wait", "--maxretries", "0")
    assert "failed" in result.stdout and "boom" in result.stderr


def test_exec_without_wait_prints_the_process_id_and_the_type_comes_from_the_exports(node, colony):
    user = colony.add_user()
    env = dev_exports(node.url, colony, user.prvkey)  # COLONIES_EXECUTOR_TYPE=cli, as `colonies dev` prints
    processid = ok(env, "function", "exec", "--func", "date", "--label", "x", "--env", "A=1").stdout.strip()
    shown = json.loads(ok(env, "process", "get", processid, "--json").stdout)
    assert shown["spec"]["conditions"]["executortype"] == "cli" and shown["spec"]["label"] == "x"
    assert shown["spec"]["env"] == {"A": "1"}
    assert "KEY=VALUE" in refused(env, "function", "exec", "--func", "date", "--env", "A").stderr
    assert "JSON object" in refused(env, "function", "exec", "--func", "date", "--kwargs", "[1]").stderr
    assert "not JSON" in refused(env, "function", "exec", "--func", "date", "--kwargs", "{").stderr


def test_submit_a_spec_file(node, colony, tmp_path):
    user = colony.add_user()
    env = dev_exports(node.url, colony, user.prvkey)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"funcname": "echo", "args": ["from", "file"], "maxexectime": -1, "maxretries": 0,
                                "conditions": {"executortype": "T"}}))
    with running_executor(node.url, colony, "T", {"echo": _echo}):
        finished = json.loads(ok(env, "function", "submit", "--spec", str(spec), "--wait", "--json").stdout)
    assert finished["out"] == ["from", "file"] and finished["spec"]["conditions"]["colonyname"] == colony.name
    spec.write_text("{not json")
    assert str(spec) in refused(env, "function", "submit", "--spec", str(spec)).stderr


def test_register_ls_remove(node, colony):
    worker = colony.add_executor(executortype="T", name="w")
    env = dev_exports(node.url, colony, worker.prvkey) | {"COLONIES_EXECUTOR_NAME": "w", "COLONIES_EXECUTOR_TYPE": "T"}
    ok(env, "function", "register", "--func", "f1", "--description", "first")
    listed = json.loads(ok(env, "function", "ls", "--json").stdout)
    wire = Colonies("127.0.0.1", node.port).get_functions_by_colony(colony.name, worker.prvkey)
    assert [f["funcname"] for f in listed] == [f["funcname"] for f in wire] == ["f1"]
    assert shape(listed) == shape(wire)
    table = ok(env, "function", "ls").stdout
    assert "f1" in table and listed[0]["functionid"][:12] in table and listed[0]["functionid"] not in table
    ok(env, "function", "remove", listed[0]["functionid"])
    assert json.loads(ok(env, "function", "ls", "--json").stdout) == []


def test_a_real_subprocess_execs_and_waits(node, colony):
    user = colony.add_user()
    env = dev_exports(node.url, colony, user.prvkey)
    with running_executor(node.url, colony, "T", {"echo": _echo}):
        done = run(env, "function", "exec", "--func", "echo", "--args", "hello", "--type", "T", "--wait", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["out"] == ["hello"]
