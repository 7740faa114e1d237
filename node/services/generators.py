"""Generator trigger loop (spec §4.10): every `generator_checker_period` seconds, submit the
workflows that queued arguments call for."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Coroutine

from colonies.node import generators
from colonies.node.core import NodeCore

log = logging.getLogger(__name__)

# workflows submitted per check; when a check is full the next one follows at once
BUDGET = 200


def should_run(core: NodeCore) -> bool:
    """Whether this node runs the generator checks. The seam for replicas: only the leader should."""
    return True


async def run(core: NodeCore, period: float) -> None:
    while True:
        more = False
        if should_run(core):
            try:
                _, more = await generators.check_once(core, budget=BUDGET)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("generator check failed")
        await asyncio.sleep(0 if more else period)


def service(core: NodeCore) -> Coroutine[Any, Any, None] | None:
    if core.config.generator_checker_period <= 0:
        return None
    return run(core, core.config.generator_checker_period)
