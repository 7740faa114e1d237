"""`colonies process` against a real node, with the dev exports set: typer's runner and a subprocess."""
from __future__ import annotations

import json

from pycolonies import Colonies
import pytest

from colonies.client import Client, func_spec
from tests.support.cli import dev_exports, invoke, ok, refused, run, shape
from tests.support.rpc import call

pytestmark = pytest.mark.one_store  # the CLI reaches the node over HTTP, whichever store it has


def _submit(url: str, colony, prvkey: str, funcname: str = "job", executortype: str = "t", args=None) -> str:
    with Client(url, prvkey) as client:
        return client.submit(func_spec(funcname, colony.name, executortype, args=args or ["a", 1])).processid


def test_psw_ps_get_json_are_the_wire_objects(node, colony):
    worker = colony.add_executor(executortype="t")
    user = colony.add_user()
    env = dev_exports(node.url, colony, user.prvkey)
    processid = _submit(node.url, colony, user.prvkey)
    sdk = Colonies("127.0.0.1", node.port)

    waiting = json.loads(ok(env, "process", "psw", "--json").stdout)
    wire_waiting = sdk.list_processes(colony.name, 100, 0, user.prvkey)
    assert [p["processid"] for p in waiting] == [p["processid"] for p in wire_waiting] == [processid]
    assert shape(waiting) == shape(wire_waiting)
    assert waiting[0]["spec"]["conditions"].keys() == wire_waiting[0]["spec"]["conditions"].keys()
    table = ok(env, "process", "psw").stdout
    assert processid[:12] in table and processid not in table and "job" in table
    assert processid in ok(env, "process", "psw", "--wide").stdout

    assigned = json.loads(ok(env | {"COLONIES_PRVKEY": worker.prvkey}, "process", "assign", "--json").stdout)
    assert assigned["processid"] == processid and assigned["state"] == 1
    running = json.loads(ok(env, "process", "ps", "--json").stdout)
    wire_running = sdk.list_processes(colony.name, 100, 1, user.prvkey)
    assert shape(running) == shape(wire_running) and running[0]["processid"] == processid

    shown = json.loads(ok(env, "process", "get", processid, "--json").stdout)
    wire = call(node.url, {"msgtype": "getprocessmsg", "processid": processid}, user.prvkey)
    assert shown == wire and shape(shown) == shape(wire)
    text = ok(env, "process", "get", processid).stdout
    assert processid in text and "running" in text and "this node" in text and "ago)" in text


def test_close_fail_cancel_remove_and_the_state_listings(node, colony):
    worker = colony.add_executor(executortype="t")
    user = colony.add_user()
    env = dev_exports(node.url, colony, user.prvkey)
    as_worker = env | {"COLONIES_PRVKEY": worker.prvkey}

    first = _submit(node.url, colony, user.prvkey)
    ok(as_worker, "process", "assign")
    ok(as_worker, "process", "close", first, "--out", "hello", "--out", "world")
    assert json.loads(ok(env, "process", "get", first, "--json").stdout)["out"] == ["hello", "world"]
    assert [p["processid"] for p in json.loads(ok(env, "process", "pss", "--json").stdout)] == [first]

    second = _submit(node.url, colony, user.prvkey)
    ok(as_worker, "process", "assign")
    assert refused(env, "process", "close", second).stderr.startswith("error: 403")  # not the assignee
    ok(as_worker, "process", "fail", second, "--errors", "boom")
    assert json.loads(ok(env, "process", "psf", "--json").stdout)[0]["errors"] == ["boom"]

    third = _submit(node.url, colony, user.prvkey)
    ok(env, "process", "cancel", third)
    assert [p["processid"] for p in json.loads(ok(env, "process", "psc", "--json").stdout)] == [third]
    ok(env, "process", "remove", third)
    assert refused(env, "process", "get", third).stderr.startswith("error: 404")
    assert "no cancelled processes" in ok(env, "process", "psc").stderr

    ok(env, "process", "removeall", "--state", "failed")
    assert json.loads(ok(env, "process", "psf", "--json").stdout) == []
    assert len(json.loads(ok(env, "process", "pss", "--json").stdout)) == 1
    ok(env, "process", "removeall")
    assert json.loads(ok(env, "process", "pss", "--json").stdout) == []
    assert "--state must be one of" in refused(env, "process", "removeall", "--state", "running").stderr


def test_count_caps_a_listing(node, colony):
    user = colony.add_user()
    env = dev_exports(node.url, colony, user.prvkey)
    for _ in range(3):
        _submit(node.url, colony, user.prvkey)
    assert len(json.loads(ok(env, "process", "psw", "--count", "2", "--json").stdout)) == 2
    assert invoke(env, "process", "psw", "--count", "101").exit_code == 2  # out of range: a usage error


def test_pause_resume_status_and_assign_with_nothing_to_do(node, colony):
    worker = colony.add_executor(executortype="t")
    env = dev_exports(node.url, colony, worker.prvkey)
    ok(env, "process", "pause")
    assert json.loads(ok(env, "process", "status", "--json").stdout)["ispaused"] is True
    ok(env, "process", "resume")
    assert "running" in ok(env, "process", "status").stdout
    assert "no process to assign" in refused(env, "process", "assign", "--timeout", "1").stderr


def test_a_real_subprocess_lists_and_shows(node, colony):
    user = colony.add_user()
    env = dev_exports(node.url, colony, user.prvkey)
    processid = _submit(node.url, colony, user.prvkey)
    listed = run(env, "process", "psw", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [p["processid"] for p in json.loads(listed.stdout)] == [processid]
    shown = run(env, "process", "get", processid)
    assert shown.returncode == 0 and processid in shown.stdout and "waiting" in shown.stdout
    missing = run(env, "process", "get", "0" * 64)
    assert missing.returncode == 1 and missing.stderr.startswith("error: 404") and "Traceback" not in missing.stderr


def test_wide_tables_keep_ids_whole_in_an_80_column_terminal(node, colony):
    import os
    import sys

    import pexpect

    user = colony.add_user()
    env = dev_exports(node.url, colony, user.prvkey)
    processid = _submit(node.url, colony, user.prvkey)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}

    def terminal(*args: str) -> str:
        child = pexpect.spawn(sys.executable, ["-m", "colonies.cli", *args], env=clean | env, encoding="utf-8",
                              timeout=30, dimensions=(24, 80))
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before
        return child.before

    assert processid in terminal("process", "psw", "--wide")  # one unbroken run: the terminal wraps it
    narrow = terminal("process", "psw")
    assert processid[:12] in narrow and processid not in narrow
