"""Limits checked at write time (node/bounds.py): names, attributes per process, values, outputs
and channel bytes per process; each refusal is a 4xx naming its config key."""
from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator

import pytest

from colonies import crypto, dev
from tests.conftest import ColonyFixture
from tests.integration.test_bad_input import process_spec
from tests.integration.test_channels import Chat, assign, submit
from tests.support.nodes import RunningNode, start_node
from tests.support.rpc import RPCFailure, call

LIMITS = dict(max_name_length=64, max_value_bytes=1000, max_attributes=3, max_output_bytes=2000, max_channel_bytes=1000)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = start_node(tmp_path_factory.mktemp("limits"), **LIMITS)
    yield running
    running.stop()


@pytest.fixture
def colony(limited: RunningNode) -> ColonyFixture:
    owner = crypto.generate_private_key()
    colonyid = crypto.id_from_private_key(owner)
    name = f"limits-{secrets.token_hex(4)}"
    call(limited.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": colonyid, "name": name}}, dev.SERVER_PRVKEY)
    return ColonyFixture(limited.url, name, owner, colonyid)


def refused(status: int, key: str, msg: dict, prvkey: str, url: str) -> str:
    with pytest.raises(RPCFailure) as caught:
        call(url, msg, prvkey)
    assert caught.value.status == status and key in caught.value.message, caught.value
    return caught.value.message


def running_process(colony: ColonyFixture, channels: list[str] | None = None) -> Chat:
    user, executor = colony.add_user(), colony.add_executor()
    processid = submit(colony.url, colony.name, user.prvkey, channels or ["chat"])
    assert assign(colony.url, colony.name, executor.prvkey) == processid
    return Chat(colony.url, processid, user, executor)


@pytest.mark.parametrize("field", ["funcname", "label", "nodename"])
def test_a_long_name_in_a_spec_is_refused_naming_the_limit(colony, field):
    user = colony.add_user()
    spec = process_spec(colony.name, **{field: "n" * 65})
    refused(400, "max_name_length", {"msgtype": "submitfuncspecmsg", "spec": spec}, user.prvkey, colony.url)


def test_a_long_executor_type_in_a_workflow_is_refused(colony):
    user = colony.add_user()
    spec = process_spec(colony.name)
    spec["conditions"]["executortype"] = "t" * 65
    workflow = {"colonyname": colony.name, "functionspecs": [spec]}
    refused(400, "max_name_length", {"msgtype": "submitworkflowspecmsg", "spec": workflow}, user.prvkey, colony.url)


def test_a_submit_with_more_env_entries_than_attributes_allowed_is_refused(colony):
    user = colony.add_user()
    spec = process_spec(colony.name, env={f"k{i}": "v" for i in range(100_000)})
    refused(400, "max_attributes", {"msgtype": "submitfuncspecmsg", "spec": spec}, user.prvkey, colony.url)
    spec = process_spec(colony.name, env={"big": "v" * 1001})
    refused(413, "max_value_bytes", {"msgtype": "submitfuncspecmsg", "spec": spec}, user.prvkey, colony.url)


def _attribute(processid: str, key: str, value: str = "v") -> dict:
    attribute = {"targetid": processid, "attributetype": 1, "key": key, "value": value}
    return {"msgtype": "addattributemsg", "attribute": attribute}


def test_attributes_per_process_are_bounded(colony):
    process = running_process(colony)
    for i in range(3):
        call(colony.url, _attribute(process.processid, f"k{i}"), process.executor.prvkey)
    call(colony.url, _attribute(process.processid, "k0", "again"), process.executor.prvkey)  # replacing one is fine
    refused(400, "max_attributes", _attribute(process.processid, "k3"), process.executor.prvkey, colony.url)
    refused(413, "max_value_bytes", _attribute(process.processid, "k0", "v" * 1001), process.executor.prvkey, colony.url)


def test_an_oversized_output_is_refused_at_write_time(colony):
    process = running_process(colony)
    big = ["o" * 2001]
    executor = process.executor.prvkey
    refused(413, "max_output_bytes", {"msgtype": "setoutputmsg", "processid": process.processid, "out": big}, executor, colony.url)
    refused(413, "max_output_bytes", {"msgtype": "closesuccessfulmsg", "processid": process.processid, "out": big}, executor, colony.url)
    refused(413, "max_output_bytes", {"msgtype": "closefailedmsg", "processid": process.processid, "errors": big}, executor, colony.url)
    call(colony.url, {"msgtype": "closesuccessfulmsg", "processid": process.processid, "out": ["fine"]}, executor)


def _append(process: Chat, sequence: int, size: int) -> dict:
    payload = base64.b64encode(b"\1" * size).decode()
    return {"msgtype": "channelappendmsg", "processid": process.processid, "name": "chat", "sequence": sequence, "payload": payload}


def test_channel_bytes_per_process_are_bounded_across_a_restart(tmp_path):
    running = start_node(tmp_path, **LIMITS)
    try:
        owner = crypto.generate_private_key()
        call(running.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": crypto.id_from_private_key(owner), "name": "quota"}}, dev.SERVER_PRVKEY)
        process = running_process(ColonyFixture(running.url, "quota", owner, crypto.id_from_private_key(owner)))
        call(running.url, _append(process, 1, 600), process.initiator.prvkey)
        refused(413, "max_channel_bytes", _append(process, 2, 600), process.initiator.prvkey, running.url)
    finally:
        running.stop()
    again = start_node(tmp_path, **LIMITS)
    try:
        process = Chat(again.url, process.processid, process.initiator, process.executor)
        refused(413, "max_channel_bytes", _append(process, 2, 600), process.initiator.prvkey, again.url)
        call(again.url, _append(process, 2, 300), process.initiator.prvkey)
    finally:
        again.stop()
