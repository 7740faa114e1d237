"""Assign long-poll wake-ups: one matching waiter per assignable process, FIFO (spec §4.2)."""
from __future__ import annotations

import asyncio
import json

from colonies.node.resources import UNLIMITED
from colonies.node.scheduler import Scheduler, Waiter


def waiter(name: str = "e1", *, colony: str = "lab", executortype: str = "worker", location: str = "", cpu: int = UNLIMITED, mem: int = UNLIMITED) -> Waiter:
    return Waiter(colony, executortype, name, location, cpu, mem)


def targets(*names: str) -> str:
    """The executornames column as the store keeps it: the JSON list, or "" for anyone."""
    return json.dumps(list(names), separators=(",", ":")) if names else ""


def woken(*waiters: Waiter) -> list[bool]:
    return [w.future.done() for w in waiters]


async def test_notify_wakes_exactly_one_waiter():
    scheduler = Scheduler()
    waiters = [scheduler.register(waiter(f"e{i}")) for i in range(3)]
    assert scheduler.notify("lab", "worker", "", "", 0, 0) is True
    assert sum(woken(*waiters)) == 1


async def test_waiters_are_woken_first_in_first_out():
    scheduler = Scheduler()
    first, second, third = (scheduler.register(waiter(f"e{i}")) for i in range(3))
    scheduler.notify("lab", "worker", "", "", 0, 0)
    assert woken(first, second, third) == [True, False, False]
    scheduler.notify("lab", "worker", "", "", 0, 0)
    assert woken(first, second, third) == [True, True, False]
    scheduler.notify("lab", "worker", "", "", 0, 0)
    assert woken(first, second, third) == [True, True, True]


async def test_woken_waiter_gets_the_process_conditions():
    scheduler = Scheduler()
    w = scheduler.register(waiter())
    scheduler.notify("lab", "worker", "", "", 250, 512)
    assert await asyncio.wait_for(w.future, 1) == ("", "", 250, 512)


async def test_woken_waiter_leaves_the_queue():
    scheduler = Scheduler()
    scheduler.register(waiter("e1"))
    scheduler.register(waiter("e2"))
    scheduler.notify("lab", "worker", "", "", 0, 0)
    assert scheduler.waiting_count("lab", "worker") == 1


async def test_notify_without_waiters_wakes_nobody():
    assert Scheduler().notify("lab", "worker", "", "", 0, 0) is False


async def test_other_colonies_and_executor_types_are_not_woken():
    scheduler = Scheduler()
    other_colony = scheduler.register(waiter(colony="elsewhere"))
    other_type = scheduler.register(waiter(executortype="gpu"))
    assert scheduler.notify("lab", "worker", "", "", 0, 0) is False
    assert woken(other_colony, other_type) == [False, False]


async def test_targeted_process_wakes_only_a_named_executor():
    scheduler = Scheduler()
    alice = scheduler.register(waiter("alice"))
    bob = scheduler.register(waiter("bob"))
    assert scheduler.notify("lab", "worker", targets("bob", "carol"), "", 0, 0) is True
    assert woken(alice, bob) == [False, True]
    assert scheduler.notify("lab", "worker", targets("carol"), "", 0, 0) is False
    assert woken(alice) == [False]


async def test_executor_name_matching_is_exact_not_substring_or_case_blind():
    scheduler = Scheduler()
    short = scheduler.register(waiter("exe"))
    upper = scheduler.register(waiter("EXE2"))
    assert scheduler.notify("lab", "worker", targets("exe2"), "", 0, 0) is False
    assert woken(short, upper) == [False, False]


async def test_skipped_waiter_keeps_its_place():
    scheduler = Scheduler()
    alice = scheduler.register(waiter("alice"))
    bob = scheduler.register(waiter("bob"))
    scheduler.notify("lab", "worker", targets("bob"), "", 0, 0)
    assert woken(alice, bob) == [False, True]
    scheduler.notify("lab", "worker", "", "", 0, 0)
    assert woken(alice) == [True]


async def test_location_must_match_case_insensitively_when_the_process_has_one():
    scheduler = Scheduler()
    nowhere = scheduler.register(waiter("n", location=""))
    elsewhere = scheduler.register(waiter("e", location="Stockholm"))
    lab = scheduler.register(waiter("l", location="Lab-1"))
    # the store keeps process locations lowercased
    assert scheduler.notify("lab", "worker", "", "lab-1", 0, 0) is True
    assert woken(nowhere, elsewhere, lab) == [False, False, True]


