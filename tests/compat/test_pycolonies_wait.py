"""pycolonies' `wait`: a /pubsub subscription that returns when the process succeeds (spec §4.7)."""
from __future__ import annotations

import threading
import time

import pytest
from crypto import Crypto
from pycolonies import Colonies, func_spec


def test_wait_returns_after_another_thread_closes_the_process(client, colony, executor):
    waiter = colony.add_user()
    process = client.submit_func_spec(func_spec("slow", [], colony.name, "test"), waiter.prvkey)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            worker = Colonies("127.0.0.1", client.port)
            assigned = worker.assign(colony.name, 10, executor.prvkey)
            time.sleep(0.5)
            worker.close(assigned.processid, ["done"], executor.prvkey)
        except BaseException as err:  # reported by the test thread
            errors.append(err)

    thread = threading.Thread(target=work)
    started = time.monotonic()
    thread.start()
    try:
        finished = client.wait(process, 10, waiter.prvkey)
    finally:
        thread.join(15)
    assert not errors
    assert time.monotonic() - started < 8
    assert finished.processid == process.processid
    assert finished.state == Colonies.SUCCESSFUL
    assert finished.output == ["done"]


def test_wait_on_an_already_successful_process_returns_at_once(client, colony, executor):
    process = client.submit_func_spec(func_spec("quick", [], colony.name, "test"), executor.prvkey)
    client.assign(colony.name, 5, executor.prvkey)
    client.close(process.processid, [1], executor.prvkey)
    started = time.monotonic()
    finished = client.wait(process, 10, executor.prvkey)
    assert time.monotonic() - started < 6  # at once, not after the 10 s timeout
    assert finished.state == Colonies.SUCCESSFUL
    assert finished.output == [1]


def test_wait_by_a_non_member_does_not_reveal_the_process(client, colony, executor):
    process = client.submit_func_spec(func_spec("secret", [], colony.name, "test"), executor.prvkey)
    stranger = Crypto().prvkey()
    # the subscription is refused; pycolonies then fetches the process, which is refused too
    with pytest.raises(Exception, match="not a member"):
        client.wait(process, 5, stranger)
