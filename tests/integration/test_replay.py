"""Replay protection (issue 12, item 4): a strict node refuses captured requests sent again; a
close from an earlier run of a process does not close the current one, strict or not."""
from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from colonies import crypto, dev, wire
from colonies.client import AsyncClient, func_spec
from colonies.models import REJECTED, RUNNING, SUCCESS, WAITING
from tests.support.nodes import RunningNode, start_node
from tests.support.rpc import call, post_raw


@pytest.fixture
def strict_node(tmp_path: Path) -> Iterator[RunningNode]:
    running = start_node(tmp_path, security_strict=True)
    yield running
    running.stop()


def key() -> tuple[str, str]:
    prvkey = crypto.generate_private_key()
    return prvkey, crypto.id_from_private_key(prvkey)


def new_colony(url: str) -> tuple[str, str]:
    owner, owner_id = key()
    name = f"colony-{secrets.token_hex(4)}"
    call(url, {"msgtype": "addcolonymsg", "colony": {"colonyid": owner_id, "name": name}}, dev.SERVER_PRVKEY)
    return name, owner


def add_executor(url: str, colony: str, owner: str, name: str = "worker") -> str:
    prvkey, executorid = key()
    executor = {"executorid": executorid, "executortype": "test", "executorname": name, "colonyname": colony}
    call(url, {"msgtype": "addexecutormsg", "executor": executor}, owner)
    call(url, {"msgtype": "approveexecutormsg", "colonyname": colony, "executorname": name}, owner)
    return prvkey


def submit(url: str, colony: str, prvkey: str, **spec: Any) -> str:
    body = {"funcname": "f", "maxexectime": -1, "maxwaittime": -1, "maxretries": -1, **spec}
    body["conditions"] = {"colonyname": colony, "executortype": "test"}
    return call(url, {"msgtype": "submitfuncspecmsg", "spec": body}, prvkey)["processid"]


def unstamped(msg: dict[str, Any], prvkey: str) -> bytes:
    """A request as pycolonies builds it: no nonce, no timestamp."""
    payload = base64.b64encode(json.dumps(msg).encode()).decode()
    return json.dumps({"payloadtype": msg["msgtype"], "payload": payload, "signature": crypto.sign(payload, prvkey)}).encode()


def stamped_at(msg: dict[str, Any], prvkey: str, timestamp: int) -> bytes:
    return unstamped({**msg, "nonce": secrets.token_hex(16), "timestamp": timestamp}, prvkey)


def state_of(url: str, processid: str, prvkey: str) -> dict[str, Any]:
    return call(url, {"msgtype": "getprocessmsg", "processid": processid}, prvkey)


def executor_state(url: str, colony: str, owner: str, name: str) -> int:
    return call(url, {"msgtype": "getexecutormsg", "colonyname": colony, "executorname": name}, owner)["state"]


# --- strict mode --------------------------------------------------------------------------
def test_a_captured_assign_replayed_is_refused_in_strict_mode(strict_node):
    url = strict_node.url
    colony, owner = new_colony(url)
    executor = add_executor(url, colony, owner)
    processes = [submit(url, colony, executor) for _ in range(3)]
    captured = wire.build_request({"msgtype": "assignprocessmsg", "colonyname": colony, "timeout": -1}, executor)
    status, reply = post_raw(url, captured)
    assert status == 200
    for _ in range(3):
        status, reply = post_raw(url, captured)
        assert status == 403 and "received before" in reply["payload"]["message"]
    running = [p for p in processes if state_of(url, p, executor)["state"] == RUNNING]
    assert len(running) == 1  # the executor saw exactly one


def test_a_replayed_approve_does_not_re_approve_a_rejected_executor(strict_node):
    url = strict_node.url
    colony, owner = new_colony(url)
    add_executor(url, colony, owner, "worker")
    captured = wire.build_request({"msgtype": "approveexecutormsg", "colonyname": colony, "executorname": "worker"}, owner)
    assert post_raw(url, captured)[0] == 200
    call(url, {"msgtype": "rejectexecutormsg", "colonyname": colony, "executorname": "worker"}, owner)
    assert post_raw(url, captured)[0] == 403
    assert executor_state(url, colony, owner, "worker") == REJECTED


def test_a_replay_is_refused_after_the_node_restarts(tmp_path: Path):
    running = start_node(tmp_path, security_strict=True)
    try:
        colony, owner = new_colony(running.url)
        add_executor(running.url, colony, owner, "worker")
        captured = wire.build_request({"msgtype": "approveexecutormsg", "colonyname": colony, "executorname": "worker"}, owner)
        assert post_raw(running.url, captured)[0] == 200
    finally:
        running.stop()
    running = start_node(tmp_path, security_strict=True)
    try:
        assert post_raw(running.url, captured)[0] == 403
    finally:
        running.stop()


def test_a_payload_signed_outside_the_window_is_refused(strict_node):
    colony, owner = new_colony(strict_node.url)
    msg = {"msgtype": "getcolonymsg", "colonyname": colony}
    window = wire.FRESHNESS_WINDOW_NS
    for timestamp in (time.time_ns() - window - 10**9, time.time_ns() + window + 10**9):
        status, reply = post_raw(strict_node.url, stamped_at(msg, owner, timestamp))
        assert status == 403 and "window" in reply["payload"]["message"]
    assert post_raw(strict_node.url, stamped_at(msg, owner, time.time_ns()))[0] == 200


