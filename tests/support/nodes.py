"""Real nodes for tests: a node on a free loopback port, served from its own thread and loop."""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Coroutine

from colonies import dev
from colonies.node.config import NodeConfig
from colonies.node.server import Node


@dataclass
class RunningNode:
    node: Node
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread

    @property
    def url(self) -> str:
        return self.node.url

    @property
    def port(self) -> int:
        return self.node.port

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        """Run a coroutine on the node's loop (to reach its internals) and wait for the result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.call(self.node.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def start_node(data_dir: Path, **overrides: Any) -> RunningNode:
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "data_dir": str(data_dir),
        "server_id": dev.SERVER_ID,
        "timeout_check_interval": 0.2,
    }
    settings.update(overrides)
    config = NodeConfig(**settings)
    loop = asyncio.new_event_loop()
    started: Future[Node] = Future()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        node = Node(config)

        async def boot() -> None:
            try:
                await node.start()
                started.set_result(node)
            except BaseException as err:  # surfaced to the test thread
                started.set_exception(err)

        loop.create_task(boot())
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=serve, name="test-node", daemon=True)
    thread.start()
    node = started.result(30)
    return RunningNode(node=node, loop=loop, thread=thread)
