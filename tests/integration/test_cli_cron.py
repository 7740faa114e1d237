"""`colonies cron` against a real node, with the dev exports set."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from pycolonies import Colonies

from tests.support.cli import dev_exports, ok, refused, run, shape

pytestmark = pytest.mark.one_store  # the CLI reaches the node over HTTP, whichever store it has

WORKFLOW = [{"nodename": "step", "funcname": "echo", "args": ["hi"], "conditions": {"executortype": "cli"}}]


def workflow_file(tmp_path: Path) -> str:
    path = tmp_path / "workflow.json"
    path.write_text(json.dumps(WORKFLOW))
    return str(path)


def test_cron_add_ls_get_run_remove(node, colony, tmp_path) -> None:
    env = dev_exports(node.url, colony, colony.add_user().prvkey)
    spec = workflow_file(tmp_path)
    added = json.loads(ok(env, "cron", "add", "--name", "nightly", "--spec", spec, "--interval", "3600", "--waitprev", "--json").stdout)
    assert added["name"] == "nightly" and added["interval"] == 3600 and added["waitforprevprocessgraph"] is True
    wire = Colonies("127.0.0.1", node.port).get_cron(added["cronid"], env["COLONIES_PRVKEY"])
    assert shape(added) == shape(wire)
    listing = ok(env, "cron", "ls").stdout
    assert "nightly" in listing and "every 3600 s" in listing and added["cronid"][:12] in listing
    assert "waits for the previous run" in ok(env, "cron", "get", added["cronid"]).stdout
    assert "started" in ok(env, "cron", "run", added["cronid"]).stdout
    graphs = json.loads(ok(env, "workflow", "psw", "--json").stdout)
    assert len(graphs) == 1
    assert "removed" in ok(env, "cron", "remove", added["cronid"]).stdout
    assert ok(env, "cron", "ls", "--json").stdout.strip() == "[]"


def test_cron_needs_exactly_one_schedule_and_a_known_id(node, colony, tmp_path) -> None:
    env = dev_exports(node.url, colony, colony.add_user().prvkey)
    spec = workflow_file(tmp_path)
    assert "either --cron" in refused(env, "cron", "add", "--name", "x", "--spec", spec).stderr
    assert "either --cron" in refused(env, "cron", "add", "--name", "x", "--spec", spec, "--cron", "* * * * * *", "--interval", "5").stderr
    assert refused(env, "cron", "get", "0" * 64).stderr.startswith("error: 404")


def test_cron_as_a_subprocess(node, colony, tmp_path) -> None:
    env = dev_exports(node.url, colony, colony.add_user().prvkey)
    cron = run(env, "cron", "add", "--name", "sub", "--spec", workflow_file(tmp_path), "--cron", "0 0 * * * *", "--json")
    assert cron.returncode == 0, cron.stderr
    assert json.loads(cron.stdout)["cronexpression"] == "0 0 * * * *"
    listed = run(env, "cron", "ls", "--json")
    assert [c["name"] for c in json.loads(listed.stdout)] == ["sub"]
