"""Attributes and the function registry through pycolonies (spec §2.5, §2.8, §3.4)."""
from __future__ import annotations

import hashlib

import pytest
from crypto import Crypto
from pycolonies import ColoniesConnectionError, func_spec

OUT = 1


def running_process(client, colony, executor, funcname="work"):
    process = client.submit_func_spec(func_spec(funcname, [], colony.name, "test"), executor.prvkey)
    assigned = client.assign(colony.name, 5, executor.prvkey)
    assert assigned.processid == process.processid
    return process


# --- attributes -----------------------------------------------------------------------------
def test_assigned_executor_adds_an_attribute_and_gets_it_back(client, colony, executor):
    process = running_process(client, colony, executor)
    added = client.add_attribute(process.processid, "progress", "50%", executor.prvkey)
    assert added["key"] == "progress"
    assert added["value"] == "50%"
    assert added["targetid"] == process.processid
    assert added["targetcolonyname"] == colony.name
    assert added["attributetype"] == OUT
    expected_id = hashlib.sha3_256(f"{process.processid}progress{OUT}".encode()).hexdigest()
    assert added["attributeid"] == expected_id

    got = client.get_attribute(added["attributeid"], executor.prvkey)
    assert got == added


def test_added_attribute_shows_on_the_process(client, colony, executor):
    process = running_process(client, colony, executor)
    client.add_attribute(process.processid, "note", "hello", executor.prvkey)
    got = client.get_process(process.processid, executor.prvkey)
    assert [(a.key, a.value, a.attributetype) for a in got.attributes] == [("note", "hello", OUT)]


def test_attribute_can_be_read_by_another_member(client, colony, executor):
    reader = colony.add_user()
    process = running_process(client, colony, executor)
    added = client.add_attribute(process.processid, "k", "v", executor.prvkey)
    assert client.get_attribute(added["attributeid"], reader.prvkey)["value"] == "v"


def test_attribute_by_an_executor_not_assigned_is_refused(client, colony, executor):
    other = colony.add_executor()
    process = running_process(client, colony, executor)
    with pytest.raises(ColoniesConnectionError, match="Access denied"):
        client.add_attribute(process.processid, "k", "v", other.prvkey)


def test_attribute_on_a_waiting_process_is_refused(client, colony, executor):
    process = client.submit_func_spec(func_spec("f", [], colony.name, "test"), executor.prvkey)
    with pytest.raises(ColoniesConnectionError):
        client.add_attribute(process.processid, "k", "v", executor.prvkey)


def test_get_attribute_by_non_member_is_refused(client, colony, executor):
    process = running_process(client, colony, executor)
    added = client.add_attribute(process.processid, "k", "v", executor.prvkey)
    with pytest.raises(ColoniesConnectionError, match="not a member"):
        client.get_attribute(added["attributeid"], Crypto().prvkey())


def test_get_unknown_attribute_fails_with_not_found(client, colony, executor):
    with pytest.raises(ColoniesConnectionError, match="not found"):
        client.get_attribute("1" * 64, executor.prvkey)


# --- functions ------------------------------------------------------------------------------
def test_executor_registers_a_function(client, colony, executor):
    added = client.add_function(colony.name, executor.name, "sum", executor.prvkey)
    assert added["funcname"] == "sum"
    assert added["executorname"] == executor.name
    assert added["executortype"] == "test"
    assert added["colonyname"] == colony.name
    assert len(added["functionid"]) == 64
    assert added["counter"] == 0


def test_functions_are_listed_by_executor_and_by_colony(client, colony, executor):
    other = colony.add_executor()
    client.add_function(colony.name, executor.name, "sum", executor.prvkey)
    client.add_function(colony.name, executor.name, "mul", executor.prvkey)
    client.add_function(colony.name, other.name, "div", other.prvkey)

    mine = client.get_functions_by_executor(colony.name, executor.name, executor.prvkey)
    assert sorted(f["funcname"] for f in mine) == ["mul", "sum"]
    assert all(f["executorname"] == executor.name for f in mine)

    everything = client.get_functions_by_colony(colony.name, other.prvkey)
    assert sorted((f["executorname"], f["funcname"]) for f in everything) == sorted(
        [(executor.name, "sum"), (executor.name, "mul"), (other.name, "div")]
    )


def test_function_counter_counts_successful_closes(client, colony, executor):
    client.add_function(colony.name, executor.name, "counted", executor.prvkey)
    process = running_process(client, colony, executor, funcname="counted")
    client.close(process.processid, [], executor.prvkey)
    (fun,) = client.get_functions_by_executor(colony.name, executor.name, executor.prvkey)
    assert fun["funcname"] == "counted"
    assert fun["counter"] == 1
    assert fun["minexectime"] >= 0
    assert fun["maxexectime"] >= fun["minexectime"]


def test_function_counter_ignores_failed_processes(client, colony, executor):
    client.add_function(colony.name, executor.name, "flaky", executor.prvkey)
    process = running_process(client, colony, executor, funcname="flaky")
    client.fail(process.processid, ["nope"], executor.prvkey)
    (fun,) = client.get_functions_by_executor(colony.name, executor.name, executor.prvkey)
    assert fun["counter"] == 0


def test_executor_cannot_register_a_function_for_another_executor(client, colony, executor):
    other = colony.add_executor()
    with pytest.raises(ColoniesConnectionError, match="Access denied"):
        client.add_function(colony.name, other.name, "sum", executor.prvkey)
    assert client.get_functions_by_colony(colony.name, executor.prvkey) == []


def test_registering_the_same_function_twice_is_refused(client, colony, executor):
    client.add_function(colony.name, executor.name, "once", executor.prvkey)
    with pytest.raises(ColoniesConnectionError, match="already registered"):
        client.add_function(colony.name, executor.name, "once", executor.prvkey)


def test_non_member_cannot_list_functions(client, colony, executor):
    client.add_function(colony.name, executor.name, "sum", executor.prvkey)
    with pytest.raises(ColoniesConnectionError, match="not a member"):
        client.get_functions_by_colony(colony.name, Crypto().prvkey())
