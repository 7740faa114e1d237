"""Cron trigger loop (spec §4.9): every `cron_checker_period` seconds, start the crons that are due."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Coroutine

from colonies.node import crons
from colonies.node.core import NodeCore

log = logging.getLogger(__name__)


def should_run(core: NodeCore) -> bool:
    """Whether this node runs the cron checks. The seam for replicas: only the leader should."""
    return True


async def run(core: NodeCore, period: float) -> None:
    while True:
        if should_run(core):
            try:
                await crons.check_once(core)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("cron check failed")
        await asyncio.sleep(period)


def service(core: NodeCore) -> Coroutine[Any, Any, None] | None:
    if core.config.cron_checker_period <= 0:
        return None
    return run(core, core.config.cron_checker_period)
