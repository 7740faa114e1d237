"""The process life cycle through pycolonies: submit, assign, close, fail, output, list, remove, stats."""
from __future__ import annotations

import time

import pytest
from crypto import Crypto
from model import Conditions, FuncSpec
from pycolonies import Colonies, ColoniesConnectionError, func_spec

WAITING, RUNNING, SUCCESS, FAILED = Colonies.WAITING, Colonies.RUNNING, Colonies.SUCCESSFUL, Colonies.FAILED


def submit(client, colony, prvkey, funcname="echo", args=None, **kwargs):
    spec = func_spec(funcname, args if args is not None else [], colony.name, "test", **kwargs)
    return client.submit_func_spec(spec, prvkey)


# --- submit ---------------------------------------------------------------------------------
def test_submitted_func_spec_becomes_a_waiting_process_with_the_spec(client, colony, executor):
    process = submit(client, colony, executor.prvkey, "echo", ["hello", 42], kwargs={"k": "v"})
    assert process.state == WAITING
    assert len(process.processid) == 64
    assert process.isassigned is False
    assert process.initiatorid == executor.id
    assert process.initiatorname == executor.name
    assert process.spec.funcname == "echo"
    assert process.spec.args == ["hello", 42]
    assert process.spec.kwargs == {"k": "v"}
    assert process.spec.priority == 1
    assert process.spec.maxexectime == -1
    assert process.spec.maxwaittime == -1
    assert process.spec.maxretries == -1
    assert process.spec.conditions.colonyname == colony.name
    assert process.spec.conditions.executortype == "test"


def test_submitted_process_can_be_fetched_by_id(client, colony, executor):
    process = submit(client, colony, executor.prvkey)
    got = client.get_process(process.processid, executor.prvkey)
    assert got.processid == process.processid
    assert got.state == WAITING
    assert got.spec.funcname == process.spec.funcname


def test_func_spec_with_code_stores_env_as_attributes(client, colony, executor):
    process = submit(client, colony, executor.prvkey, code="print('hi')")
    assert "code" in process.spec.env
    got = client.get_process(process.processid, executor.prvkey)
    assert {a.key for a in got.attributes} == {"code"}
    assert got.spec.env == process.spec.env


def test_plain_funcspec_with_pydantic_defaults_is_accepted(client, colony, executor):
    spec = FuncSpec(funcname="defaults", conditions=Conditions(colonyname=colony.name, executortype="test"))
    process = client.submit_func_spec(spec, executor.prvkey)
    assert process.state == WAITING
    assert process.spec.maxexectime == 0
    assert process.spec.maxwaittime == 0
    assert process.spec.maxretries == 0
    assert process.spec.priority == 0


def test_maxexectime_zero_means_unlimited_so_process_keeps_running(client, colony, executor):
    spec = FuncSpec(funcname="longrun", conditions=Conditions(colonyname=colony.name, executortype="test"))
    process = client.submit_func_spec(spec, executor.prvkey)
    assigned = client.assign(colony.name, 5, executor.prvkey)
    assert assigned.processid == process.processid
    time.sleep(2.0)  # the node checks deadlines every 0.2 s in tests
    got = client.get_process(process.processid, executor.prvkey)
    assert got.state == RUNNING
    assert got.assignedexecutorid == executor.id
    assert got.retries == 0
    client.close(process.processid, [], executor.prvkey)
    assert client.get_process(process.processid, executor.prvkey).state == SUCCESS


def test_maxwaittime_zero_means_unlimited_so_process_keeps_waiting(client, colony, executor):
    spec = FuncSpec(funcname="patient", conditions=Conditions(colonyname=colony.name, executortype="nobody-home"))
    process = client.submit_func_spec(spec, executor.prvkey)
    time.sleep(1.0)
    assert client.get_process(process.processid, executor.prvkey).state == WAITING


def test_non_member_cannot_submit(client, colony):
    stranger = Crypto().prvkey()
    with pytest.raises(ColoniesConnectionError, match="not a member"):
        client.submit_func_spec(func_spec("f", [], colony.name, "test"), stranger)


def test_colony_owner_is_not_a_member_and_cannot_submit(client, colony):
    with pytest.raises(ColoniesConnectionError, match="not a member"):
        client.submit_func_spec(func_spec("f", [], colony.name, "test"), colony.owner_prvkey)