def test_strict_mode_refuses_payloads_without_nonce_and_timestamp(strict_node):
    colony, owner = new_colony(strict_node.url)
    status, reply = post_raw(strict_node.url, unstamped({"msgtype": "getcolonymsg", "colonyname": colony}, owner))
    assert status == 403 and "no nonce" in reply["payload"]["message"]
    # unsigned messages carry nothing to replay
    assert post_raw(strict_node.url, unstamped({"msgtype": "versionmsg"}, dev.PRVKEY))[0] == 200


async def test_our_sdk_works_against_a_strict_node(strict_node):
    colony, owner = new_colony(strict_node.url)
    executor = add_executor(strict_node.url, colony, owner)
    async with AsyncClient(strict_node.url, executor) as client:
        process = await client.submit(func_spec("f", colony, "test"))
        assigned = await client.assign(colony, 5)
        await client.close(assigned, ["done"])
        assert (await client.get_process(process)).state == SUCCESS


def test_a_replayed_subscription_is_refused_in_strict_mode(strict_node):
    from tests.integration.test_bad_input import pubsub_reply

    url = strict_node.url
    colony, owner = new_colony(url)
    executor = add_executor(url, colony, owner)
    processid = submit(url, colony, executor)
    call(url, {"msgtype": "assignprocessmsg", "colonyname": colony, "timeout": 5}, executor)
    call(url, {"msgtype": "closesuccessfulmsg", "processid": processid, "out": []}, executor)
    msg = {"msgtype": "subscribeprocessmsg", "colonyname": colony, "processid": processid, "state": SUCCESS, "timeout": 5}
    captured = wire.build_request(msg, executor).decode()
    assert pubsub_reply(strict_node, captured)["error"] is False
    replayed = pubsub_reply(strict_node, captured)
    assert replayed["error"] is True and replayed["payload"]["status"] == 403


def test_the_cli_works_against_a_strict_node_in_process_and_as_a_subprocess(strict_node):
    from types import SimpleNamespace

    from tests.support.cli import dev_exports, ok, run

    colony, owner = new_colony(strict_node.url)
    member = add_executor(strict_node.url, colony, owner)
    fixture = SimpleNamespace(name=colony, owner_prvkey=owner, colonyid=crypto.id_from_private_key(owner))
    env = dev_exports(strict_node.url, fixture, member)
    assert json.loads(ok(env, "colony", "get", "--json").stdout)["name"] == colony
    done = run(env, "colony", "get", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["name"] == colony


def test_unmodified_pycolonies_is_refused_by_a_strict_node_with_a_message_saying_why(strict_node):
    from pycolonies import Colonies

    colony, owner = new_colony(strict_node.url)
    with pytest.raises(Exception, match="Replay protection"):
        Colonies("127.0.0.1", strict_node.port).get_colony(colony, owner)


def test_by_default_unstamped_and_repeated_payloads_are_served_as_upstream(node):
    colony, owner = new_colony(node.url)
    captured = unstamped({"msgtype": "getcolonymsg", "colonyname": colony}, owner)
    assert post_raw(node.url, captured)[0] == 200
    assert post_raw(node.url, captured)[0] == 200
    call(node.url, {"msgtype": "removecolonymsg", "colonyname": colony}, dev.SERVER_PRVKEY)


# --- a stale close, strict or not ---------------------------------------------------------
@pytest.mark.parametrize("strict", [False, True])
def test_a_stale_close_from_the_first_run_does_not_close_the_second(tmp_path: Path, strict: bool):
    running = start_node(tmp_path, security_strict=strict)
    try:
        url = running.url
        colony, owner = new_colony(url)
        executor = add_executor(url, colony, owner)
        processid = submit(url, colony, executor)
        first = call(url, {"msgtype": "assignprocessmsg", "colonyname": colony, "timeout": 5}, executor)
        # the close of run 1, captured (or delayed) on its way: it never arrives in time
        close = {"msgtype": "closesuccessfulmsg", "processid": processid, "out": ["run 1"], "attempt": first["starttime"]}
        stale = wire.build_request(close, executor)
        # run 1 ends without a close (the executor is rejected, then trusted again) and run 2 starts
        for msgtype in ("rejectexecutormsg", "approveexecutormsg"):
            call(url, {"msgtype": msgtype, "colonyname": colony, "executorname": "worker"}, owner)
        assert state_of(url, processid, executor)["state"] == WAITING
        second = call(url, {"msgtype": "assignprocessmsg", "colonyname": colony, "timeout": 5}, executor)
        assert second["processid"] == processid and second["starttime"] != first["starttime"]
        status, reply = post_raw(url, stale)
        assert status == 409 and "earlier run" in reply["payload"]["message"]
        assert state_of(url, processid, executor)["state"] == RUNNING
        call(url, {**close, "out": ["run 2"], "attempt": second["starttime"]}, executor)
        assert state_of(url, processid, executor)["out"] == ["run 2"]
    finally:
        running.stop()
