"""Running a built-in executor: register, serve in parallel, stay registered, stop cleanly.

    async with running(executor, RunSettings(parallel=4)) as work:
        await stop.wait()        # or `await work` to serve until the executor fails

Leaving the block stops it: no new work is taken, running processes get `grace` seconds to finish
(`hurry` cuts that short), then what is still held goes back. An executor that registered itself
(it holds the colony owner key) removes itself from the colony, which puts every process it holds
back in the queue (the node's give-back); one that runs under an identity someone else approved
fails what it holds with the reason, since only the colony owner can give it back.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from colonies.executor import Executor

log = logging.getLogger("colonies.builtin")


@dataclass(frozen=True)
class RunSettings:
    parallel: int = 1  # processes run at once
    grace: float = 30.0  # seconds running processes may take to finish once told to stop
    keepalive: float = 30.0  # seconds between checks that the node still knows this executor
    assign_timeout: int = 10  # seconds one long-poll for work waits


@contextlib.asynccontextmanager
async def running(
    executor: Executor, settings: RunSettings, *, hurry: asyncio.Event | None = None
) -> AsyncIterator[asyncio.Task[None]]:
    """Register `executor` and serve until the block ends; yields the serving task."""
    if settings.parallel < 1 or settings.assign_timeout < 1 or settings.keepalive <= 0 or settings.grace < 0:
        raise ValueError("parallel and assign_timeout must be at least 1, keepalive positive, grace not negative")
    await executor.register()
    work = asyncio.create_task(executor.run(settings.parallel, settings.assign_timeout), name=f"{executor.executorname}-run")
    keeper = asyncio.create_task(keep_registered(executor, settings.keepalive), name=f"{executor.executorname}-keepalive")
    try:
        yield work
    finally:
        keeper.cancel()
        await asyncio.gather(keeper, return_exceptions=True)
        await asyncio.shield(_shut_down(executor, work, settings.grace, hurry))


async def keep_registered(executor: Executor, interval: float) -> None:
    """Every `interval` seconds, check the node still has this executor approved; re-register it
    when it does not (removed as stale, or a node restarted without its data) and we can."""
    while True:
        await asyncio.sleep(interval)
        try:
            if await executor.is_registered():
                continue
            if executor.registers_itself:
                await executor.register()
                log.warning("executor %s was no longer registered: registered it again", executor.executorname)
            else:
                log.error("executor %s is no longer registered; the colony owner must add it again", executor.executorname)
        except Exception as err:  # the node is down or restarting: the workers back off meanwhile
            log.warning("cannot check the registration of %s: %r", executor.executorname, err)


async def _shut_down(executor: Executor, work: asyncio.Task[None], grace: float, hurry: asyncio.Event | None) -> None:
    executor.stop()
    waiters: set[asyncio.Future[object]] = {work}
    hurried = asyncio.ensure_future(hurry.wait()) if hurry is not None else None
    if hurried is not None:
        waiters.add(hurried)
    await asyncio.wait(waiters, timeout=grace, return_when=asyncio.FIRST_COMPLETED)
    if hurried is not None:
        hurried.cancel()
    held = executor.held
    if not work.done():
        work.cancel()  # running children are killed; pending polls are dropped
    outcome = (await asyncio.gather(work, return_exceptions=True))[0]
    if isinstance(outcome, Exception):
        log.error("executor %s stopped on an error: %r", executor.executorname, outcome)
    try:
        if executor.registers_itself:
            await executor.unregister()
            return
        for process in held:
            await executor.client.fail(process, [f"Executor {executor.executorname} stopped before the process finished"])
    except Exception as err:
        log.warning("handing back the work of %s failed: %r", executor.executorname, err)
