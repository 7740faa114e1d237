"""Built-in executors run in the test's loop against the session node, each of its own type."""
from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

from colonies import crypto
from colonies.builtin.runtime import RunSettings, running
from colonies.client import AsyncClient, func_spec
from colonies.executor import Executor
from colonies.models import Process


@contextlib.asynccontextmanager
async def builtin_executor(
    colony: Any, register: Callable[[Executor], None], *, executortype: str = "", store: Any = None,
    fs_dir: Any = None, **settings: Any
) -> AsyncIterator[Executor]:
    """An executor registered with the colony key (as `colonies executor start` does), serving;
    with `store` (a CFS StorageStore) it mounts a spec's `fs` under `fs_dir`."""
    executortype = executortype or f"builtin-{secrets.token_hex(3)}"
    executor = Executor(
        colony.url, colony.name, crypto.generate_private_key(), f"{executortype}-worker", executortype,
        colony_prvkey=colony.owner_prvkey, store=store, fs_dir=fs_dir,
    )
    register(executor)
    try:
        async with running(executor, RunSettings(assign_timeout=1, **settings)):
            yield executor
    finally:
        await executor.client.aclose()


async def run_process(sdk: AsyncClient, executor: Executor, funcname: str, timeout: float = 30, **spec: Any) -> Process:
    """Submit one process for `executor` and wait until it ends."""
    process = await sdk.submit(func_spec(funcname, executor.colonyname, executor.executortype, **spec))
    return await sdk.wait(process, timeout=timeout)
