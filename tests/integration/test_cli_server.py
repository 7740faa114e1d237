"""`colonies server status|stats|alive|chid` against a real node, with the dev exports set."""
from __future__ import annotations

import json

import pytest

from colonies import crypto, dev
from tests.federation.sites import free_port
from tests.support.cli import dev_exports, ok, refused, run
from tests.support.nodes import start_node

pytestmark = pytest.mark.one_store  # the CLI reaches the node over HTTP, whichever store it has


def test_status_shows_the_build_and_backends(node) -> None:
    env = dev_exports(node.url)
    status = json.loads(ok(env, "server", "status", "--json").stdout)
    assert set(status) == {"version", "serverinfo"} and "buildversion" in status["serverinfo"]
    assert "build version" in ok(env, "server", "status").stdout


def test_stats_needs_the_server_owner_and_counts_colonies(node, colony) -> None:
    env = dev_exports(node.url, colony)
    stats = json.loads(ok(env, "server", "stats", "--json").stdout)
    assert stats["colonies"] >= 1 and set(stats) >= {"executors", "waitingprocesses", "cancelledworkflows"}
    assert "colonies" in ok(env, "server", "stats").stdout
    assert refused(env | {"COLONIES_SERVER_PRVKEY": dev.PRVKEY}, "server", "stats").stderr.startswith("error: 403")


def test_alive_exits_0_for_a_live_node_and_1_for_none(node) -> None:
    env = dev_exports(node.url)
    assert "is alive" in ok(env, "server", "alive").stdout
    nobody = f"http://127.0.0.1:{free_port()}"
    assert "does not answer" in refused(env, "server", "alive", "--url", nobody, "--timeout", "2").stderr


def test_server_commands_as_subprocesses(node) -> None:
    env = dev_exports(node.url)
    alive = run(env, "server", "alive")
    assert alive.returncode == 0, alive.stderr
    stats = run(env, "server", "stats", "--json")
    assert stats.returncode == 0 and json.loads(stats.stdout)["colonies"] >= 0


def test_chid_hands_the_node_to_a_new_owner(tmp_path) -> None:
    own = start_node(tmp_path)  # its own node: the session node keeps its owner
    try:
        env = dev_exports(own.url)
        new_owner = crypto.generate_private_key()
        changed = ok(env, "server", "chid", "--serverid", crypto.id_from_private_key(new_owner))
        assert "server id changed" in changed.stdout and "config" in changed.stderr
        assert refused(env, "server", "stats").stderr.startswith("error: 403")
        assert ok(env | {"COLONIES_SERVER_PRVKEY": new_owner}, "server", "stats").exit_code == 0
    finally:
        own.stop()
