"""Go-compatible RFC 3339 timestamps (spec §3): nanoseconds <-> text."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from colonies.timefmt import ZERO_TIME, format_ns, parse_to_ns

YEAR_9999_END_NS = 253_402_300_799_999_999_999


def test_zero_and_negative_format_as_the_go_zero_time():
    assert format_ns(0) == "0001-01-01T00:00:00Z"
    assert format_ns(-5) == ZERO_TIME


def test_go_zero_time_and_empty_text_parse_as_zero():
    assert parse_to_ns(ZERO_TIME) == 0
    assert parse_to_ns("0001-01-01T00:00:00.000Z") == 0
    assert parse_to_ns("") == 0


def test_whole_seconds_have_no_fraction():
    assert format_ns(1_000_000_000) == "1970-01-01T00:00:01Z"


def test_trailing_zeros_of_the_fraction_are_trimmed_like_rfc3339nano():
    assert format_ns(1_500_000_000) == "1970-01-01T00:00:01.5Z"
    assert format_ns(1_000_000_001) == "1970-01-01T00:00:01.000000001Z"
    assert format_ns(1_760_000_000_123_450_000) == "2025-10-09T08:53:20.12345Z"


def test_parse_accepts_offsets_and_short_fractions():
    assert parse_to_ns("1970-01-01T01:00:01.5+01:00") == 1_500_000_000
    assert parse_to_ns("1970-01-01T00:00:01.5z") == 1_500_000_000
    assert parse_to_ns("2025-10-09T10:53:20.12345+02:00") == 1_760_000_000_123_450_000


def test_parse_of_go_postgres_style_offset_time():
    # Go renders times read from Postgres with the session zone, e.g. -05:00
    assert parse_to_ns("2025-10-09T03:53:20.000000001-05:00") == 1_760_000_000_000_000_001


def test_fraction_beyond_nanoseconds_is_truncated():
    assert parse_to_ns("1970-01-01T00:00:01.1234567899Z") == 1_123_456_789


def test_formatted_times_are_parseable_by_python_datetime():
    text = format_ns(1_760_000_000_123_456_000)
    assert datetime.fromisoformat(text) == datetime(2025, 10, 9, 8, 53, 20, 123456, tzinfo=timezone.utc)


@given(st.integers(min_value=1, max_value=YEAR_9999_END_NS))
def test_format_then_parse_round_trips_every_nanosecond(ns):
    assert parse_to_ns(format_ns(ns)) == ns


@given(st.integers(min_value=1, max_value=YEAR_9999_END_NS))
def test_formatted_text_is_utc_rfc3339(ns):
    text = format_ns(ns)
    assert text.endswith("Z")
    assert text[4] == "-" and text[7] == "-" and text[10] == "T" and text[13] == ":" and text[16] == ":"
    if "." in text:
        fraction = text[20:-1]
        assert 1 <= len(fraction) <= 9 and not fraction.endswith("0")


@given(st.integers(min_value=86_400 * 10**9, max_value=YEAR_9999_END_NS - 86_400 * 10**9), st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_parse_honours_any_offset(ns, offset_minutes):
    from datetime import timedelta

    seconds, fraction = divmod(ns, 10**9)
    tz = timezone(timedelta(minutes=offset_minutes))
    local = datetime.fromtimestamp(seconds, tz)
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction:09d}" if fraction else "") + local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]
    assert parse_to_ns(text) == ns


@pytest.mark.parametrize("text", ["yesterday", "2025-13-01T00:00:00Z", "2025-10-09 08:53:20"])
def test_garbage_timestamps_raise_value_error(text):
    with pytest.raises(ValueError):
        parse_to_ns(text)
