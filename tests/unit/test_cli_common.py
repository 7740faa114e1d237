"""cli/common.py's pure parts: where the node is, ids, times."""
from __future__ import annotations

import time

from cli.common import NONE, ago, server_url, short, since, when, when_ns
from colonies.timefmt import ZERO_TIME, format_ns


def test_the_url_flag_wins_over_the_environment():
    env = {"COLONIES_SERVER_HOST": "127.0.0.2", "COLONIES_SERVER_PORT": "1"}
    assert server_url("http://127.0.0.1:9/", env) == "http://127.0.0.1:9"
    assert server_url("", env) == "http://127.0.0.2:1"


def test_tls_comes_from_either_variable():
    base = {"COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": "50080"}
    assert server_url("", base) == "http://127.0.0.1:50080"
    assert server_url("", base | {"COLONIES_TLS": "true"}) == "https://127.0.0.1:50080"
    assert server_url("", base | {"COLONIES_SERVER_TLS": "TRUE", "COLONIES_TLS": "false"}) == "https://127.0.0.1:50080"


def test_defaults_and_ipv6_hosts():
    assert server_url("", {}) == "http://127.0.0.1:50080"
    assert server_url("", {"COLONIES_SERVER_HOST": "::1"}) == "http://[::1]:50080"


def test_ids_are_shortened_unless_wide():
    full = "ab" * 32
    assert short(full, wide=False) == full[:12]
    assert short(full, wide=True) == full
    assert short("short", wide=False) == "short"


def test_ages_read_as_people_say_them():
    now = 1_000_000.0
    assert ago(now - 5, now) == "5 s ago"
    assert ago(now - 300, now) == "5 min ago"
    assert ago(now - 3 * 3600, now) == "3 h ago"
    assert ago(now - 5 * 86400, now) == "5 days ago"
    assert ago(now + 600, now) == "in 10 min"


def test_wire_times_show_local_iso_time_and_age_and_zero_is_a_dash():
    now = time.time()
    text = format_ns(int((now - 180) * 1e9))
    assert since(text, now) == "3 min ago"
    assert when(text, now).endswith("(3 min ago)") and "T" in when(text, now)
    assert since(ZERO_TIME) == when(ZERO_TIME) == when_ns(0) == NONE
    assert when_ns(int((now - 10) * 1e9), now).endswith("(10 s ago)")
