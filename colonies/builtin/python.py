"""The python executor: functions from modules the operator lists, called with a process's args
and kwargs; the return value is the output, an exception fails the process with its message.

`load_functions(["pkg.mod"])` registers every public function defined in `pkg.mod` (its `__all__`
when it has one); `names` narrows that to a list. Code sent inside a process (pycolonies'
`func_spec(callable, ...)` puts its source, base64, in `spec.env["code"]`) runs only when the
operator allowed it (`allow_code`), and only under a registered name: `names` may then list
functions that exist only as sent code. Without `allow_code`, a process carrying code is failed
unrun, even when a module defines its function.

Sync functions run in daemon threads (a function that never returns cannot keep the executor
from stopping; its process is handed back); `current_process()` works in both kinds, and
`local_dir("/out/{processid}")` says where one of the spec's `fs` dirs is on this executor.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import contextvars
import importlib
import inspect
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from colonies.executor import Executor, ProcessFailed, current_process

CODE_ENV = "code"

_mount_root: contextvars.ContextVar[Path | None] = contextvars.ContextVar("colonies_mount_root", default=None)


def local_dir(dir: str) -> Path:
    """The local directory of the running process's `fs` dir `dir` (its `{processid}` filled in),
    inside the executor's mount root; raises LookupError when the executor has no mounts."""
    from colonies.cfs.mounts import _place

    root = _mount_root.get()
    if root is None:
        raise LookupError("this executor has no CFS mounts (configure storage for it)")
    return _place(root, dir, current_process().processid)


class LoadError(ValueError):
    """A module or function the operator listed cannot be used."""


def _public_functions(module: Any) -> dict[str, Callable[..., Any]]:
    names = getattr(module, "__all__", None)
    found: dict[str, Callable[..., Any]] = {}
    for name, value in vars(module).items():
        if not inspect.isfunction(value):
            continue
        if names is not None:
            if name in names:
                found[name] = value
        elif not name.startswith("_") and value.__module__ == module.__name__:
            found[name] = value
    return found


def load_functions(modules: list[str], names: list[str] | None = None, *, allow_code: bool = False) -> dict[str, Callable[..., Any] | None]:
    """funcname -> the module function, or None for a name that runs sent code only."""
    available: dict[str, Callable[..., Any]] = {}
    for modname in modules:
        try:
            module = importlib.import_module(modname)
        except Exception as err:  # ImportError, or the module failing at import
            raise LoadError(f"--module {modname}: cannot import it ({type(err).__name__}: {err})") from None
        for name, fn in _public_functions(module).items():
            if name in available and available[name] is not fn:
                raise LoadError(f"--module {modname}: a function {name} comes from another listed module too")
            available[name] = fn
    if not names:
        if not available:
            raise LoadError("no functions: give --module with public functions, or --function names with --allow-code")
        return dict(available)
    chosen: dict[str, Callable[..., Any] | None] = {}
    for name in names:
        if name in available:
            chosen[name] = available[name]
        elif allow_code:
            chosen[name] = None
        else:
            raise LoadError(f"--function {name}: no listed module defines it (code-only names need --allow-code)")
    return chosen


def register_functions(executor: Executor, functions: dict[str, Callable[..., Any] | None], *, allow_code: bool) -> None:
    for name, fn in functions.items():
        executor.register_function(name, _entry(executor, name, fn, allow_code))


def _entry(executor: Executor, name: str, fn: Callable[..., Any] | None, allow_code: bool) -> Callable[..., Awaitable[Any]]:
    async def run(*args: Any, **kwargs: Any) -> Any:
        _mount_root.set(executor.mounts.root if executor.mounts is not None else None)
        code = (current_process().spec.env or {}).get(CODE_ENV)
        if code:
            if not allow_code:
                raise ProcessFailed(f"{name}: this executor does not run code sent with a process (the operator did not allow it)")
            target = _from_code(name, code)
        elif fn is None:
            raise ProcessFailed(f"{name} runs sent code only, and this process carries none")
        else:
            target = fn
        if inspect.iscoroutinefunction(target):
            return await target(*args, **kwargs)
        result = await _in_daemon_thread(target, args, kwargs)
        return await result if inspect.isawaitable(result) else result

    run.__name__ = name
    return run


def _from_code(name: str, code: str) -> Callable[..., Any]:
    try:
        source = base64.b64decode(code, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ProcessFailed(f"{name}: the code sent is not base64 of UTF-8 text") from None
    namespace: dict[str, Any] = {"__name__": "colonies_sent_code"}
    try:
        exec(compile(source, f"<code of {name}>", "exec"), namespace)  # allowed by the operator (allow_code)
    except Exception as err:
        raise ProcessFailed(f"{name}: the code sent does not load ({type(err).__name__}: {err})") from None
    target = namespace.get(name)
    if not callable(target):
        raise ProcessFailed(f"{name}: the code sent defines no function {name}")
    return target


async def _in_daemon_thread(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(outcome: Callable[[Any], None], value: Any) -> None:
        if not done.done():
            outcome(value)

    def report(outcome: Callable[[Any], None], value: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: the executor stopped meanwhile
            loop.call_soon_threadsafe(settle, outcome, value)

    def work() -> None:
        try:
            value = context.run(fn, *args, **kwargs)
        except Exception as err:
            report(done.set_exception, err)
        except BaseException as err:  # SystemExit, KeyboardInterrupt: a failure, not the executor's end
            report(done.set_exception, ProcessFailed(f"{type(err).__name__}: {err}"))
        else:
            report(done.set_result, value)

    threading.Thread(target=work, name=f"colonies-fn-{getattr(fn, '__name__', 'fn')}", daemon=True).start()
    return await done
