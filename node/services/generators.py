"""Generator trigger loop (spec §4.10): every `generator_checker_period` seconds, submit the
workflows that queued arguments call for."""
from __future__ import annotations

from typing import Any, Coroutine

from colonies.node.domain import generators
from colonies.node.core import NodeCore
from colonies.node.services.base import every


# workflows submitted per check; when a check is full the next one follows at once
BUDGET = 200


def should_run(core: NodeCore) -> bool:
    """Whether this node runs the generator checks. The seam for replicas: only the leader should."""
    return True


async def run(core: NodeCore, period: float) -> None:
    async def step() -> bool:
        _, more = await generators.check_once(core, budget=BUDGET)
        return more  # a budget's worth done and more due: again at once

    await every(period, step, what="generator check", runs_here=lambda: should_run(core))


def service(core: NodeCore) -> Coroutine[Any, Any, None] | None:
    if core.config.generator_checker_period <= 0:
        return None
    return run(core, core.config.generator_checker_period)
