"""Cron trigger loop (spec §4.9): every `cron_checker_period` seconds, start the crons that are due."""
from __future__ import annotations

from typing import Any, Coroutine

from colonies.node.domain import crons
from colonies.node.core import NodeCore
from colonies.node.services.base import every



def should_run(core: NodeCore) -> bool:
    """Whether this node runs the cron checks. The seam for replicas: only the leader should."""
    return True


async def run(core: NodeCore, period: float) -> None:
    await every(period, lambda: crons.check_once(core), what="cron check", runs_here=lambda: should_run(core))


def service(core: NodeCore) -> Coroutine[Any, Any, None] | None:
    if core.config.cron_checker_period <= 0:
        return None
    return run(core, core.config.cron_checker_period)
