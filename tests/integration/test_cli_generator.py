"""`colonies generator` against a real node, with the dev exports set."""
from __future__ import annotations

import json

import pytest

from tests.integration.test_cli_cron import workflow_file
from tests.support.cli import dev_exports, ok, refused, run

pytestmark = pytest.mark.one_store  # the CLI reaches the node over HTTP, whichever store it has


def test_generator_add_pack_get_ls_remove(node, colony, tmp_path) -> None:
    env = dev_exports(node.url, colony, colony.add_user().prvkey)
    added = json.loads(ok(env, "generator", "add", "--name", "batch", "--spec", workflow_file(tmp_path), "--trigger", "3", "--json").stdout)
    assert (added["name"], added["trigger"]) == ("batch", 3)
    assert "packed" in ok(env, "generator", "pack", added["generatorid"], "--arg", "a").stdout
    by_name = json.loads(ok(env, "generator", "get", "--name", "batch", "--json").stdout)
    assert by_name["generatorid"] == added["generatorid"] and by_name["queuesize"] == 1
    assert "every 3 packed arguments" in ok(env, "generator", "get", added["generatorid"]).stdout
    assert "batch" in ok(env, "generator", "ls").stdout
    assert "removed" in ok(env, "generator", "remove", added["generatorid"]).stdout
    assert "give a generator id or --name" in refused(env, "generator", "get").stderr


def test_generator_as_a_subprocess(node, colony, tmp_path) -> None:
    env = dev_exports(node.url, colony, colony.add_user().prvkey)
    generator = run(env, "generator", "add", "--name", "sub", "--spec", workflow_file(tmp_path), "--trigger", "2", "--json")
    assert generator.returncode == 0, generator.stderr
    listed = run(env, "generator", "ls", "--json")
    assert [g["name"] for g in json.loads(listed.stdout)] == ["sub"]
