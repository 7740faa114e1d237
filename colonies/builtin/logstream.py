"""A process log fed as output arrives: text is queued and sent by one sender, so a chatty child
costs one `addlogmsg` in flight at a time (what queued meanwhile goes together in the next)."""
from __future__ import annotations

import asyncio
import logging

from colonies.executor import Executor
from colonies.models import Process

log = logging.getLogger("colonies.builtin")

MAX_MESSAGE = 64 * 1024  # the node's limit for one log message (characters)


class LogStream:
    def __init__(self, executor: Executor, process: Process) -> None:
        self._executor = executor
        self._process = process
        self._pending: list[str] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._sender = asyncio.create_task(self._send_all(), name=f"log-{process.processid[:8]}")

    def write(self, text: str) -> None:
        if text:
            self._pending.append(text)
            self._wake.set()

    async def close(self) -> None:
        """Send what is queued, then stop (the process must still be running for the node to take it)."""
        self._closed = True
        self._wake.set()
        await self._sender

    def abandon(self) -> None:
        self._sender.cancel()

    async def _send_all(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                await self._send(self._take())
            if self._closed:
                return

    def _take(self) -> str:
        taken, size = [], 0
        while self._pending and size + len(self._pending[0]) <= MAX_MESSAGE:
            size += len(self._pending[0])
            taken.append(self._pending.pop(0))
        if not taken:  # one piece longer than a message: send it in slices
            piece = self._pending[0]
            taken.append(piece[:MAX_MESSAGE])
            self._pending[0] = piece[MAX_MESSAGE:]
        return "".join(taken)

    async def _send(self, message: str) -> None:
        try:
            await self._executor.log(self._process, message)
        except Exception as err:  # a log line lost must not fail the process
            log.warning("log of %s not sent: %r", self._process.processid, err)
