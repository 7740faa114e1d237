"""Executor base class: long-poll a node for processes and run registered Python functions.

    executor = Executor(url, "dev", prvkey, "worker-1", "python", colony_prvkey=owner_key)

    @executor.register_function("add")
    def add(a, b):
        return a + b

    await executor.register()
    await executor.run(concurrency=4)      # or executor.start() from a script

Functions receive the process's `args` and `kwargs`; sync functions run in worker threads.
`current_process()` gives the running process inside a function. The return value becomes the
process output (a list; a non-list value v becomes [v], None becomes []); an exception fails the
process with its text.
"""
from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from colonies import models
from colonies.client import AsyncClient
from colonies.crypto import id_from_private_key
from colonies.models import Process
from colonies.wire import RPCError

__all__ = ["Executor", "ProcessFailed", "current_process"]

log = logging.getLogger("colonies.executor")

F = TypeVar("F", bound=Callable[..., Any])

_current: contextvars.ContextVar[Process] = contextvars.ContextVar("colonies_current_process")

# Back-off after an unexpected error from the node (seconds, doubling up to the maximum).
_MIN_BACKOFF = 0.5
_MAX_BACKOFF = 10.0


def current_process() -> Process:
    """The process being executed by the calling function (raises LookupError outside one)."""
    return _current.get()


class ProcessFailed(Exception):
    """Raised by a function to fail its process with exactly these errors (no exception name)."""

    def __init__(self, *errors: str) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


def _as_output(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    return [value]


def default_fs_dir(executorname: str) -> Path:
    """Where an executor materialises CFS mounts unless told: a directory of its own in the
    user's data directory (`$XDG_DATA_HOME`, else ~/.local/share)."""
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in executorname) or "executor"
    return base / "colonies" / "executors" / safe / "fs"


