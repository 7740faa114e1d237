"""Acceptance (issue 12): the bounded soak. benchmarks/soak.py runs its own node for 100 s under
submitters, executors that close, fail, close twice or crash, websocket subscribers that drop,
slow-header and gzip attackers at once; here only its correctness checks are held (the latency
and peak-RSS figures it prints are measurements, not assertions)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"
SECONDS = int(os.environ.get("SOAK_SECONDS", "100"))  # the issue asks ~2 minutes in CI
CORRECTNESS = (
    "no_process_lost",
    "queue_settled",
    "none_running_on_vanished_executor",
    "counts_add_up",
    "each_process_closed_once",
    "ended_as_executor_said",
    "crashed_processes_came_back",
    "workflows_succeeded",
    "double_close_refused",
    "gzip_bombs_refused_413",
    "no_5xx",
    "no_transport_errors",
    "node_log_has_no_traceback",
)


@pytest.fixture(scope="module")
def soak() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(SOAK), "--seconds", str(SECONDS), "--seed", "12"],
        capture_output=True, text=True, timeout=SECONDS + 240,
    )
    assert done.stdout, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", CORRECTNESS)
def test_soak_check_holds(soak: dict[str, Any], name: str) -> None:
    check = soak["checks"][name]
    assert check["held"], check


def test_soak_slow_header_sockets_are_closed_by_the_node(soak: dict[str, Any]) -> None:
    check = soak["checks"]["slow_header_sockets_closed"]
    assert check["closed"] > 0 and check["still_open"] == 0, check


def test_soak_exercises_every_kind_of_misbehaviour(soak: dict[str, Any]) -> None:
    processes, requests = soak["processes"], soak["requests"]
    assert processes["crashed"] > 0 and processes["crashed_without_maxexectime"] > 0, processes
    assert processes["workflows"] > 0, processes
    assert requests["closesuccessfulmsg (again)"]["count"] > 0
    assert requests["closefailedmsg"]["count"] > 0
    assert requests["pubsub drop"]["count"] > 0
    assert requests["pubsub events"]["outcomes"].get("received", 0) > 0


def test_soak_no_request_is_answered_5xx(soak: dict[str, Any]) -> None:
    answered = {
        kind: status
        for kind, entry in soak["requests"].items()
        for status in entry["outcomes"]
        if status.isdigit() and int(status) >= 500
    }
    assert not answered, answered
