"""`colonies log` against a real node, with the dev exports set; `follow` in a real terminal (pty)."""
from __future__ import annotations

import json
import os
import sys

import pexpect
from pycolonies import Colonies
import pytest

from colonies.client import Client, func_spec
from tests.support.cli import dev_exports, ok, refused, run, shape

pytestmark = pytest.mark.one_store  # the CLI reaches the node over HTTP, whichever store it has


def _running_process(node, colony, worker) -> str:
    with Client(node.url, worker.prvkey) as client:
        processid = client.submit(func_spec("f", colony.name, "L")).processid
        client.assign(colony.name, 10)
    return processid


def test_add_get_search_and_executor_lines(node, colony):
    worker = colony.add_executor(executortype="L", name="logger")
    env = dev_exports(node.url, colony, worker.prvkey)
    processid = _running_process(node, colony, worker)
    ok(env, "log", "add", processid, "line one")
    ok(env, "log", "add", processid, "line two")
    printed = json.loads(ok(env, "log", "get", processid, "--json").stdout)
    wire = Colonies("127.0.0.1", node.port).get_process_log(colony.name, processid, 100, -1, worker.prvkey)
    assert [entry["message"] for entry in printed] == [entry["message"] for entry in wire] == ["line one", "line two"]
    assert shape(printed) == shape(wire)
    assert [e["message"] for e in json.loads(ok(env, "log", "get", processid, "--count", "1", "--latest", "--json").stdout)] == ["line two"]
    table = ok(env, "log", "get", processid).stdout
    assert "line one" in table and "logger" in table and "ago)" in table
    assert [e["message"] for e in json.loads(ok(env, "log", "search", "two", "--json").stdout)] == ["line two"]
    with Client(node.url, worker.prvkey) as client:
        client.add_executor_log(colony.name, "logger", "executor says hi")
    assert "executor says hi" in ok(env, "log", "get", "--executorname", "logger").stdout
    assert "one of them" in refused(env, "log", "get").stderr
    done = run(env, "log", "get", processid, "--json")
    assert done.returncode == 0 and len(json.loads(done.stdout)) == 2


def _follow(node, colony, worker, processid: str) -> pexpect.spawn:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    return pexpect.spawn(
        sys.executable, ["-m", "colonies.cli", "log", "follow", processid, "--interval", "0.1"],
        env=clean | dev_exports(node.url, colony, worker.prvkey), encoding="utf-8", timeout=30,
    )


def test_follow_in_a_terminal_prints_lines_as_they_come_and_ends_with_the_process(node, colony):
    worker = colony.add_executor(executortype="L")
    processid = _running_process(node, colony, worker)
    with Client(node.url, worker.prvkey) as client:
        client.add_log(processid, "before follow")
        terminal = _follow(node, colony, worker, processid)
        try:
            terminal.expect_exact("before follow")
            client.add_log(processid, "while following")
            terminal.expect_exact("while following")
            client.add_log(processid, "the last line")
            client.close(processid, ["done"])
            terminal.expect_exact("the last line")
            terminal.expect(pexpect.EOF)
        finally:
            terminal.close()
    assert terminal.exitstatus == 0
    assert terminal.before.strip() == ""  # nothing after the last line: no traceback, no noise


def test_follow_stops_cleanly_on_ctrl_c(node, colony):
    worker = colony.add_executor(executortype="L")
    processid = _running_process(node, colony, worker)
    with Client(node.url, worker.prvkey) as client:
        client.add_log(processid, "running")
    terminal = _follow(node, colony, worker, processid)
    try:
        terminal.expect_exact("running")
        terminal.sendintr()
        terminal.expect(pexpect.EOF)
    finally:
        terminal.close()
    assert "Traceback" not in terminal.before
    assert terminal.exitstatus == 0
