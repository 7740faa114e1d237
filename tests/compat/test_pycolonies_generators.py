"""Generators through the unmodified pycolonies 1.0.25 SDK (spec §2.10, §2.15). pycolonies has no
pack call: packing goes through the plain wire client."""
from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
from crypto import Crypto
from model import Workflow
from pycolonies import ColoniesConnectionError, func_spec

from tests.support.nodes import RunningNode, start_node
from tests.support.rpc import call

ZERO_TIME = "0001-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = start_node(tmp_path_factory.mktemp("pycolonies-generators"), generator_checker_period=0.2)
    yield running
    running.stop()


def generator(colonyname: str, name: str = "gen", trigger: int = 2, timeout: int = -1) -> dict[str, Any]:
    workflow = Workflow(colonyname=colonyname, functionspecs=[func_spec("batch", ["placeholder"], colonyname, "test")])
    return {
        "colonyname": colonyname,
        "name": name,
        "workflowspec": json.dumps(workflow.model_dump(by_alias=True)),
        "trigger": trigger,
        "timeout": timeout,
    }


def test_add_generator_returns_it(client, colony, executor):
    added = client.add_generator(generator(colony.name), executor.prvkey)
    assert len(added["generatorid"]) == 64
    assert added["name"] == "gen" and added["colonyname"] == colony.name
    assert added["trigger"] == 2 and added["timeout"] == -1
    assert added["initiatorid"] == executor.id and added["initiatorname"] == executor.name
    assert added["firstpack"] == ZERO_TIME and added["lastrun"] == ZERO_TIME


def test_add_generator_with_trigger_zero_raises(client, colony, executor):
    with pytest.raises(ColoniesConnectionError):
        client.add_generator(generator(colony.name, trigger=0), executor.prvkey)


def test_get_generator_and_get_generators(client, colony, executor):
    assert client.get_generators(colony.name, executor.prvkey) == []
    added = client.add_generator(generator(colony.name), executor.prvkey)
    got = client.get_generator(added["generatorid"], executor.prvkey)
    assert got["generatorid"] == added["generatorid"]
    assert got["queuesize"] == 0 and got["checkerperiod"] == 200
    listed = client.get_generators(colony.name, executor.prvkey, count=10)
    assert [g["generatorid"] for g in listed] == [added["generatorid"]]


def test_remove_generator(client, colony, executor):
    added = client.add_generator(generator(colony.name), executor.prvkey)
    client.remove_generator(added["generatorid"], executor.prvkey)
    assert client.get_generators(colony.name, executor.prvkey) == []
    with pytest.raises(ColoniesConnectionError):
        client.get_generator(added["generatorid"], executor.prvkey)


def test_generator_messages_by_a_stranger_raise(client, colony, executor):
    added = client.add_generator(generator(colony.name), executor.prvkey)
    stranger = Crypto().prvkey()
    for attempt in (
        lambda: client.add_generator(generator(colony.name, name="other"), stranger),
        lambda: client.get_generator(added["generatorid"], stranger),
        lambda: client.get_generators(colony.name, stranger),
        lambda: client.remove_generator(added["generatorid"], stranger),
    ):
        with pytest.raises(ColoniesConnectionError):
            attempt()
    assert client.get_generator(added["generatorid"], executor.prvkey)["generatorid"] == added["generatorid"]


def test_generator_added_by_pycolonies_fires_with_packed_args_in_order(client, colony, executor):
    added = client.add_generator(generator(colony.name), executor.prvkey)
    for arg in ("one", "two", "three", "four"):
        call(colony.url, {"msgtype": "packgeneratormsg", "generatorid": added["generatorid"], "arg": arg}, executor.prvkey)
    first = client.assign(colony.name, 5, executor.prvkey)
    second = client.assign(colony.name, 5, executor.prvkey)
    assert first.spec.args == ["one", "two"]
    assert second.spec.args == ["three", "four"]
    assert first.spec.funcname == "batch"
