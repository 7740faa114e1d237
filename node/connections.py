"""Connections that cannot be held open for free (docs/security.md, "Limits").

aiohttp closes a connection that stays idle for `keepalive_timeout`, but one that has sent part
of a request's headers and then nothing more counts as idle only from the same clock, so a few
hundred such sockets could hold every file descriptor of the node for as long as that timeout.
Here a request's headers must arrive whole within `header_timeout` of the connection opening or
of the request's first byte, as Go's ReadHeaderTimeout does; a connection that misses it is closed.
"""
from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler


class _HeaderTimedHandler(RequestHandler):
    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_handle: asyncio.TimerHandle | None = None
        self._requests_when_armed = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._header_handle is None and self._current_request is None:
            self._arm()  # the first byte of a request on a kept-alive connection
        super().data_received(data)
        if self._header_handle is not None and self._request_count != self._requests_when_armed:
            self._disarm()  # its headers are complete

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self.header_timeout > 0:
            self._requests_when_armed = self._request_count
            self._header_handle = self._loop.call_later(self.header_timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._header_handle is not None:
            self._header_handle.cancel()
            self._header_handle = None

    def _headers_late(self) -> None:
        self._header_handle = None
        if self._request_count == self._requests_when_armed and self._current_request is None:
            self.force_close()


class _HeaderTimedServer(web.Server):
    header_timeout: float = 10.0

    def __call__(self) -> RequestHandler:
        handler = _HeaderTimedHandler(self, loop=self._loop, **self._kwargs)
        handler.header_timeout = self.header_timeout
        return handler


class BoundedAppRunner(web.AppRunner):
    """An AppRunner whose connections time out half-sent headers after `header_timeout` seconds."""

    def __init__(self, app: web.Application, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._header_timeout = header_timeout

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _HeaderTimedServer  # same object, only the handler it makes differs
        server.header_timeout = self._header_timeout  # type: ignore[attr-defined]
        return server
