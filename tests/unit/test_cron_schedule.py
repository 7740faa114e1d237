"""Cron schedules (spec §4.9): 6-field expressions with seconds, descriptors, intervals, random
delays, and the add-time rules — pure functions, no node."""
from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest

from colonies import models
from colonies.node.domain import crons
from colonies.node.domain.generators import runs_due
from colonies.node.domain.errors import Invalid

NS = 1_000_000_000


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    crons.local_zone.cache_clear()
    yield
    crons.local_zone.cache_clear()


def ns(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=timezone.utc).timestamp()) * NS


def test_every_second_expression_runs_on_the_next_whole_second() -> None:
    now = ns(2024, 1, 1, 0, 0, 3) + 250_000_000
    assert crons.next_from_expression("* * * * * *", now) == ns(2024, 1, 1, 0, 0, 4)
    assert crons.next_from_expression("*/1 * * * * *", now) == ns(2024, 1, 1, 0, 0, 4)


def test_next_run_is_strictly_after_now_even_on_a_matching_second() -> None:
    now = ns(2024, 1, 1, 0, 0, 5)
    assert crons.next_from_expression("0/5 * * * * *", now) == ns(2024, 1, 1, 0, 0, 10)


def test_first_field_is_seconds() -> None:
    now = ns(2024, 1, 1, 0, 0, 0)
    assert crons.next_from_expression("30 * * * * *", now) == ns(2024, 1, 1, 0, 0, 30)
    assert crons.next_from_expression("0 15 10 * * *", now) == ns(2024, 1, 1, 10, 15, 0)


def test_day_of_week_names_and_question_mark_are_accepted() -> None:
    monday = ns(2024, 1, 1, 12, 0, 0)  # 2024-01-01 is a Monday
    assert crons.next_from_expression("0 0 9 * * MON", monday) == ns(2024, 1, 8, 9, 0, 0)
    assert crons.next_from_expression("0 0 12 ? * *", monday) == ns(2024, 1, 2, 12, 0, 0)


def test_expression_is_evaluated_in_the_node_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Stockholm")
    crons.local_zone.cache_clear()
    # 09:00 in Stockholm in January is 08:00 UTC
    assert crons.next_from_expression("0 0 9 * * *", ns(2024, 1, 1, 0, 0, 0)) == ns(2024, 1, 1, 8, 0, 0)


@pytest.mark.parametrize(
    ("descriptor", "expected"),
    [
        ("@hourly", (2024, 1, 1, 1, 0, 0)),
        ("@daily", (2024, 1, 2, 0, 0, 0)),
        ("@midnight", (2024, 1, 2, 0, 0, 0)),
        ("@weekly", (2024, 1, 7, 0, 0, 0)),
        ("@monthly", (2024, 2, 1, 0, 0, 0)),
        ("@yearly", (2025, 1, 1, 0, 0, 0)),
    ],
)
def test_descriptors_expand_to_six_field_schedules(descriptor: str, expected: tuple[int, ...]) -> None:
    assert crons.next_from_expression(descriptor, ns(2024, 1, 1, 0, 30, 0)) == ns(*expected)


def test_every_descriptor_adds_a_go_duration_on_a_whole_second() -> None:
    now = ns(2024, 1, 1, 0, 0, 0) + 700_000_000
    assert crons.next_from_expression("@every 1m30s", now) == ns(2024, 1, 1, 0, 1, 30)
    assert crons.next_from_expression("@every 1.5h", now) == ns(2024, 1, 1, 1, 30, 0)
    assert crons.next_from_expression("@every 10ms", now) == ns(2024, 1, 1, 0, 0, 1)  # at least a second


@pytest.mark.parametrize(
    "expression",
    ["", "* * * * *", "* * * * * * *", "61 * * * * *", "a b c d e f", "*/0 * * * * *", "0 0 0 30 2 *", "@often", "@every", "@every -5s", "@every 5x", "@every 99999999999999h"],
)
def test_invalid_expressions_are_refused(expression: str) -> None:
    with pytest.raises(crons.ScheduleError):
        crons.validate_expression(expression)


