"""The service loop: failures are logged and the loop goes on, True means more to do now."""
from __future__ import annotations

import asyncio
import logging

import pytest

from colonies.node.services.base import every


async def test_a_failing_step_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    async def step() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("boom")

    loop = asyncio.ensure_future(every(0.01, step, what="probe step"))
    with caplog.at_level(logging.ERROR):
        while len(calls) < 3:
            await asyncio.sleep(0.01)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    assert "probe step failed" in caplog.text


async def test_a_step_with_more_to_do_runs_again_without_waiting() -> None:
    calls: list[int] = []

    async def step() -> bool:
        calls.append(1)
        return len(calls) < 5  # four times "more", then rest

    loop = asyncio.ensure_future(every(3600, step, what="drain"))
    for _ in range(50):
        await asyncio.sleep(0)
    loop.cancel()
    assert len(calls) == 5  # the hour-long interval never elapsed


async def test_a_step_not_for_this_node_is_skipped_and_wait_first_waits() -> None:
    calls: list[int] = []

    async def step() -> None:
        calls.append(1)

    skipped = asyncio.ensure_future(every(0.001, step, what="x", runs_here=lambda: False))
    waiting = asyncio.ensure_future(every(3600, step, what="y", wait_first=True))
    await asyncio.sleep(0.05)
    skipped.cancel()
    waiting.cancel()
    assert calls == []
