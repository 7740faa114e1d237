"""The one loop every background service runs on."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


async def every(
    interval: float,
    step: Callable[[], Awaitable[Any]],
    *,
    what: str,
    wait_first: bool = False,
    runs_here: Callable[[], bool] = lambda: True,
    wake: asyncio.Event | None = None,
) -> None:
    """Run `step` every `interval` seconds until cancelled. A step that raises is logged and the
    loop goes on; a step that returns True has more to do and runs again at once; setting `wake`
    runs it at once too. `runs_here` is the seam for replicas: a step only the leader should run
    asks it each time."""
    if wait_first:
        await asyncio.sleep(interval)
    while True:
        if wake is not None:
            wake.clear()
        more = False
        if runs_here():
            try:
                more = (await step()) is True
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed", what)
        if more or wake is None:
            await asyncio.sleep(0 if more else interval)
            continue
        try:
            await asyncio.wait_for(wake.wait(), interval)
        except TimeoutError:
            pass