def test_submit_with_priority_out_of_range_is_refused(client, colony, executor):
    with pytest.raises(ColoniesConnectionError, match="priority"):
        client.submit_func_spec(func_spec("f", [], colony.name, "test", priority=50_001), executor.prvkey)


# --- assign ---------------------------------------------------------------------------------
def test_assign_hands_out_the_waiting_process_as_running(client, colony, executor):
    process = submit(client, colony, executor.prvkey)
    assigned = client.assign(colony.name, 5, executor.prvkey)
    assert assigned.processid == process.processid
    assert assigned.state == RUNNING
    assert assigned.isassigned is True
    assert assigned.assignedexecutorid == executor.id
    assert assigned.starttime > assigned.submissiontime


def test_assign_without_work_fails_with_no_process_available(client, colony, executor):
    started = time.monotonic()
    with pytest.raises(ColoniesConnectionError, match="No process available"):
        client.assign(colony.name, 1, executor.prvkey)
    assert time.monotonic() - started >= 0.9


def test_assign_skips_processes_for_another_executor_type(client, colony, executor):
    client.submit_func_spec(func_spec("f", [], colony.name, "other-type"), executor.prvkey)
    with pytest.raises(ColoniesConnectionError, match="No process available"):
        client.assign(colony.name, -1, executor.prvkey)


def test_assign_gives_higher_priority_first_then_fifo(client, colony, executor):
    low = client.submit_func_spec(func_spec("low", [], colony.name, "test", priority=0), executor.prvkey)
    first_high = client.submit_func_spec(func_spec("high1", [], colony.name, "test", priority=5), executor.prvkey)
    second_high = client.submit_func_spec(func_spec("high2", [], colony.name, "test", priority=5), executor.prvkey)
    order = [client.assign(colony.name, 5, executor.prvkey).processid for _ in range(3)]
    assert order == [first_high.processid, second_high.processid, low.processid]


def test_process_targeted_by_executor_name_goes_only_to_that_executor(client, colony, executor):
    target = colony.add_executor()
    process = client.submit_func_spec(func_spec("f", [], colony.name, "test", executorname=target.name), executor.prvkey)
    with pytest.raises(ColoniesConnectionError, match="No process available"):
        client.assign(colony.name, -1, executor.prvkey)
    assert client.assign(colony.name, 5, target.prvkey).processid == process.processid


def test_executor_name_targeting_is_case_sensitive(client, colony, executor):
    lower = colony.add_executor(name=f"{executor.name}-target")
    upper = colony.add_executor(name=lower.name.upper())
    process = client.submit_func_spec(func_spec("f", [], colony.name, "test", executorname=lower.name), executor.prvkey)
    with pytest.raises(ColoniesConnectionError, match="No process available"):
        client.assign(colony.name, -1, upper.prvkey)
    assert client.assign(colony.name, 5, lower.prvkey).processid == process.processid


def test_assign_long_poll_returns_when_a_process_is_submitted(client, colony, executor):
    import threading

    submitter = colony.add_user()

    def submit_later() -> None:
        time.sleep(0.5)
        submit(client, colony, submitter.prvkey, "late")

    thread = threading.Thread(target=submit_later)
    thread.start()
    try:
        assigned = client.assign(colony.name, 10, executor.prvkey)
    finally:
        thread.join()
    assert assigned.spec.funcname == "late"
    assert assigned.initiatorname == submitter.name


# --- close / fail / output ------------------------------------------------------------------
def test_close_marks_successful_with_the_output(client, colony, executor):
    process = submit(client, colony, executor.prvkey)
    client.assign(colony.name, 5, executor.prvkey)
    assert client.close(process.processid, ["result", 7], executor.prvkey) == {}
    got = client.get_process(process.processid, executor.prvkey)
    assert got.state == SUCCESS
    assert got.output == ["result", 7]
    assert got.endtime >= got.starttime


def test_fail_marks_failed_with_the_errors(client, colony, executor):
    process = submit(client, colony, executor.prvkey)
    client.assign(colony.name, 5, executor.prvkey)
    assert client.fail(process.processid, ["boom", "again"], executor.prvkey) == {}
    got = client.get_process(process.processid, executor.prvkey)
    assert got.state == FAILED
    assert got.errors == ["boom", "again"]