class Executor:
    def __init__(
        self,
        url: str,
        colonyname: str,
        prvkey: str,
        executorname: str,
        executortype: str,
        *,
        colony_prvkey: str | None = None,
        locationname: str = "",
        availablecpu: str = "",
        availablemem: str = "",
        client: AsyncClient | None = None,
        mounts: Any = None,
        store: Any = None,
        fs_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        """`store` (a `colonies.cfs.sync.Store`, e.g. `colonies.cfs.remote.StorageStore`) is where
        CFS bytes come from and go to; with it, a spec's `fs` mounts are materialised under
        `fs_dir` (default: `default_fs_dir(executorname)`). `mounts` replaces both."""
        self.colonyname = colonyname
        self.executorname = executorname
        self.executortype = executortype
        self.executorid = id_from_private_key(prvkey)
        self.locationname = locationname
        self.availablecpu = availablecpu
        self.availablemem = availablemem
        self.client = client or AsyncClient(url, prvkey)
        self._prvkey = prvkey
        self._colony_prvkey = colony_prvkey
        self._functions: dict[str, Callable[..., Any]] = {}
        self._stopping: asyncio.Event | None = None
        self._idle: set[asyncio.Task[Any]] = set()
        self._held: dict[str, Process] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        # colonies.cfs.mounts.Mounts: where a spec's `fs` dirs and snapshots live (none: such specs fail)
        if mounts is None and store is not None:
            from colonies.cfs.mounts import Mounts

            mounts = Mounts(self.client, colonyname, store, Path(fs_dir) if fs_dir else default_fs_dir(executorname))
        self.mounts = mounts

    # --- functions ------------------------------------------------------------------------
    def register_function(self, name: str | None = None, fn: Callable[..., Any] | None = None) -> Any:
        """Map a funcname to a callable: `register_function("f", f)` or `@register_function("f")`
        (`@register_function()` uses the function's own name)."""

        def add(func: F) -> F:
            self._functions[name or func.__name__] = func
            return func

        return add(fn) if fn is not None else add

    @property
    def functions(self) -> dict[str, Callable[..., Any]]:
        return dict(self._functions)

    @property
    def held(self) -> list[Process]:
        """The processes being executed right now (assigned to us, not yet closed or failed)."""
        return list(self._held.values())

    # --- registration ---------------------------------------------------------------------
    async def register(self) -> None:
        """Register this executor (and approve it) when the colony owner key was given, then
        register each function not yet known to the node for this executor."""
        if self._colony_prvkey:
            owner = self._colony_prvkey
            try:
                await self.client.add_executor(
                    self.colonyname,
                    self.executorid,
                    self.executorname,
                    self.executortype,
                    prvkey=owner,
                    locationname=self.locationname,
                )
            except RPCError as err:
                # A restart with the same name and key: the node already knows us.
                existing = await self._lookup_self(owner)
                if existing is None or existing.executorid != self.executorid:
                    raise err
            await self.client.approve_executor(self.colonyname, self.executorname, prvkey=owner)
        known = {f.funcname for f in await self.client.list_functions(self.colonyname, self.executorname)}
        for funcname in self._functions:
            if funcname not in known:
                await self.client.add_function(self.colonyname, self.executorname, self.executortype, funcname)

    async def _lookup_self(self, owner_key: str) -> models.Executor | None:
        # The colony owner is not a member (spec §1.5), so ask with our own key (PENDING allowed).
        for key in (self._prvkey, owner_key):
            try:
                executors = await self.client.list_executors(self.colonyname, prvkey=key)
            except RPCError:
                continue
            for executor in executors:
                if executor.executorname == self.executorname:
                    return executor
        return None

    @property
    def registers_itself(self) -> bool:
        """Whether this executor holds the colony owner key, so it can (re-)register itself."""
        return self._colony_prvkey is not None

    async def is_registered(self) -> bool:
        """Whether the node knows this executor as approved (raises when the node cannot be asked)."""
        try:
            found = await self.client.get_executor_by_id(self.colonyname, self.executorid)
        except RPCError as err:
            if err.status in (403, 404):  # removed: no longer a member, or gone
                return False
            raise
        return found.state == models.APPROVED

    async def unregister(self) -> None:
        """Remove this executor from its colony (needs the colony owner key)."""
        if not self._colony_prvkey:
            raise ValueError("unregister needs the colony owner key")
        await self.client.remove_executor(self.colonyname, self.executorname, prvkey=self._colony_prvkey)

    # --- logging --------------------------------------------------------------------------
    async def log(self, process: Process | str, message: str) -> None:
        """Add a log line to a process this executor runs."""
        await self.client.add_log(process, message)

    def log_sync(self, process: Process | str, message: str) -> None:
        """`log` for sync functions, which run in worker threads."""
        if self._loop is None:
            raise RuntimeError("log_sync works only while the executor runs")
        asyncio.run_coroutine_threadsafe(self.log(process, message), self._loop).result()

    # --- the loop -------------------------------------------------------------------------
    async def run(self, concurrency: int = 1, assign_timeout: int = 10) -> None:
        """Run `concurrency` workers, each long-polling for one process at a time, until `stop()`."""
        if concurrency < 1 or assign_timeout < 1:
            raise ValueError("concurrency and assign_timeout must be at least 1")
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        workers = [
            asyncio.create_task(self._worker(assign_timeout), name=f"{self.executorname}-{i}")
            for i in range(concurrency)
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self._stopping = None
            self._loop = None

    def stop(self, abandon_polls: bool = False) -> None:
        """Stop gracefully: workers take no new work; running functions finish and report, and
        pending long-polls may still return a process (run too) within `assign_timeout`.

        A second call, or `abandon_polls=True`, drops pending polls at once; a process the node
        assigns in that very moment stays RUNNING until its maxexectime releases it.
        Safe to call from any thread or a signal handler.
        """
        loop = self._loop
        if loop is None:
            return
        if loop.is_running() and _running_loop() is not loop:
            loop.call_soon_threadsafe(self._stop_now, abandon_polls)
        else:
            self._stop_now(abandon_polls)

    def _stop_now(self, abandon_polls: bool) -> None:
        if self._stopping is None:
            return
        if self._stopping.is_set() or abandon_polls:
            for task in list(self._idle):
                task.cancel()
        self._stopping.set()

    def start(self, concurrency: int = 1, assign_timeout: int = 10, register: bool = True) -> None:
        """Blocking entry point for scripts: register, run until SIGINT/SIGTERM (twice: at once),
        close the client."""

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, self.stop)
                except (NotImplementedError, RuntimeError):
                    pass
            try:
                if register:
                    await self.register()
                await self.run(concurrency, assign_timeout)
            finally:
                await self.client.aclose()

        asyncio.run(main())

    async def _worker(self, assign_timeout: int) -> None:
        assert self._stopping is not None
        backoff = _MIN_BACKOFF
        while not self._stopping.is_set():
            try:
                process = await self._assign(assign_timeout)
            except _BackOff:
                await self._sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
                continue
            backoff = _MIN_BACKOFF
            if process is not None:
                await self.execute(process)

    async def _assign(self, assign_timeout: int) -> Process | None:
        """A process, or None when there was nothing to do or we are stopping."""
        task = asyncio.ensure_future(
            self.client.assign(self.colonyname, assign_timeout, self.availablecpu, self.availablemem)
        )
        self._idle.add(task)
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and not (current and current.cancelling()):
                return None  # only the poll was dropped by stop()
            raise
        except RPCError as err:
            if err.status == 404:
                return None
            # 408/503 while the colony is paused, 403 while not approved, ...
            log.warning("assign failed (%s): %s", err.status, err.message)
            raise _BackOff from err
        except Exception as err:  # connection refused/reset, HTTP timeout
            log.warning("assign failed: %r", err)
            raise _BackOff from err
        finally:
            self._idle.discard(task)

    async def _sleep(self, seconds: float) -> None:
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def execute(self, process: Process) -> None:
        """Run the function named by the process and close or fail it (never raises RPC errors)."""
        self._held[process.processid] = process
        try:
            await self._execute(process)
        finally:
            self._held.pop(process.processid, None)

    async def _execute(self, process: Process) -> None:
        funcname = process.spec.funcname
        fn = self._functions.get(funcname)
        if fn is None:
            known = ", ".join(sorted(self._functions)) or "none"
            await self._fail(process, f"Executor {self.executorname} has no function '{funcname}' (known: {known})")
            return
        fs = process.spec.fs
        mounted = fs is not None and bool(fs.snapshots or fs.dirs)
        if mounted:
            if self.mounts is None:
                await self._fail(process, f"Executor {self.executorname} has no CFS mounts configured for the spec's fs")
                return
            if not await self._mount(process, before=True):
                return
        args = list(process.spec.args or [])
        kwargs = dict(process.spec.kwargs or {})
        token = _current.set(process)
        try:
            if inspect.iscoroutinefunction(fn):
                result = await fn(*args, **kwargs)
            else:
                result = await asyncio.to_thread(fn, *args, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
        except asyncio.CancelledError:
            raise
        except ProcessFailed as err:
            await self._fail(process, *err.errors)
            return
        except Exception as err:
            await self._fail(process, f"{type(err).__name__}: {err}")
            return
        finally:
            _current.reset(token)
        if mounted and not await self._mount(process, before=False):
            return
        try:
            await self.client.close(process, _as_output(result))
        except RPCError as err:
            # e.g. 403 when the node released the process after its maxexectime.
            log.warning("closing %s failed (%s): %s", process.processid, err.status, err.message)
        except (TypeError, msgspec.EncodeError) as err:  # output not JSON-encodable
            await self._fail(process, f"Cannot encode the output of {funcname}: {err}")
        except Exception as err:
            log.warning("closing %s failed: %r", process.processid, err)

    async def _mount(self, process: Process, *, before: bool) -> bool:
        """Download and sync the spec's fs mounts (before) or sync the outputs back (after);
        False, with the process failed and the reason in its errors, if that did not work."""
        try:
            await (self.mounts.before(process) if before else self.mounts.after(process))
            return True
        except Exception as err:  # colonies.cfs.mounts.MountError, or the storage's errors
            await self._fail(process, f"CFS mount {'before' if before else 'after'} the run failed: {err}")
            return False

    async def _fail(self, process: Process, *errors: str) -> None:
        try:
            await self.client.fail(process, list(errors))
        except Exception as err:
            log.warning("failing %s failed: %r", process.processid, err)


class _BackOff(Exception):
    """The node could not be asked for work; wait before the next poll."""


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
