"""A hello-world executor written with this project's SDK (colonies.executor.Executor).

It registers itself with the colony owner key as a new executor of type `hello`, serves until
Ctrl-C or SIGTERM, then removes itself. Try it with `python examples/submit.py hello hello Ada`.
"""
from __future__ import annotations

import asyncio
import secrets
import signal

from _env import colony, colony_prvkey, node_url

from colonies.builtin.runtime import RunSettings, running
from colonies.crypto import generate_private_key
from colonies.executor import Executor


def hello(name: str = "world") -> str:
    return f"Hello, {name}!"


async def main() -> None:
    executor = Executor(
        node_url(), colony(), generate_private_key(), f"hello-sdk-{secrets.token_hex(3)}", "hello",
        colony_prvkey=colony_prvkey(),
    )
    executor.register_function("hello", hello)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    try:
        async with running(executor, RunSettings(parallel=2, assign_timeout=2)):
            print(f"ready executor {executor.executorname} (type hello); Ctrl-C stops it", flush=True)
            await stop.wait()
    finally:
        await executor.client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
