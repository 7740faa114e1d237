"""Run one node until SIGINT/SIGTERM, then stop it cleanly."""
from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, NoReturn, Protocol

import typer

from colonies.node.config import NodeConfig

from . import output
from .node_config import ensure_data_dir


class ServedNode(Protocol):
    port: int
    url: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


NodeFactory = Callable[[NodeConfig], ServedNode]
# Something that runs next to the node (the dev shell executor): entered once the node listens,
# before the ready announcement, and left before the node stops.
Companion = Callable[[ServedNode], contextlib.AbstractAsyncContextManager[object]]


def _default_factory(config: NodeConfig) -> ServedNode:
    # Imported here so `colonies --help` and `colonies version` never load the server.
    from colonies.node.server import Node

    return Node(config)


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):
            pass  # not the main thread / no Unix signals: Ctrl-C still raises KeyboardInterrupt
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def serve(
    config: NodeConfig,
    on_ready: Callable[[ServedNode], None],
    *,
    stop: asyncio.Event | None = None,
    node_factory: NodeFactory | None = None,
    companion: Companion | None = None,
) -> None:
    """Start the node (a dev node makes its dev identities before it listens), start its companion,
    announce, wait for `stop`."""
    stop = stop if stop is not None else asyncio.Event()
    node = (node_factory or _default_factory)(config)
    with stop_on_signals(stop):
        await node.start()
        try:
            async with contextlib.AsyncExitStack() as stack:
                if companion is not None:
                    await stack.enter_async_context(companion(node))
                on_ready(node)
                await _until_stopped(stop, node)
        finally:
            await node.stop()


async def _until_stopped(stop: asyncio.Event, node: ServedNode) -> None:
    """A signal, or the node asking to stop (it left its federation)."""
    core = getattr(node, "core", None)
    requested = getattr(core, "shutdown", None)
    waiters = [asyncio.ensure_future(stop.wait())]
    if isinstance(requested, asyncio.Event):
        waiters.append(asyncio.ensure_future(requested.wait()))
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` on uvloop when it is installed, else on the default asyncio loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def run_node(config: NodeConfig, on_ready: Callable[[ServedNode], None], companion: Companion | None = None) -> None:
    """Serve `config` (with its companion) until stopped; a node that cannot start is a one-line
    error and exit code 1."""
    try:
        ensure_data_dir(config)
        run(serve(config, on_ready, companion=companion))
    except KeyboardInterrupt:
        pass
    except OSError as err:  # typically: address already in use
        _fail(f"cannot run the node on {config.host}:{config.port}: {err}")
    except (ValueError, RuntimeError) as err:  # a config the node refuses at start; IpfsStartError
        _fail(f"cannot run the node: {err}")


def _fail(message: str) -> NoReturn:
    output.error(message)
    raise typer.Exit(code=1)