def test_set_output_on_a_running_process_is_visible_before_close(client, colony, executor):
    process = submit(client, colony, executor.prvkey)
    client.assign(colony.name, 5, executor.prvkey)
    assert client.set_output(process.processid, ["partial", 1.5], executor.prvkey) == {}
    got = client.get_process(process.processid, executor.prvkey)
    assert got.state == RUNNING
    assert got.output == ["partial", 1.5]


def test_closing_a_process_assigned_to_another_executor_is_refused(client, colony, executor):
    other = colony.add_executor()
    process = submit(client, colony, executor.prvkey)
    client.assign(colony.name, 5, executor.prvkey)
    with pytest.raises(ColoniesConnectionError, match="not assigned"):
        client.close(process.processid, [], other.prvkey)
    with pytest.raises(ColoniesConnectionError, match="not assigned"):
        client.fail(process.processid, ["x"], other.prvkey)
    with pytest.raises(ColoniesConnectionError, match="not assigned"):
        client.set_output(process.processid, ["x"], other.prvkey)
    assert client.get_process(process.processid, executor.prvkey).state == RUNNING


def test_closing_a_waiting_process_is_refused(client, colony, executor):
    process = submit(client, colony, executor.prvkey)
    with pytest.raises(ColoniesConnectionError):
        client.close(process.processid, [], executor.prvkey)
    assert client.get_process(process.processid, executor.prvkey).state == WAITING


def test_closing_twice_is_refused_and_keeps_the_first_result(client, colony, executor):
    process = submit(client, colony, executor.prvkey)
    client.assign(colony.name, 5, executor.prvkey)
    client.close(process.processid, ["first"], executor.prvkey)
    with pytest.raises(ColoniesConnectionError):
        client.fail(process.processid, ["late"], executor.prvkey)
    got = client.get_process(process.processid, executor.prvkey)
    assert got.state == SUCCESS
    assert got.output == ["first"]
    assert got.errors == []


def test_get_process_of_unknown_id_fails_with_not_found(client, colony, executor):
    with pytest.raises(ColoniesConnectionError, match="not found"):
        client.get_process("0" * 64, executor.prvkey)


def test_get_process_by_non_member_is_refused(client, colony, executor):
    process = submit(client, colony, executor.prvkey)
    with pytest.raises(ColoniesConnectionError, match="not a member"):
        client.get_process(process.processid, Crypto().prvkey())


# --- list / stats / remove ------------------------------------------------------------------
def make_one_of_each_state(client, colony, executor) -> dict[int, set[str]]:
    """Two waiting, one running, one successful, one failed process."""
    ids: dict[int, set[str]] = {WAITING: set(), RUNNING: set(), SUCCESS: set(), FAILED: set()}
    done = submit(client, colony, executor.prvkey, "a")
    failed = submit(client, colony, executor.prvkey, "b")
    running = submit(client, colony, executor.prvkey, "c")
    for _ in range(3):
        client.assign(colony.name, 5, executor.prvkey)
    client.close(done.processid, [], executor.prvkey)
    client.fail(failed.processid, ["x"], executor.prvkey)
    waiting = [submit(client, colony, executor.prvkey, "d") for _ in range(2)]
    ids[SUCCESS].add(done.processid)
    ids[FAILED].add(failed.processid)
    ids[RUNNING].add(running.processid)
    ids[WAITING].update(p.processid for p in waiting)
    return ids


def test_list_processes_filters_by_state(client, colony, executor):
    ids = make_one_of_each_state(client, colony, executor)
    for state, expected in ids.items():
        listed = client.list_processes(colony.name, 100, state, executor.prvkey)
        assert {p["processid"] for p in listed} == expected
        assert all(p["state"] == state for p in listed)


def test_list_processes_honours_count(client, colony, executor):
    for _ in range(5):
        submit(client, colony, executor.prvkey)
    assert len(client.list_processes(colony.name, 3, WAITING, executor.prvkey)) == 3


def test_list_processes_of_empty_colony_is_an_empty_list(client, colony, executor):
    assert client.list_processes(colony.name, 10, WAITING, executor.prvkey) == []