def test_a_time_just_before_a_second_boundary_still_runs_on_that_boundary() -> None:
    now = ns(2024, 1, 1, 0, 0, 3) + NS - 1
    assert crons.next_from_expression("* * * * * *", now) == ns(2024, 1, 1, 0, 0, 4)


def test_interval_runs_interval_seconds_from_now() -> None:
    assert crons.next_run(cronexpression="", interval=7, random=False, now_ns=100 * NS) == 107 * NS


def test_random_interval_runs_within_the_interval() -> None:
    rng = random.Random(42)
    delays = {crons.next_run(cronexpression="", interval=2, random=True, now_ns=0, rng=rng) for _ in range(200)}
    assert all(0 <= d < 2 * NS for d in delays)
    assert len(delays) > 100  # not a constant


def cron(**fields: object) -> models.Cron:
    base: dict[str, object] = {"colonyname": "c", "name": "n", "cronexpression": "* * * * * *", "interval": -1}
    base.update(fields)
    return models.Cron(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("interval", [0, -2, -100])
def test_interval_zero_or_below_minus_one_is_refused(interval: int) -> None:
    with pytest.raises(Invalid) as err:
        crons.check_schedule(cron(interval=interval))


def test_random_needs_an_interval() -> None:
    with pytest.raises(Invalid) as err:
        crons.check_schedule(cron(random=True))
    crons.check_schedule(cron(interval=10, random=True, cronexpression=""))


def test_interval_cron_does_not_need_an_expression() -> None:
    crons.check_schedule(cron(interval=5, cronexpression=""))


def test_bad_expression_is_a_400() -> None:
    with pytest.raises(Invalid) as err:
        crons.check_schedule(cron(cronexpression="* * * * *"))


def test_pycolonies_misspelt_wait_key_is_honoured() -> None:
    parsed = crons.cron_from_request({"colonyname": "c", "name": "n", "interval": -1, "waitforprevprocessgrap": True})
    assert parsed.waitforprevprocessgraph is True


def test_correct_wait_key_wins_over_the_misspelt_one() -> None:
    parsed = crons.cron_from_request({"waitforprevprocessgraph": False, "waitforprevprocessgrap": True})
    assert parsed.waitforprevprocessgraph is False


@pytest.mark.parametrize("document", [None, {"interval": "soon"}, {"waitforprevprocessgrap": "yes"}, {"interval": 2**64}])
def test_malformed_cron_documents_are_a_400(document: dict[str, object] | None) -> None:
    with pytest.raises(Invalid) as err:
        crons.cron_from_request(document)


class _Gen:
    def __init__(self, trigger: int, timeout: int = 0, lastrun: int = 0, firstpack: int = 0) -> None:
        self.trigger, self.timeout, self.lastrun, self.firstpack = trigger, timeout, lastrun, firstpack


def test_generator_runs_once_per_full_trigger() -> None:
    assert runs_due(_Gen(3), 7, 0) == (2, 3)  # type: ignore[arg-type]
    assert runs_due(_Gen(3), 2, 0) == (0, 0)  # type: ignore[arg-type]


def test_generator_timeout_flushes_everything_after_first_pack_or_last_run() -> None:
    gen = _Gen(10, timeout=1, firstpack=10 * NS)
    assert runs_due(gen, 2, 11 * NS) == (0, 0)  # type: ignore[arg-type]  # not strictly past yet
    assert runs_due(gen, 2, 11 * NS + 1) == (1, 2)  # type: ignore[arg-type]
    ran = _Gen(10, timeout=1, firstpack=10 * NS, lastrun=20 * NS)
    assert runs_due(ran, 2, 15 * NS) == (0, 0)  # type: ignore[arg-type]
    assert runs_due(ran, 2, 22 * NS) == (1, 2)  # type: ignore[arg-type]


def test_generator_without_timeout_waits_for_the_trigger() -> None:
    for timeout in (0, -1):
        assert runs_due(_Gen(10, timeout=timeout, firstpack=1), 9, 10**18) == (0, 0)  # type: ignore[arg-type]
