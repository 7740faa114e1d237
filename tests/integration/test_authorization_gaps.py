"""The authorization gaps of issue 12 on a real node: logs of removed processes stay in their
colony (item 5), a rejected executor loses what it ran (item 7), only the server owner learns
that a colony does not exist (item 8; that outsiders cannot tell is checked for every msgtype in
test_authorization_matrix.py)."""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from colonies import crypto, dev
from colonies.models import WAITING
from tests.conftest import ColonyFixture, Member
from tests.support.rpc import RPCFailure, call


def process_spec(colonyname: str) -> dict[str, Any]:
    return {
        "funcname": "f",
        "maxexectime": -1,
        "maxwaittime": -1,
        "maxretries": -1,
        "conditions": {"colonyname": colonyname, "executortype": "test"},
    }


def refusal(url: str, msg: dict[str, Any], prvkey: str) -> RPCFailure:
    with pytest.raises(RPCFailure) as err:
        call(url, msg, prvkey)
    return err.value


@pytest.fixture
def other_colony(colony: ColonyFixture) -> Iterator[ColonyFixture]:
    owner = crypto.generate_private_key()
    colonyid = crypto.id_from_private_key(owner)
    name = f"other-{secrets.token_hex(6)}"
    call(colony.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": colonyid, "name": name}}, dev.SERVER_PRVKEY)
    yield ColonyFixture(colony.url, name, owner, colonyid)
    call(colony.url, {"msgtype": "removecolonymsg", "colonyname": name}, dev.SERVER_PRVKEY)


def running_process(colony: ColonyFixture, executor: Member) -> str:
    user = colony.add_user()
    submitted = call(colony.url, {"msgtype": "submitfuncspecmsg", "spec": process_spec(colony.name)}, user.prvkey)
    assigned = call(colony.url, {"msgtype": "assignprocessmsg", "colonyname": colony.name, "timeout": 5}, executor.prvkey)
    assert assigned["processid"] == submitted["processid"]
    return submitted["processid"]


def get_logs(colony: ColonyFixture, colonyname: str, processid: str, prvkey: str) -> list[dict[str, Any]]:
    msg = {"msgtype": "getlogsmsg", "colonyname": colonyname, "processid": processid, "count": 100, "since": 0}
    return call(colony.url, msg, prvkey)


# --- item 5 -------------------------------------------------------------------------------
def removed_process_with_a_log(colony: ColonyFixture) -> str:
    executor = colony.add_executor()
    processid = running_process(colony, executor)
    call(colony.url, {"msgtype": "addlogmsg", "processid": processid, "message": "secret"}, executor.prvkey)
    call(colony.url, {"msgtype": "closesuccessfulmsg", "processid": processid, "out": []}, executor.prvkey)
    call(colony.url, {"msgtype": "removeprocessmsg", "processid": processid}, executor.prvkey)
    return processid


def test_logs_of_a_removed_process_are_not_readable_from_another_colony(colony, other_colony):
    processid = removed_process_with_a_log(colony)
    outsider = other_colony.add_user()
    assert get_logs(colony, other_colony.name, processid, outsider.prvkey) == []


def test_logs_of_a_removed_process_stay_readable_in_its_colony_as_on_upstream(colony):
    processid = removed_process_with_a_log(colony)
    reader = colony.add_user()
    assert [log["message"] for log in get_logs(colony, colony.name, processid, reader.prvkey)] == ["secret"]


# --- item 7 -------------------------------------------------------------------------------
def test_executor_rejected_while_running_can_no_longer_set_output_or_close(colony):
    executor = colony.add_executor()
    processid = running_process(colony, executor)
    call(colony.url, {"msgtype": "rejectexecutormsg", "colonyname": colony.name, "executorname": executor.name}, colony.owner_prvkey)
    for msg in (
        {"msgtype": "setoutputmsg", "processid": processid, "out": ["forged"]},
        {"msgtype": "closesuccessfulmsg", "processid": processid, "out": ["forged"]},
        {"msgtype": "closefailedmsg", "processid": processid, "errors": ["forged"]},
    ):
        assert refusal(colony.url, msg, executor.prvkey).status == 403
    process = call(colony.url, {"msgtype": "getprocessmsg", "processid": processid}, colony.add_user().prvkey)
    assert process["state"] == WAITING and process["assignedexecutorid"] == "" and process["out"] in (None, [])
    assert process["retries"] == 1


def test_a_rejected_then_reapproved_executor_gets_the_process_back_only_by_assigning_again(colony):
    executor = colony.add_executor()
    processid = running_process(colony, executor)
    for msgtype in ("rejectexecutormsg", "approveexecutormsg"):
        call(colony.url, {"msgtype": msgtype, "colonyname": colony.name, "executorname": executor.name}, colony.owner_prvkey)
    close = {"msgtype": "closesuccessfulmsg", "processid": processid, "out": []}
    assert refusal(colony.url, close, executor.prvkey).status == 403
    call(colony.url, {"msgtype": "assignprocessmsg", "colonyname": colony.name, "timeout": 5}, executor.prvkey)
    call(colony.url, close, executor.prvkey)


# --- item 8 (every msgtype: tests/integration/test_authorization_matrix.py) -----------------
def test_the_server_owner_still_learns_that_a_colony_does_not_exist(colony):
    failure = refusal(colony.url, {"msgtype": "removecolonymsg", "colonyname": f"nowhere-{secrets.token_hex(6)}"}, dev.SERVER_PRVKEY)
    assert failure.status == 404 and "does not exist" in failure.message
