"""Crons through the unmodified pycolonies 1.0.25 SDK (spec §2.10, §2.15)."""
from __future__ import annotations

import json
from typing import Iterator

import pytest
from crypto import Crypto
from model import Workflow
from pycolonies import ColoniesConnectionError, func_spec

from tests.support.nodes import RunningNode, start_node

ZERO_TIME = "0001-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = start_node(tmp_path_factory.mktemp("pycolonies-crons"), cron_checker_period=0.2)
    yield running
    running.stop()


def workflow(colonyname: str) -> Workflow:
    return Workflow(colonyname=colonyname, functionspecs=[func_spec("cronjob", ["x"], colonyname, "test")])


def test_add_cron_returns_the_cron_with_its_workflow(client, colony, executor):
    cron = client.add_cron("nightly", "0 0 3 * * *", False, workflow(colony.name), colony.name, executor.prvkey)
    assert len(cron["cronid"]) == 64
    assert cron["name"] == "nightly" and cron["colonyname"] == colony.name
    assert cron["cronexpression"] == "0 0 3 * * *" and cron["interval"] == -1
    assert cron["initiatorid"] == executor.id and cron["initiatorname"] == executor.name
    assert json.loads(cron["workflowspec"])["functionspecs"][0]["funcname"] == "cronjob"
    assert cron["lastrun"] == ZERO_TIME and cron["prevprocessgraphid"] == ""


def test_add_cron_wait_flag_is_honoured_despite_the_misspelt_key(client, colony, executor):
    cron = client.add_cron("serial", "0 0 3 * * *", True, workflow(colony.name), colony.name, executor.prvkey)
    assert cron["waitforprevprocessgraph"] is True
    assert client.get_cron(cron["cronid"], executor.prvkey)["waitforprevprocessgraph"] is True


def test_add_cron_with_a_bad_expression_raises(client, colony, executor):
    with pytest.raises(ColoniesConnectionError):
        client.add_cron("bad", "* * * * *", False, workflow(colony.name), colony.name, executor.prvkey)


def test_get_cron_and_get_crons(client, colony, executor):
    assert client.get_crons(colony.name, 10, executor.prvkey) == []
    cron = client.add_cron("one", "0 0 3 * * *", False, workflow(colony.name), colony.name, executor.prvkey)
    got = client.get_cron(cron["cronid"], executor.prvkey)
    assert got["cronid"] == cron["cronid"] and got["checkerperiod"] == 200
    assert [c["cronid"] for c in client.get_crons(colony.name, 10, executor.prvkey)] == [cron["cronid"]]


def test_del_cron_removes_it(client, colony, executor):
    cron = client.add_cron("doomed", "0 0 3 * * *", False, workflow(colony.name), colony.name, executor.prvkey)
    client.del_cron(cron["cronid"], executor.prvkey)
    assert client.get_crons(colony.name, 10, executor.prvkey) == []
    with pytest.raises(ColoniesConnectionError):
        client.get_cron(cron["cronid"], executor.prvkey)


def test_run_cron_starts_the_workflow_for_an_executor(client, colony, executor):
    cron = client.add_cron("manual", "0 0 3 * * *", False, workflow(colony.name), colony.name, executor.prvkey)
    ran = client.run_cron(cron["cronid"], executor.prvkey)
    assert ran["prevprocessgraphid"] and ran["lastrun"] != ZERO_TIME
    process = client.assign(colony.name, 5, executor.prvkey)
    assert process.spec.funcname == "cronjob"
    assert process.processgraphid == ran["prevprocessgraphid"]
    client.close(process.processid, ["ok"], executor.prvkey)


def test_run_cron_by_a_stranger_raises_and_runs_nothing(client, colony, executor):
    cron = client.add_cron("guarded", "0 0 3 * * *", False, workflow(colony.name), colony.name, executor.prvkey)
    stranger = Crypto().prvkey()
    with pytest.raises(ColoniesConnectionError):
        client.run_cron(cron["cronid"], stranger)
    assert client.get_cron(cron["cronid"], executor.prvkey)["lastrun"] == ZERO_TIME
    assert client.list_processes(colony.name, 10, 0, executor.prvkey) == []


def test_cron_added_by_pycolonies_fires_on_its_expression(client, colony, executor):
    cron = client.add_cron("every-second", "* * * * * *", True, workflow(colony.name), colony.name, executor.prvkey)
    process = client.assign(colony.name, 5, executor.prvkey)  # a 404 would mean it never fired
    assert process.spec.funcname == "cronjob"
    client.del_cron(cron["cronid"], executor.prvkey)