def test_list_processes_counts_equal_colony_stats(client, colony, executor):
    make_one_of_each_state(client, colony, executor)
    stats = client.stats(colony.name, executor.prvkey)
    counted = {state: len(client.list_processes(colony.name, 100, state, executor.prvkey)) for state in (WAITING, RUNNING, SUCCESS, FAILED)}
    assert counted == {WAITING: 2, RUNNING: 1, SUCCESS: 1, FAILED: 1}
    assert stats["waitingprocesses"] == counted[WAITING]
    assert stats["runningprocesses"] == counted[RUNNING]
    assert stats["successfulprocesses"] == counted[SUCCESS]
    assert stats["failedprocesses"] == counted[FAILED]
    assert stats["colonies"] == 1
    assert stats["executors"] == 1
    assert stats["activeexecutors"] == 1


def test_list_processes_by_non_member_is_refused(client, colony, executor):
    with pytest.raises(ColoniesConnectionError, match="not a member"):
        client.list_processes(colony.name, 10, WAITING, Crypto().prvkey())


def test_removed_process_is_gone(client, colony, executor):
    process = submit(client, colony, executor.prvkey)
    assert client.remove_process(process.processid, executor.prvkey) == {}
    with pytest.raises(ColoniesConnectionError, match="not found"):
        client.get_process(process.processid, executor.prvkey)
    assert client.list_processes(colony.name, 10, WAITING, executor.prvkey) == []


def test_running_process_cannot_be_removed(client, colony, executor):
    process = submit(client, colony, executor.prvkey)
    client.assign(colony.name, 5, executor.prvkey)
    with pytest.raises(ColoniesConnectionError, match="running"):
        client.remove_process(process.processid, executor.prvkey)
    assert client.get_process(process.processid, executor.prvkey).state == RUNNING


def test_remove_all_processes_by_colony_owner_keeps_running_ones(client, colony, executor):
    ids = make_one_of_each_state(client, colony, executor)
    assert client.remove_all_processes(colony.name, colony.owner_prvkey) == {}
    stats = client.stats(colony.name, executor.prvkey)
    assert stats["waitingprocesses"] == 0
    assert stats["successfulprocesses"] == 0
    assert stats["failedprocesses"] == 0
    assert stats["runningprocesses"] == 1
    (running,) = ids[RUNNING]
    assert client.get_process(running, executor.prvkey).state == RUNNING


def test_remove_all_processes_with_a_state_removes_only_that_state(client, colony, executor):
    ids = make_one_of_each_state(client, colony, executor)
    client.remove_all_processes(colony.name, colony.owner_prvkey, state=WAITING)
    assert client.list_processes(colony.name, 100, WAITING, executor.prvkey) == []
    assert {p["processid"] for p in client.list_processes(colony.name, 100, SUCCESS, executor.prvkey)} == ids[SUCCESS]
    assert {p["processid"] for p in client.list_processes(colony.name, 100, FAILED, executor.prvkey)} == ids[FAILED]


def test_remove_all_processes_by_a_member_is_refused(client, colony, executor):
    submit(client, colony, executor.prvkey)
    with pytest.raises(ColoniesConnectionError, match="Access denied"):
        client.remove_all_processes(colony.name, executor.prvkey)
    assert len(client.list_processes(colony.name, 10, WAITING, executor.prvkey)) == 1


# --- how errors reach pycolonies ------------------------------------------------------------
def test_errors_reach_pycolonies_as_connection_errors_with_the_servers_exact_message(client, colony, executor):
    from colonies import wire
    from tests.support.rpc import post_raw

    stranger = Crypto().prvkey()
    spec = func_spec("f", [], colony.name, "test")
    status, envelope = post_raw(colony.url, wire.build_request({"msgtype": "submitfuncspecmsg", "spec": spec.model_dump(by_alias=True)}, stranger))
    assert status == 403
    with pytest.raises(ColoniesConnectionError) as err:
        client.submit_func_spec(spec, stranger)
    assert type(err.value) is ColoniesConnectionError
    assert str(err.value) == envelope["payload"]["message"]


def test_close_by_another_executor_reaches_pycolonies_with_the_servers_message(client, colony, executor):
    other = colony.add_executor()
    process = submit(client, colony, executor.prvkey)
    client.assign(colony.name, 5, executor.prvkey)
    with pytest.raises(ColoniesConnectionError) as err:
        client.close(process.processid, [], other.prvkey)
    assert "Access denied" in str(err.value)
    assert "not assigned" in str(err.value)