async def test_process_without_location_can_go_anywhere():
    scheduler = Scheduler()
    located = scheduler.register(waiter("l", location="Lab-1"))
    scheduler.notify("lab", "worker", "", "", 0, 0)
    assert woken(located) == [True]


async def test_cpu_and_memory_must_fit_what_the_executor_has():
    scheduler = Scheduler()
    small = scheduler.register(waiter("small", cpu=500, mem=1024))
    big = scheduler.register(waiter("big", cpu=4000, mem=16384))
    assert scheduler.notify("lab", "worker", "", "", 1000, 512) is True
    assert woken(small, big) == [False, True]
    assert scheduler.notify("lab", "worker", "", "", 500, 2048) is False
    assert scheduler.notify("lab", "worker", "", "", 500, 1024) is True
    assert woken(small) == [True]


async def test_unlimited_executor_takes_any_size():
    scheduler = Scheduler()
    w = scheduler.register(waiter())
    scheduler.notify("lab", "worker", "", "", 10**9, 10**9)
    assert woken(w) == [True]


async def test_pass_on_wakes_the_next_waiter_for_the_same_process():
    scheduler = Scheduler()
    first = scheduler.register(waiter("first", cpu=1000))
    second = scheduler.register(waiter("second", cpu=1000))
    scheduler.notify("lab", "worker", "", "", 800, 0)
    scheduler.unregister(first)
    scheduler.pass_on(first)  # the first one will not claim (it left, or claimed something else)
    assert woken(second) == [True]
    assert second.future.result() == ("", "", 800, 0)


async def test_pass_on_respects_the_process_conditions():
    scheduler = Scheduler()
    first = scheduler.register(waiter("bob"))
    stranger = scheduler.register(waiter("alice"))
    scheduler.notify("lab", "worker", targets("bob"), "", 0, 0)
    scheduler.pass_on(first)
    assert woken(stranger) == [False]


async def test_pass_on_of_a_waiter_that_was_never_woken_does_nothing():
    scheduler = Scheduler()
    idle = scheduler.register(waiter("idle"))
    other = scheduler.register(waiter("other"))
    scheduler.unregister(idle)
    scheduler.pass_on(idle)
    assert woken(other) == [False]


async def test_cancelled_waiter_is_skipped_and_pass_on_ignores_it():
    scheduler = Scheduler()
    gone = scheduler.register(waiter("gone"))
    gone.future.cancel()
    live = scheduler.register(waiter("live"))
    assert scheduler.notify("lab", "worker", "", "", 0, 0) is True
    assert woken(live) == [True]
    scheduler.pass_on(gone)  # must not raise


async def test_unregistered_waiter_is_not_woken():
    scheduler = Scheduler()
    w = scheduler.register(waiter())
    scheduler.unregister(w)
    scheduler.unregister(w)  # twice is harmless
    assert scheduler.notify("lab", "worker", "", "", 0, 0) is False
    assert scheduler.waiting_count("lab", "worker") == 0


async def test_wake_colony_wakes_every_waiter_of_that_colony_with_no_process():
    scheduler = Scheduler()
    a = scheduler.register(waiter("a"))
    b = scheduler.register(waiter("b", executortype="gpu"))
    elsewhere = scheduler.register(waiter("c", colony="elsewhere"))
    scheduler.wake_colony("lab")
    assert woken(a, b, elsewhere) == [True, True, False]
    assert a.future.result() is None
    assert scheduler.waiting_count("lab", "worker") == 0
    assert scheduler.waiting_count("elsewhere", "worker") == 1
    scheduler.pass_on(a)  # a colony-wide wake-up is not a process: nothing to hand on
    assert woken(elsewhere) == [False]


async def test_waiter_blocked_on_its_future_resumes_on_notify():
    scheduler = Scheduler()
    w = scheduler.register(waiter())

    async def later() -> None:
        await asyncio.sleep(0.05)
        scheduler.notify("lab", "worker", "", "", 0, 0)

    task = asyncio.ensure_future(later())
    assert await asyncio.wait_for(w.future, 2) == ("", "", 0, 0)
    await task
