"""`colonies location` against a real node, with the dev exports set."""
from __future__ import annotations

import json

import pytest

from tests.support.cli import dev_exports, ok, refused, run, shape
from tests.support.rpc import call

pytestmark = pytest.mark.one_store  # the CLI reaches the node over HTTP, whichever store it has


def test_add_ls_get_remove(node, colony) -> None:
    env = dev_exports(node.url, colony, colony.add_user().prvkey)
    added = json.loads(ok(env, "location", "add", "--name", "lab", "--description", "the lab", "--long", "18.07", "--lat", "59.33", "--json").stdout)
    assert (added["name"], added["long"], added["lat"]) == ("lab", 18.07, 59.33)
    wire = call(node.url, {"msgtype": "getlocationmsg", "colonyname": colony.name, "name": "lab"}, env["COLONIES_PRVKEY"])
    assert added == wire and shape(added) == shape(wire)
    assert "the lab" in ok(env, "location", "ls").stdout
    assert "18.07, 59.33" in ok(env, "location", "get", "--name", "lab").stdout
    assert "removed" in ok(env, "location", "remove", "--name", "lab").stdout
    assert refused(env, "location", "get", "--name", "lab").stderr.startswith("error: 404")


def test_adding_needs_the_colony_owner(node, colony) -> None:
    member = colony.add_user().prvkey
    env = dev_exports(node.url, colony, member) | {"COLONIES_COLONY_PRVKEY": member}
    assert refused(env, "location", "add", "--name", "x").stderr.startswith("error: 403")


def test_location_as_a_subprocess(node, colony) -> None:
    env = dev_exports(node.url, colony, colony.add_user().prvkey)
    assert run(env, "location", "add", "--name", "site").returncode == 0
    listed = run(env, "location", "ls", "--json")
    assert listed.returncode == 0 and [loc["name"] for loc in json.loads(listed.stdout)] == ["site"]
