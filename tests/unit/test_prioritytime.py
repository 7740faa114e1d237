"""Queue order (spec §4.1): prioritytime = priority * -1 day (ns) + submission ns; lower runs first."""
from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from colonies.node.domain.submission import DAY_NS, MAX_PRIORITY, prioritytime

NOW = 1_760_000_000_000_000_000  # an October 2025 timestamp in ns
INT64_MAX = 2**63 - 1

priorities = st.integers(min_value=-MAX_PRIORITY, max_value=MAX_PRIORITY)
# submission times from 2001 to 2100
submissions = st.integers(min_value=10**18, max_value=4_102_444_800 * 10**9)


def test_matches_the_upstream_formula():
    assert prioritytime(3, NOW) == 3 * -86_400 * 10**9 + NOW
    assert prioritytime(0, NOW) == NOW
    assert prioritytime(-2, NOW) == NOW + 2 * 86_400 * 10**9


def test_one_day_is_86400_seconds_in_nanoseconds():
    assert DAY_NS == 86_400_000_000_000


def test_higher_priority_runs_first_at_the_same_submission_time():
    assert prioritytime(1, NOW) < prioritytime(0, NOW) < prioritytime(-1, NOW)


def test_same_priority_is_first_in_first_out():
    assert prioritytime(5, NOW) < prioritytime(5, NOW + 1)
    assert prioritytime(-5, NOW) < prioritytime(-5, NOW + 1)


def test_one_priority_unit_weighs_exactly_one_day_of_queueing():
    assert prioritytime(1, NOW + DAY_NS) == prioritytime(0, NOW)
    # submitted just under a day later with one more priority unit: still first
    assert prioritytime(1, NOW + DAY_NS - 1) < prioritytime(0, NOW)
    # submitted just over a day later: the older, lower-priority process goes first
    assert prioritytime(1, NOW + DAY_NS + 1) > prioritytime(0, NOW)


def test_extreme_priorities_fit_in_int64_for_this_century():
    for submitted in (time.time_ns(), 4_102_444_800 * 10**9):
        for priority in (-MAX_PRIORITY, MAX_PRIORITY):
            assert -INT64_MAX <= prioritytime(priority, submitted) <= INT64_MAX


@given(priorities, submissions, priorities, submissions)
def test_order_is_by_priority_then_submission_when_within_a_day(p1, t1, p2, delta):
    t2 = t1 + delta % DAY_NS  # second process submitted less than a day after the first
    first, second = prioritytime(p1, t1), prioritytime(p2, t2)
    if p1 > p2:
        assert first < second
    elif p1 < p2:
        assert first > second
    else:
        assert first <= second


@given(priorities, submissions, st.integers(min_value=0, max_value=100))
def test_n_days_of_waiting_equal_n_priority_units(priority, submitted, days):
    assert prioritytime(priority + days, submitted + days * DAY_NS) == prioritytime(priority, submitted)


@given(submissions, st.lists(st.tuples(priorities, st.integers(min_value=0, max_value=DAY_NS - 1)), min_size=2, max_size=30))
def test_within_one_day_the_queue_is_sorted_by_priority_then_fifo(start, items):
    processes = [(priority, start + offset) for priority, offset in items]
    by_prioritytime = sorted(processes, key=lambda p: prioritytime(*p))
    by_priority_then_fifo = sorted(processes, key=lambda p: (-p[0], p[1]))
    assert by_prioritytime == by_priority_then_fifo
