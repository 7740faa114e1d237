"""Real embedded IPFS nodes for tests: `EmbeddedIpfs` (libkubo in a subprocess) on 127.0.0.1,
always killed with SIGKILL at teardown, startup bounded.

Fixtures (imported in tests/conftest.py):

    ipfs_node, ipfs_peer   two nodes per test module (separate processes, not connected
                           to each other at the start); tests must not kill or corrupt them
    ipfs_nodes             a factory for nodes a test may kill, restart or corrupt:
                           `ipfs_nodes.start("a", fetch_timeout=2)`; all killed at teardown

The managers run on one background event loop (`IpfsLoop`) so that sync tests and module-scoped
fixtures can use them; IpfsStorage in async tests talks HTTP and needs nothing of that loop.
"""
from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from colonies.cfs.ipfs.blocks import block_path, child_cids
from colonies.cfs.ipfs.embedded import EmbeddedIpfs
from colonies.cfs.storage import IpfsConfig

T = TypeVar("T")
KiB = 1024
MiB = 1024 * KiB
FETCH_TIMEOUT = 3.0  # the nodes' default for a cat or pin/add (seconds)
STARTUP_TIMEOUT = 60.0


class IpfsLoop:
    """An event loop on a daemon thread; `run(coro)` waits (bounded) for its result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="ipfs-test-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@dataclass
class IpfsTestNode:
    embedded: EmbeddedIpfs
    loop: IpfsLoop

    @property
    def repo(self) -> Path:
        return self.embedded.repo_dir

    @property
    def api(self) -> str:
        return self.embedded.api_multiaddr

    @property
    def peer_id(self) -> str:
        return self.embedded.peer_id

    @property
    def swarm_addrs(self) -> list[str]:
        return list(self.embedded.swarm_addrs)

    def client(self) -> Any:
        import ipfshttpclient

        return ipfshttpclient.Client(self.api + "/http", timeout=30)

    def config(self, **overrides: Any) -> IpfsConfig:
        settings: dict[str, Any] = {"api": self.api, "timeout": FETCH_TIMEOUT, "connect_timeout": 3.0}
        settings.update(overrides)
        return IpfsConfig(**settings)

    def stop(self) -> None:
        """SIGKILL and reap (no restart follows)."""
        self.loop.run(self.embedded.stop())

    def start(self) -> None:
        self.loop.run(self.embedded.start())

    def restart(self) -> None:
        self.loop.run(self.embedded.restart())

    def tmp_files(self) -> list[Path]:
        """What the node's process holds in its scratch directory (fetches in progress)."""
        tmp = self.repo / "colonies-tmp"
        return sorted(tmp.iterdir()) if tmp.exists() else []


@dataclass
class IpfsNodes:
    loop: IpfsLoop
    root: Path
    nodes: list[IpfsTestNode] = field(default_factory=list)

    def start(self, name: str = "node", **options: Any) -> IpfsTestNode:
        options.setdefault("fetch_timeout", FETCH_TIMEOUT)
        options.setdefault("startup_timeout", STARTUP_TIMEOUT)
        options.setdefault("swarm", "/ip4/127.0.0.1/tcp/0")
        repo = self.root / f"{name}-{len(self.nodes)}"
        node = IpfsTestNode(EmbeddedIpfs(repo, **options), self.loop)
        self.nodes.append(node)
        node.start()
        return node

    def stop_all(self) -> None:
        for node in self.nodes:
            try:
                node.stop()
            except Exception:  # keep killing the others
                pass


def swarm_connect(client: Any, multiaddr: str) -> Any:
    """`swarm/connect` through ipfshttpclient's request layer: its `swarm.connect` of 0.7.0 also
    sends each character of the address as an argument."""
    return client._client.request("/swarm/connect", (multiaddr,), decoder="json")[0]


def seeded_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll until `condition()` holds; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def dag_blocks(repo: Path, cid: str) -> tuple[Path, list[str]]:
    """The root block file of `cid` in `repo` and the CIDs it links to."""
    root = block_path(repo, cid)
    return root, child_cids(root.read_bytes())


def drop_blocks(repo: Path, cids: list[str]) -> None:
    for cid in cids:
        block_path(repo, cid).unlink()


def corrupt_block(repo: Path, cid: str) -> None:
    """Flip one byte in the middle of the block's payload, in place."""
    path = block_path(repo, cid)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture(scope="session")
def ipfs_loop() -> Iterator[IpfsLoop]:
    loop = IpfsLoop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def _ipfs_module_nodes(ipfs_loop: IpfsLoop) -> Iterator[IpfsNodes]:
    root = Path(tempfile.mkdtemp(prefix="ipfs-test-"))
    nodes = IpfsNodes(ipfs_loop, root)
    yield nodes
    nodes.stop_all()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def ipfs_node(_ipfs_module_nodes: IpfsNodes) -> IpfsTestNode:
    return _ipfs_module_nodes.start("a")


@pytest.fixture(scope="module")
def ipfs_peer(_ipfs_module_nodes: IpfsNodes) -> IpfsTestNode:
    return _ipfs_module_nodes.start("b")


@pytest.fixture
def ipfs_nodes(ipfs_loop: IpfsLoop, tmp_path: Path) -> Iterator[IpfsNodes]:
    nodes = IpfsNodes(ipfs_loop, tmp_path)
    yield nodes
    nodes.stop_all()
