"""Process and executor logs through pycolonies (spec §2.8, §4.11)."""
from __future__ import annotations

import time

import pytest
from crypto import Crypto
from pycolonies import ColoniesConnectionError, func_spec

from tests.support.rpc import call


def running_process(client, colony, executor):
    process = client.submit_func_spec(func_spec("logger", [], colony.name, "test"), executor.prvkey)
    assert client.assign(colony.name, 5, executor.prvkey).processid == process.processid
    return process


def test_process_logs_come_back_in_order(client, colony, executor):
    process = running_process(client, colony, executor)
    before = time.time_ns()
    for line in ("first\n", "second\n", "third\n"):
        assert client.add_log(process.processid, line, executor.prvkey) == {}
    logs = client.get_process_log(colony.name, process.processid, 100, -1, executor.prvkey)
    assert [entry["message"] for entry in logs] == ["first\n", "second\n", "third\n"]
    for entry in logs:
        assert entry["processid"] == process.processid
        assert entry["colonyname"] == colony.name
        assert entry["executorname"] == executor.name
        assert entry["timestamp"] >= before
    assert [e["timestamp"] for e in logs] == sorted(e["timestamp"] for e in logs)


def test_process_log_count_limits_the_reply(client, colony, executor):
    process = running_process(client, colony, executor)
    for i in range(5):
        client.add_log(process.processid, f"line {i}", executor.prvkey)
    logs = client.get_process_log(colony.name, process.processid, 2, -1, executor.prvkey)
    assert [e["message"] for e in logs] == ["line 0", "line 1"]


def test_process_log_since_returns_only_newer_entries(client, colony, executor):
    process = running_process(client, colony, executor)
    client.add_log(process.processid, "old", executor.prvkey)
    (old,) = client.get_process_log(colony.name, process.processid, 10, -1, executor.prvkey)
    client.add_log(process.processid, "new", executor.prvkey)
    newer = client.get_process_log(colony.name, process.processid, 10, old["timestamp"], executor.prvkey)
    assert [e["message"] for e in newer] == ["new"]


def test_logs_of_a_process_are_readable_by_another_member(client, colony, executor):
    reader = colony.add_user()
    process = running_process(client, colony, executor)
    client.add_log(process.processid, "visible", executor.prvkey)
    logs = client.get_process_log(colony.name, process.processid, 10, -1, reader.prvkey)
    assert [e["message"] for e in logs] == ["visible"]


def test_process_without_logs_has_an_empty_log(client, colony, executor):
    process = running_process(client, colony, executor)
    assert client.get_process_log(colony.name, process.processid, 10, -1, executor.prvkey) == []


def test_executor_log_lists_the_executors_process_logs(client, colony, executor):
    process = running_process(client, colony, executor)
    client.add_log(process.processid, "from process", executor.prvkey)
    call(
        colony.url,
        {"msgtype": "addexecutorlogmsg", "colonyname": colony.name, "executorname": executor.name, "message": "from executor"},
        executor.prvkey,
    )
    logs = client.get_executor_log(colony.name, executor.name, 10, -1, executor.prvkey)
    assert [e["message"] for e in logs] == ["from process", "from executor"]
    assert all(e["executorname"] == executor.name for e in logs)


def test_log_by_an_executor_not_assigned_is_refused(client, colony, executor):
    other = colony.add_executor()
    process = running_process(client, colony, executor)
    with pytest.raises(ColoniesConnectionError, match="Access denied"):
        client.add_log(process.processid, "intruder", other.prvkey)
    assert client.get_process_log(colony.name, process.processid, 10, -1, executor.prvkey) == []


def test_log_on_a_closed_process_is_refused(client, colony, executor):
    process = running_process(client, colony, executor)
    client.close(process.processid, [], executor.prvkey)
    with pytest.raises(ColoniesConnectionError, match="not running"):
        client.add_log(process.processid, "too late", executor.prvkey)


def test_reading_logs_as_non_member_is_refused(client, colony, executor):
    process = running_process(client, colony, executor)
    with pytest.raises(ColoniesConnectionError, match="not a member"):
        client.get_process_log(colony.name, process.processid, 10, -1, Crypto().prvkey())


def test_log_count_above_500_is_refused(client, colony, executor):
    process = running_process(client, colony, executor)
    with pytest.raises(ColoniesConnectionError, match="count"):
        client.get_process_log(colony.name, process.processid, 501, -1, executor.prvkey)
