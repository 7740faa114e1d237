"""The shell executor: each allowed command is a function; a process runs it with its args.

A process `funcname=echo args=["hi", 3]` runs the allowed `echo` as argv `[/usr/bin/echo, hi, 3]`:
no shell, so nothing in the args is interpolated, and a funcname that was not allowed has no
function (the process fails without running anything). stdout and stderr go to the process log
as they arrive; stdout, less one trailing newline, becomes the output (`["hi 3"]`). Exit code 0
closes the process; any other fails it with the code and the tail of stderr. The child is killed,
with everything it started, when the spec's `maxexectime` runs out (a little before the node's
own deadline, so the reason recorded is ours), or when the executor hands the process back.

The child's environment is minimal (PATH, HOME, LANG, LC_ALL, TMPDIR, and COLONIES_PROCESS_ID):
the executor's variables may hold keys, and the spec's `env` could change what an allowed command
loads. Its working directory is the executor's CFS mount root when mounts are configured (the
spec's `fs` dirs are there, relative), else the executor's own.
"""
from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import re
import shutil
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from colonies.builtin.logstream import LogStream
from colonies.executor import Executor, ProcessFailed, current_process

MAX_OUTPUT = 1024 * 1024  # stdout kept as the output (bytes); the log has it all anyway
STDERR_TAIL = 2048  # bytes of stderr kept for the failure message
_CHUNK = 16 * 1024
_FUNCNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


class CommandError(ValueError):
    """An allowed command that cannot be used (not found, not executable, a bad name)."""


def resolve_commands(allow: list[str]) -> dict[str, str]:
    """funcname -> absolute path for each allowed command: a name is looked up on PATH now
    (later PATH changes do not matter), a path is taken as is and named by its last part."""
    commands: dict[str, str] = {}
    for entry in allow:
        if "/" in entry:
            path = str(Path(entry).resolve())
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                raise CommandError(f"--allow {entry}: not an executable file")
        else:
            found = shutil.which(entry)
            if found is None:
                raise CommandError(f"--allow {entry}: no such command on PATH")
            path = found
        funcname = Path(entry).name
        if not _FUNCNAME.match(funcname):
            raise CommandError(f"--allow {entry}: {funcname!r} cannot be a function name")
        if funcname in commands and commands[funcname] != path:
            raise CommandError(f"--allow {entry}: a command named {funcname} is already allowed ({commands[funcname]})")
        commands[funcname] = path
    if not commands:
        raise CommandError("a shell executor needs at least one --allow COMMAND")
    return commands


def register_commands(executor: Executor, commands: dict[str, str]) -> None:
    for funcname, path in commands.items():
        executor.register_function(funcname, _command(executor, funcname, path))


def _argv(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    if kwargs:
        raise ProcessFailed(f"shell functions take args only, not kwargs ({', '.join(sorted(kwargs))})")
    argv = []
    for i, arg in enumerate(args):
        if isinstance(arg, bool) or not isinstance(arg, (str, int, float)):
            raise ProcessFailed(f"arg {i} is a {type(arg).__name__}; shell args are strings or numbers")
        argv.append(str(arg))
    return argv


def _environment(processid: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in _PASSED_ENV if name in os.environ}
    env["COLONIES_PROCESS_ID"] = processid
    return env


def _deadline(maxexectime: int) -> float | None:
    """Seconds the child may run: the spec's maxexectime less a fifth of it, at most one second."""
    if maxexectime <= 0:
        return None
    return maxexectime - min(1.0, maxexectime * 0.2)


def _command(executor: Executor, funcname: str, path: str) -> Callable[..., Awaitable[list[str]]]:
    async def run(*args: Any, **kwargs: Any) -> list[str]:
        process = current_process()
        argv = _argv(args, kwargs)
        cwd = executor.mounts.root if executor.mounts is not None else None
        if cwd is not None:
            cwd.mkdir(parents=True, exist_ok=True)
        logs = LogStream(executor, process)
        try:
            child = await asyncio.create_subprocess_exec(
                path, *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=cwd,
                env=_environment(process.processid),
                start_new_session=True,  # its own process group: a kill takes its children too
            )
        except OSError as err:
            await logs.close()
            raise ProcessFailed(f"{funcname} could not be started: {err}") from None
        stdout, stderr = bytearray(), bytearray()
        limit = _deadline(process.spec.maxexectime)
        try:
            await asyncio.wait_for(
                asyncio.gather(
                    _pump(child.stdout, logs, stdout, keep_head=MAX_OUTPUT + 1),
                    _pump(child.stderr, logs, stderr, keep_tail=STDERR_TAIL),
                    child.wait(),
                ),
                limit,
            )
        except TimeoutError:
            _kill(child)
            await child.wait()
            await logs.close()
            raise ProcessFailed(
                f"{funcname} was killed: it ran out of maxexectime ({process.spec.maxexectime} s)", *_tail(stderr)
            ) from None
        except BaseException:  # cancelled: the executor hands the process back
            _kill(child)
            with contextlib.suppress(ProcessLookupError):
                await child.wait()
            logs.abandon()
            raise
        await logs.close()
        code = child.returncode
        if code != 0:
            how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
            raise ProcessFailed(f"{funcname} {how}", *_tail(stderr))
        if len(stdout) > MAX_OUTPUT:
            raise ProcessFailed(f"{funcname} wrote more than {MAX_OUTPUT} bytes to stdout (all of it is in the log)")
        text = stdout.decode("utf-8", errors="replace")
        return [text[:-1] if text.endswith("\n") else text]

    run.__name__ = funcname
    return run


async def _pump(
    stream: asyncio.StreamReader | None, logs: LogStream, kept: bytearray, *, keep_head: int = 0, keep_tail: int = 0
) -> None:
    """Copy a pipe into the log as it comes, keeping its head (stdout) or its tail (stderr)."""
    if stream is None:
        return
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while chunk := await stream.read(_CHUNK):
        logs.write(decoder.decode(chunk))
        if keep_head and len(kept) < keep_head:
            kept += chunk[: keep_head - len(kept)]
        elif keep_tail:
            kept += chunk
            del kept[:-keep_tail]
    logs.write(decoder.decode(b"", final=True))


def _tail(stderr: bytearray) -> list[str]:
    text = stderr.decode("utf-8", errors="replace").strip()
    return [f"stderr: {text}"] if text else []


def _kill(child: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
