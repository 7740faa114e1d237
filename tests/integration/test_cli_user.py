"""`colonies user` against a real node, with the dev exports set: typer's runner and a subprocess."""
from __future__ import annotations

import json

from pycolonies import Colonies
import pytest

from colonies import crypto
from tests.support.cli import dev_exports, ok, refused, run, shape

pytestmark = pytest.mark.one_store  # the CLI reaches the node over HTTP, whichever store it has


def test_add_ls_get_remove_a_user(node, colony):
    member = colony.add_user()
    env = dev_exports(node.url, colony, member.prvkey)
    prvkey = crypto.generate_private_key()
    userid = crypto.id_from_private_key(prvkey)
    added = json.loads(ok(env, "user", "add", "--name", "ann", "--userid", userid, "--email", "ann@example.org", "--json").stdout)
    assert added == {"colonyname": colony.name, "userid": userid, "name": "ann", "email": "ann@example.org", "phone": ""}

    listed = {u["name"]: u for u in json.loads(ok(env, "user", "ls", "--json").stdout)}
    wire = {u["name"]: u for u in Colonies("127.0.0.1", node.port).get_users(colony.name, member.prvkey)}
    assert listed == wire and shape(listed) == shape(wire)
    table = ok(env, "user", "ls").stdout
    assert "ann" in table and userid[:12] in table and userid not in table
    assert userid in ok(env, "user", "ls", "--wide").stdout
    assert userid in ok(env, "user", "get", "--name", "ann").stdout

    ok(env, "user", "remove", "--name", "ann")
    assert "ann" not in ok(env, "user", "ls").stdout
    assert refused(env, "user", "get", "--name", "ann").stderr.startswith("error: 404")


def test_chid_moves_a_user_to_a_new_key(node, colony):
    member = colony.add_user()
    env = dev_exports(node.url, colony, member.prvkey)
    new_key = crypto.generate_private_key()
    ok(env, "user", "chid", "--userid", crypto.id_from_private_key(new_key))
    assert refused(env, "user", "ls").stderr.startswith("error: 403")
    assert member.name in ok(env | {"COLONIES_PRVKEY": new_key}, "user", "ls").stdout


def test_adding_needs_the_colony_owner(node, colony):
    member = colony.add_user()
    env = dev_exports(node.url, colony, member.prvkey) | {"COLONIES_COLONY_PRVKEY": member.prvkey}
    assert refused(env, "user", "add", "--name", "x", "--userid", "0" * 64).stderr.startswith("error: 403")
    assert "COLONIES_COLONY_PRVKEY" in refused(env | {"COLONIES_COLONY_PRVKEY": ""}, "user", "remove", "--name", "x").stderr


def test_a_real_subprocess_lists_users(node, colony):
    member = colony.add_user()
    done = run(dev_exports(node.url, colony, member.prvkey), "user", "ls", "--json")
    assert done.returncode == 0, done.stderr
    assert [u["name"] for u in json.loads(done.stdout)] == [member.name]
