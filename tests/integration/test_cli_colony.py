"""`colonies colony` against a real node, with the dev exports set: typer's runner and a subprocess."""
from __future__ import annotations

import json

from pycolonies import Colonies
import pytest

from colonies import crypto, dev
from tests.support.rpc import call
from tests.support.cli import dev_exports, invoke, ok, refused, run, shape

pytestmark = pytest.mark.one_store  # the CLI reaches the node over HTTP, whichever store it has


def test_ls_json_prints_the_colonies_with_the_wire_fields(node, colony):
    env = dev_exports(node.url, colony)
    printed = {c["name"]: c for c in json.loads(ok(env, "colony", "ls", "--json").stdout)}
    wire = {c["name"]: c for c in Colonies("127.0.0.1", node.port).list_colonies(dev.SERVER_PRVKEY)}
    assert printed[colony.name] == wire[colony.name] == {"colonyid": colony.colonyid, "name": colony.name}
    assert shape(printed) == shape(wire)


def test_add_from_a_spec_file_then_ls_get_stats_check_remove(node, tmp_path):
    owner = crypto.generate_private_key()
    colonyid = crypto.id_from_private_key(owner)
    spec = tmp_path / "colony.json"
    spec.write_text(json.dumps({"colonyid": colonyid, "name": "cli-colony"}))
    env = dev_exports(node.url) | {"COLONIES_PRVKEY": owner, "COLONIES_COLONY_NAME": "cli-colony"}

    added = json.loads(ok(env, "colony", "add", "--spec", str(spec), "--json").stdout)
    assert added == {"colonyid": colonyid, "name": "cli-colony"}
    try:
        table = ok(env, "colony", "ls").stdout
        assert "cli-colony" in table and colonyid[:12] in table and colonyid not in table
        assert colonyid in ok(env, "colony", "ls", "--wide").stdout
        member_env = env | {"COLONIES_PRVKEY": _approved_executor(node.url, "cli-colony", owner)}
        assert json.loads(ok(member_env, "colony", "get", "--json").stdout)["colonyid"] == colonyid
        stats = json.loads(ok(member_env, "colony", "stats", "--json").stdout)
        assert stats["executors"] == 1 and set(stats) >= {"waitingprocesses", "cancelledworkflows"}
        assert "waiting processes" in ok(member_env, "colony", "stats").stdout
        assert "exists" in ok(member_env, "colony", "check").stdout
        assert refused(env, "colony", "add", "--name", "cli-colony", "--colonyid", colonyid).stderr.startswith("error: 400")
    finally:
        assert "removed" in ok(env, "colony", "remove", "--name", "cli-colony").stdout
    assert "cli-colony" not in ok(env, "colony", "ls").stdout


def _approved_executor(url: str, colonyname: str, owner: str) -> str:
    prvkey = crypto.generate_private_key()
    executor = {"executorid": crypto.id_from_private_key(prvkey), "executortype": "t", "executorname": "e1", "colonyname": colonyname}
    call(url, {"msgtype": "addexecutormsg", "executor": executor}, owner)
    call(url, {"msgtype": "approveexecutormsg", "colonyname": colonyname, "executorname": "e1"}, owner)
    return prvkey


def test_stats_and_check_as_a_user_of_the_colony(node, colony):
    user = colony.add_user()
    env = dev_exports(node.url, colony, user.prvkey)
    assert json.loads(ok(env, "colony", "stats", "--json").stdout)["executors"] == 0
    assert colony.name in ok(env, "colony", "check").stdout
    assert refused(env, "colony", "check", "--name", "no-such-colony").stderr.startswith("error: ")
    shown = ok(env, "colony", "get").stdout
    assert colony.colonyid in shown  # a single object shows its id whole


def test_flags_override_the_environment(node, colony):
    user = colony.add_user()
    env = dev_exports(node.url, colony, user.prvkey) | {"COLONIES_SERVER_PORT": "1", "COLONIES_COLONY_NAME": "elsewhere"}
    assert "cannot reach the node at http://127.0.0.1:1" in refused(env, "colony", "get").stderr
    shown = json.loads(ok(env, "colony", "get", "--url", node.url, "--name", colony.name, "--json").stdout)
    assert shown["name"] == colony.name


def test_missing_keys_and_names_are_one_line_errors(node, colony):
    env = dev_exports(node.url, colony) | {"COLONIES_SERVER_PRVKEY": "", "COLONIES_PRVKEY": ""}
    assert "--server-prvkey or COLONIES_SERVER_PRVKEY" in refused(env, "colony", "ls").stderr
    assert "--prvkey or COLONIES_PRVKEY" in refused(env, "colony", "get").stderr
    assert "a name and an id" in refused(env, "colony", "add", "--name", "x").stderr
    assert invoke(env, "colony", "-h").exit_code == 0


def test_chid_hands_the_colony_to_a_new_owner(node, colony):
    new_owner = crypto.generate_private_key()
    env = dev_exports(node.url, colony)
    ok(env, "colony", "chid", "--colonyid", crypto.id_from_private_key(new_owner))
    assert refused(env, "colony", "chid", "--colonyid", colony.colonyid).stderr.startswith("error: 403")
    colony.owner_prvkey = new_owner  # so the fixture's removal and later calls sign as the owner


def test_a_real_subprocess_lists_colonies_from_the_dev_exports(node, colony):
    done = run(dev_exports(node.url, colony), "colony", "ls", "--json")
    assert done.returncode == 0, done.stderr
    assert colony.name in {c["name"] for c in json.loads(done.stdout)}
    failed = run(dev_exports(node.url, colony) | {"COLONIES_SERVER_PRVKEY": ""}, "colony", "ls")
    assert failed.returncode == 1 and failed.stderr.startswith("error: ") and "Traceback" not in failed.stderr
