"""`colonies attribute` against a real node, with the dev exports set."""
from __future__ import annotations

import json

import pytest

from colonies.client import Client, func_spec
from tests.support.cli import dev_exports, ok, refused, run

pytestmark = pytest.mark.one_store  # the CLI reaches the node over HTTP, whichever store it has


def test_the_running_executor_adds_an_attribute_a_member_reads(node, colony):
    worker = colony.add_executor(executortype="A")
    user = colony.add_user()
    with Client(node.url, user.prvkey) as client:
        processid = client.submit(func_spec("f", colony.name, "A")).processid
    as_worker = dev_exports(node.url, colony, worker.prvkey)
    ok(as_worker, "process", "assign")
    added = json.loads(ok(as_worker, "attribute", "add", processid, "--key", "result", "--value", "42", "--json").stdout)
    assert added["targetid"] == processid and added["key"] == "result" and added["value"] == "42"
    as_user = dev_exports(node.url, colony, user.prvkey)
    shown = json.loads(ok(as_user, "attribute", "get", added["attributeid"], "--json").stdout)
    assert shown == added
    assert "result" in ok(as_user, "attribute", "get", added["attributeid"]).stdout
    assert refused(as_user, "attribute", "add", processid, "--key", "k", "--value", "v").stderr.startswith("error: 403")
    done = run(as_user, "attribute", "get", added["attributeid"], "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["value"] == "42"
