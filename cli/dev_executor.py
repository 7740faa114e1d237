"""The shell executor `colonies dev` runs on its node's loop: type `cli`, a few harmless commands.

It registers as `dev-shell` with the public dev keys, and on Ctrl-C it stops at once: running
commands are killed and it removes itself, which puts what it held back in the queue.
"""
from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator

from colonies import dev as dev_ids

from .serve import ServedNode


def commands() -> dict[str, str]:
    """funcname -> path of the dev commands this machine has."""
    return {name: path for name in dev_ids.SHELL_COMMANDS if (path := shutil.which(name))}


@contextlib.asynccontextmanager
async def dev_shell(node: ServedNode) -> AsyncIterator[None]:
    from colonies.builtin.runtime import RunSettings, running
    from colonies.builtin.shell import register_commands
    from colonies.executor import Executor

    executor = Executor(
        node.url, dev_ids.COLONY_NAME, dev_ids.SHELL_EXECUTOR_PRVKEY, dev_ids.SHELL_EXECUTOR_NAME, dev_ids.EXECUTOR_TYPE,
        colony_prvkey=dev_ids.COLONY_PRVKEY,
    )
    register_commands(executor, commands())
    try:
        async with running(executor, RunSettings(parallel=4, grace=0, assign_timeout=5)):
            yield
    finally:
        await executor.client.aclose()
