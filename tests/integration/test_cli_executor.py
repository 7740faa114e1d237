"""`colonies executor` against a real node, with the dev exports set: typer's runner and a subprocess."""
from __future__ import annotations

import json

from pycolonies import Colonies
import pytest

from colonies import crypto
from tests.support.cli import dev_exports, ok, refused, run, shape

pytestmark = pytest.mark.one_store  # the CLI reaches the node over HTTP, whichever store it has


def test_create_prints_a_key_that_works_once_approved(node, colony):
    env = dev_exports(node.url, colony)
    created = json.loads(ok(env, "executor", "create", "--name", "w1", "--type", "cli", "--json").stdout)
    prvkey = created["prvkey"]
    assert created["executor"]["executorid"] == crypto.id_from_private_key(prvkey)
    assert created["executor"]["state"] == 0
    member = env | {"COLONIES_PRVKEY": prvkey}
    assert refused(member, "executor", "get", "--name", "w1").stderr.startswith("error: 403")  # pending: not yet a member
    assert "pending" in ok(member, "executor", "ls").stdout  # listing needs no approval (upstream)
    ok(env, "executor", "approve", "--name", "w1")
    shown = json.loads(ok(member, "executor", "get", "--name", "w1", "--json").stdout)
    assert shown["state"] == 1 and shown["executortype"] == "cli"
    assert "approved" in ok(member, "executor", "get", "--name", "w1").stdout
    text = ok(env, "executor", "create", "--name", "w2", "--type", "cli", "--approve").stdout
    assert "prvkey: " in text and "(approved)" in text


def test_ls_json_matches_the_wire_and_the_table_shortens_ids(node, colony):
    worker = colony.add_executor(executortype="gpu", name="worker")
    env = dev_exports(node.url, colony, worker.prvkey)
    printed = json.loads(ok(env, "executor", "ls", "--json").stdout)
    wire = Colonies("127.0.0.1", node.port).list_executors(colony.name, worker.prvkey)
    assert [e["executorid"] for e in printed] == [e["executorid"] for e in wire] == [worker.id]
    assert shape(printed) == shape(wire)
    assert printed[0]["capabilities"].keys() == wire[0]["capabilities"].keys()
    table = ok(env, "executor", "ls").stdout
    assert "worker" in table and "gpu" in table and worker.id[:12] in table and worker.id not in table
    assert worker.id in ok(env, "executor", "ls", "--wide").stdout
    assert ok(env, "executor", "ls", "--type", "cpu").stdout == ""


def test_add_reject_remove(node, colony):
    env = dev_exports(node.url, colony)
    prvkey = crypto.generate_private_key()
    executorid = crypto.id_from_private_key(prvkey)
    added = json.loads(ok(env, "executor", "add", "--name", "w3", "--type", "t", "--executorid", executorid, "--json").stdout)
    assert added["executorid"] == executorid and added["state"] == 0
    ok(env, "executor", "reject", "--name", "w3")
    other = colony.add_executor(executortype="t")
    member = env | {"COLONIES_PRVKEY": other.prvkey}
    assert json.loads(ok(member, "executor", "get", "--name", "w3", "--json").stdout)["state"] == 2
    ok(env, "executor", "remove", "--name", "w3")
    assert json.loads(ok(member, "executor", "get", "--name", "w3", "--json").stdout)["state"] == 3
    assert refused(env, "executor", "approve", "--name", "nobody").stderr.startswith("error: ")


def test_chid_moves_an_executor_to_a_new_key(node, colony):
    worker = colony.add_executor()
    env = dev_exports(node.url, colony, worker.prvkey)
    new_key = crypto.generate_private_key()
    ok(env, "executor", "chid", "--executorid", crypto.id_from_private_key(new_key))
    assert worker.name in ok(env | {"COLONIES_PRVKEY": new_key}, "executor", "ls").stdout


def test_a_real_subprocess_creates_and_lists(node, colony):
    env = dev_exports(node.url, colony)
    done = run(env, "executor", "create", "--name", "sub", "--type", "t", "--approve", "--json")
    assert done.returncode == 0, done.stderr
    prvkey = json.loads(done.stdout)["prvkey"]
    listed = run(env | {"COLONIES_PRVKEY": prvkey}, "executor", "ls", "--json")
    assert listed.returncode == 0 and [e["executorname"] for e in json.loads(listed.stdout)] == ["sub"]
