"""`colonies channel` against a real node, with the dev exports set: the submitter and the
assigned executor talk over a process's declared channel."""
from __future__ import annotations

import base64
import json

import pytest

from tests.support.cli import dev_exports, ok, refused, run
from tests.support.rpc import call

pytestmark = pytest.mark.one_store  # the CLI reaches the node over HTTP, whichever store it has


def running_process(colony, executor, submitter: str) -> str:
    spec = {"funcname": "chat", "conditions": {"colonyname": colony.name, "executortype": "chatty"}, "channels": ["talk"], "maxexectime": -1}
    process = call(colony.url, {"msgtype": "submitfuncspecmsg", "spec": spec}, submitter)
    assigned = call(colony.url, {"msgtype": "assignprocessmsg", "colonyname": colony.name, "timeout": 5}, executor.prvkey)
    assert assigned["processid"] == process["processid"]
    return process["processid"]


def test_append_and_read_between_submitter_and_executor(node, colony) -> None:
    user, executor = colony.add_user(), colony.add_executor(executortype="chatty")
    processid = running_process(colony, executor, user.prvkey)
    as_user, as_executor = dev_exports(node.url, colony, user.prvkey), dev_exports(node.url, colony, executor.prvkey)
    assert "appended message 1" in ok(as_user, "channel", "append", processid, "--name", "talk", "-m", "hello").stdout
    assert "appended message 2" in ok(as_user, "channel", "append", processid, "--name", "talk", "-m", "again").stdout
    assert "appended message 1" in ok(as_executor, "channel", "append", processid, "-n", "talk", "-m", "hi back", "--inreplyto", "1").stdout
    entries = json.loads(ok(as_executor, "channel", "read", processid, "--name", "talk", "--json").stdout)
    assert [base64.b64decode(e["payload"]).decode() for e in entries] == ["hello", "again", "hi back"]
    assert entries[2]["inreplyto"] == 1 and entries[0]["senderid"] == user.id
    table = ok(as_user, "channel", "read", processid, "--name", "talk").stdout
    assert "hi back" in table and user.id[:12] in table
    assert refused(as_user, "channel", "read", processid, "--name", "undeclared").stderr.startswith("error: 404")
    assert "--type must be one of" in refused(as_user, "channel", "append", processid, "-n", "talk", "--type", "x").stderr


def test_channel_as_a_subprocess(node, colony) -> None:
    user, executor = colony.add_user(), colony.add_executor(executortype="chatty")
    processid = running_process(colony, executor, user.prvkey)
    env = dev_exports(node.url, colony, user.prvkey)
    assert run(env, "channel", "append", processid, "--name", "talk", "-m", "from a process").returncode == 0
    read = run(env, "channel", "read", processid, "--name", "talk", "--json")
    assert read.returncode == 0, read.stderr
    assert base64.b64decode(json.loads(read.stdout)[0]["payload"]) == b"from a process"
