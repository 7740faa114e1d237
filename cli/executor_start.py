"""`colonies executor start`: run a built-in executor (colonies/builtin) until SIGTERM or Ctrl-C.

With the colony owner key (COLONIES_COLONY_PRVKEY or --colony-prvkey) it registers a new
executor under a key of its own, approves it, and removes it again on exit, which hands back
what it still holds. Without it, it runs as the already approved executor of COLONIES_PRVKEY
and fails what it still holds on exit. The first signal stops taking work and lets running
processes finish for --grace seconds; a second one hands them back at once.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from colonies.oneline import one_line

from . import output
from .node import UrlOption, _url

KINDS = ("shell", "python")


def _fail(message: str) -> NoReturn:
    output.error(message)
    raise typer.Exit(code=1)


@dataclass(frozen=True)
class Plan:
    """What to run, checked before anything talks to the node."""

    kind: str
    executortype: str
    name: str
    register: Callable[[Any], None]  # adds the functions to an Executor
    functions: list[str]


def _kind(kind: str, executortype: str, allow: list[str], modules: list[str], functions: list[str]) -> str:
    if kind:
        if kind not in KINDS:
            _fail(f"--kind must be shell or python, not {kind!r}")
        return kind
    if executortype in KINDS:
        return executortype
    if allow and not (modules or functions):
        return "shell"
    if (modules or functions) and not allow:
        return "python"
    _fail("say which built-in executor to run: --kind shell (with --allow) or --kind python (with --module)")


def _plan(kind: str, executortype: str, name: str, allow: list[str], modules: list[str], functions: list[str], allow_code: bool) -> Plan:
    kind = _kind(kind, executortype, allow, modules, functions)
    if kind == "shell":
        from colonies.builtin.shell import CommandError, register_commands, resolve_commands

        if modules or functions or allow_code:
            _fail("--module, --function and --allow-code are for --kind python")
        try:
            commands = resolve_commands(allow)
        except CommandError as err:
            _fail(str(err))
        return Plan(kind, executortype, name, lambda executor: register_commands(executor, commands), list(commands))
    from colonies.builtin.python import LoadError, load_functions, register_functions

    if allow:
        _fail("--allow is for --kind shell")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # --module finds modules in the current directory, as `python -m` does
    try:
        loaded = load_functions(modules, functions, allow_code=allow_code)
    except LoadError as err:
        _fail(str(err))
    return Plan(kind, executortype, name, lambda executor: register_functions(executor, loaded, allow_code=allow_code), list(loaded))


def _default_name(executortype: str) -> str:
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()).strip("-") or "host"
    return f"{executortype}-{host}-{secrets.token_hex(3)}"


def _backends() -> Any:
    """The CFS storage for `fs` mounts, when one is configured (as for `colonies fs`)."""
    if not (os.environ.get("AWS_S3_ENDPOINT") or os.environ.get("COLONIES_IPFS_API", "").strip()):
        return None
    from .fs import _backends as configured

    return configured()


def start(
    executortype: Annotated[str, typer.Option("--type", "-t", help="The executor type processes ask for.")],
    name: Annotated[str, typer.Option("--name", "-n", help="The executor's name (default: TYPE-HOST-random; with an approved identity: its name).")] = "",
    kind: Annotated[str, typer.Option("--kind", help="shell or python (default: the type when it is one of them, else what the flags imply).")] = "",
    allow: Annotated[list[str], typer.Option("--allow", help="shell: a command processes may run (repeat; a name on PATH or a path).")] = [],  # noqa: B006
    module: Annotated[list[str], typer.Option("--module", help="python: a module whose public functions processes may call (repeat).")] = [],  # noqa: B006
    function: Annotated[list[str], typer.Option("--function", help="python: register only these functions (repeat).")] = [],  # noqa: B006
    allow_code: Annotated[bool, typer.Option("--allow-code", help="python: run code sent inside a process, under a registered name.")] = False,
    parallel: Annotated[int, typer.Option("--parallel", min=1, help="Processes run at once.")] = 1,
    grace: Annotated[float, typer.Option("--grace", min=0, help="Seconds running processes may take to finish after SIGTERM.")] = 30.0,
    keepalive: Annotated[float, typer.Option("--keepalive", min=0.1, help="Seconds between checks that the node still knows this executor.")] = 30.0,
    assign_timeout: Annotated[int, typer.Option("--assign-timeout", min=1, help="Seconds one long-poll for work waits.")] = 10,
    location: Annotated[str, typer.Option("--location", help="Location name to register with.")] = "",
    fs_dir: Annotated[Path | None, typer.Option("--fs-dir", file_okay=False, help="Where `fs` mounts are materialised (default: in ~/.local/share/colonies).")] = None,
    colony: Annotated[str, typer.Option("--colony", envvar="COLONIES_COLONY_NAME", help="The colony's name.")] = "",
    colony_prvkey: Annotated[str, typer.Option("--colony-prvkey", envvar="COLONIES_COLONY_PRVKEY", help="The colony owner's key: register (and approve) a new executor.")] = "",
    prvkey: Annotated[str, typer.Option("--prvkey", envvar="COLONIES_PRVKEY", help="Without the colony key: the key of an approved executor to run as.")] = "",
    url: UrlOption = "",
) -> None:
    """Run a built-in executor (shell: allowed commands; python: module functions) until SIGTERM."""
    if not colony:
        _fail("the colony is needed: --colony or COLONIES_COLONY_NAME")
    if not (colony_prvkey or prvkey):
        _fail("a key is needed: the colony owner's (--colony-prvkey, COLONIES_COLONY_PRVKEY) or an approved executor's (--prvkey, COLONIES_PRVKEY)")
    plan = _plan(kind, executortype, name, allow, module, function, allow_code)
    backends = _backends()
    from colonies.builtin.runtime import RunSettings

    settings = RunSettings(parallel=parallel, grace=grace, keepalive=keepalive, assign_timeout=assign_timeout)
    work = _serve(_url(url), colony, colony_prvkey, prvkey, plan, settings, backends, location, fs_dir)
    _run_cli(work)


def _run_cli(work: Any) -> None:
    import aiohttp

    from colonies.wire import RPCError

    try:
        asyncio.run(work)
    except RPCError as err:
        _fail(f"{err.status}: {' '.join(err.message.split())}")
    except (OSError, aiohttp.ClientError, asyncio.TimeoutError) as err:
        _fail(f"cannot reach the node: {one_line(err)}")
    except _Refused as err:
        _fail(str(err))
    except KeyboardInterrupt:
        pass


class _Refused(Exception):
    """The identity given does not fit what was asked (one line)."""


async def _identity(client: Any, colony: str, prvkey: str, plan: Plan) -> tuple[str, str]:
    """The name and key of the already approved executor we run as."""
    from colonies.crypto import id_from_private_key

    executor = await client.get_executor_by_id(colony, id_from_private_key(prvkey))
    if plan.name and plan.name != executor.executorname:
        raise _Refused(f"COLONIES_PRVKEY is executor {executor.executorname}, not --name {plan.name}")
    if executor.executortype != plan.executortype:
        raise _Refused(f"executor {executor.executorname} has type {executor.executortype}, not --type {plan.executortype}")
    return executor.executorname, prvkey


async def _serve(
    url: str, colony: str, colony_prvkey: str, prvkey: str, plan: Plan, settings: Any, backends: Any, location: str, fs_dir: Path | None
) -> None:
    from colonies.builtin.runtime import running
    from colonies.client import AsyncClient
    from colonies.crypto import generate_private_key
    from colonies.executor import Executor

    stop, hurry = asyncio.Event(), asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        store = None
        if backends is not None:
            from .fs import _store

            store = await stack.enter_async_context(_store(backends))
        if colony_prvkey:
            name, key = plan.name or _default_name(plan.executortype), generate_private_key()
        else:
            async with AsyncClient(url, prvkey) as probe:
                name, key = await _identity(probe, colony, prvkey, plan)
        client = await stack.enter_async_context(AsyncClient(url, key))
        executor = Executor(
            url, colony, key, name, plan.executortype,
            colony_prvkey=colony_prvkey or None, locationname=location, client=client, store=store, fs_dir=fs_dir,
        )
        plan.register(executor)
        _on_signals(stop, hurry)
        async with running(executor, settings, hurry=hurry) as work:
            output.ready(
                f"{plan.kind} executor {name} (type {plan.executortype}) in colony {colony} at {url}: "
                f"{', '.join(plan.functions)}; {settings.parallel} at once; Ctrl-C or SIGTERM stops it"
            )
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({work, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if work.done():
                work.result()  # the executor failed: say why after the clean-up


def _on_signals(stop: asyncio.Event, hurry: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()

    def signalled() -> None:
        (hurry if stop.is_set() else stop).set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, signalled)
