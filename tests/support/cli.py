"""Driving the `colonies` command in tests: typer's runner in process, or a real subprocess, in an
environment set the way `colonies dev`'s exports set it (pointed at the test node and colony)."""
from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from click.testing import Result
from typer.testing import CliRunner

from colonies import dev
from tests.support.env import clean_env

if TYPE_CHECKING:
    from colonies.executor import Executor


def dev_exports(url: str, colony: object | None = None, prvkey: str = "") -> dict[str, str]:
    """What pasting `colonies dev`'s exports gives, for the node at `url`; with a test colony, its
    name and owner key instead of the dev colony's, and `prvkey` as the member key."""
    parts = urlsplit(url)
    env = dev.client_env(parts.hostname or "127.0.0.1", parts.port or 80)
    if colony is not None:
        env["COLONIES_COLONY_NAME"] = colony.name  # type: ignore[attr-defined]
        env["COLONIES_COLONY_PRVKEY"] = colony.owner_prvkey  # type: ignore[attr-defined]
        env["COLONIES_COLONY_ID"] = colony.colonyid  # type: ignore[attr-defined]
    if prvkey:
        env["COLONIES_PRVKEY"] = prvkey
    return env


def invoke(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    from cli.main import app

    return CliRunner().invoke(app, list(args), env=env, input=input)


def ok(env: dict[str, str], *args: str) -> Result:
    result = invoke(env, *args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def refused(env: dict[str, str], *args: str) -> Result:
    """A command that must fail as a user error: exit code 1, one `error:` line, no traceback."""
    result = invoke(env, *args)
    assert result.exit_code == 1, (result.output, result.exception)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    return result


def run(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`colonies ARGS` as a real process, with only `env`'s COLONIES_* (and AWS_*) variables."""
    return subprocess.run(
        [sys.executable, "-m", "colonies.cli", *args],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def shape(value: object) -> object:
    """A JSON value's field names and types, nested, without the values: what a script relies on."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    return type(value).__name__


@contextlib.contextmanager
def running_executor(url: str, colony: object, executortype: str, functions: dict[str, Callable[..., Any]]) -> Iterator[Executor]:
    """A real executor (our SDK's base) registered with the colony owner's key, serving
    `functions` from its own thread until the block ends."""
    from colonies import crypto
    from colonies.executor import Executor

    executor = Executor(
        url, colony.name, crypto.generate_private_key(), f"cli-test-{executortype}", executortype,  # type: ignore[attr-defined]
        colony_prvkey=colony.owner_prvkey,  # type: ignore[attr-defined]
    )
    for name, fn in functions.items():
        executor.register_function(name, fn)
    registered = threading.Event()
    failure: list[BaseException] = []

    async def serve() -> None:
        try:
            await executor.register()
        except BaseException as err:
            failure.append(err)
            raise
        finally:
            registered.set()
        try:
            await executor.run(assign_timeout=1)
        finally:
            await executor.client.aclose()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    registered.wait(30)
    if failure:
        raise failure[0]
    try:
        yield executor
    finally:
        for _ in range(150):  # stop() is a no-op until run() has started
            executor.stop(abandon_polls=True)
            thread.join(0.2)
            if not thread.is_alive():
                break
