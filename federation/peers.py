"""Talking to peer nodes: signed requests to `POST {peer}/federation`, signed replies checked."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TypeVar

import aiohttp
import msgspec

from colonies.federation import envelope
from colonies.federation.membership import Certificate, MembershipError
from colonies.federation.messages import Lookup, Message, Provider

T = TypeVar("T")

REQUEST_TIMEOUT = 5.0
LOOKUP_TIMEOUT = 1.5  # a peer that cannot say what it runs within this is left out of the answer


class PeerError(Exception):
    """A peer could not be reached or refused; `status` is its HTTP status (0 = unreachable)."""

    def __init__(self, status: int, message: str, *, delivered: bool | None = False) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        # whether the peer may have received the message: False when the connection was refused
        # or the peer answered with an error; None (unknown) when the call timed out or broke
        self.delivered = delivered


@dataclass
class NodeIdentity:
    prvkey: str
    node_id: str
    cert: Certificate
    authority_id: str


class PeerClient:
    def __init__(self, identity: NodeIdentity) -> None:
        self.identity = identity
        self._session: aiohttp.ClientSession | None = None
        self._replay = envelope.ReplayGuard()
        self.rtt: dict[str, float] = {}  # node id → smoothed round-trip seconds of its last replies

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(
        self, url: str, payloadtype: str, message: Message, reply: type[T], *, timeout: float | None = None, node_id: str = ""
    ) -> tuple[Certificate, T]:
        """Send one signed message; the verified signer of the reply and the reply. With `node_id`,
        the message is addressed to that node and a reply signed by any other node is refused."""
        me = self.identity
        body = envelope.build(payloadtype, message, me.prvkey, me.cert, to=node_id)
        started = time.monotonic()
        # no `timeout` argument at all means the session's; an explicit None would mean none
        limit = {"timeout": aiohttp.ClientTimeout(total=timeout)} if timeout is not None else {}
        try:
            async with self._http().post(url.rstrip("/") + "/federation", data=body, **limit) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientConnectorError, ConnectionRefusedError) as err:
            raise PeerError(0, f"{url} unreachable: {err!r}") from None
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as err:
            raise PeerError(0, f"{url} did not answer: {err!r}", delivered=None) from None
        if status != 200:
            # a server error may come after the peer stored what it was sent: not a refusal
            raise PeerError(status, raw[:300].decode(errors="replace"), delivered=None if status >= 500 else False)
        try:
            cert, _, payload = envelope.open_envelope(raw, authority_id=me.authority_id, recipient=me.node_id, replay=self._replay)
        except (MembershipError, envelope.EnvelopeError) as err:
            raise PeerError(502, f"{url} sent an invalid reply: {err}") from None
        if node_id and cert.node_id != node_id:
            raise PeerError(502, f"{url} answered as node {cert.node_id[:12]}, not {node_id[:12]}")
        elapsed = time.monotonic() - started
        previous = self.rtt.get(cert.node_id)
        self.rtt[cert.node_id] = elapsed if previous is None else 0.8 * previous + 0.2 * elapsed
        return cert, msgspec.json.decode(payload, type=reply)


class PeerQuery:
    """Providers found by asking configured peers directly (no DHT needed); answers are cached
    by the caller (federation/providers.py)."""

    def __init__(self, client: PeerClient, urls: list[str]) -> None:
        self.client = client
        self.urls = [u for u in urls if u]

    async def lookup(self, colonyname: str, executortype: str) -> list[Provider]:
        replies = await asyncio.gather(
            *(self.client.call(url, "lookup", Lookup(colonyname=colonyname, executortype=executortype), Provider, timeout=LOOKUP_TIMEOUT) for url in self.urls),
            return_exceptions=True,
        )
        found = []
        for reply in replies:
            if isinstance(reply, BaseException):
                continue
            cert, provider = reply
            # a provider speaks only for itself, at the address its certificate names
            if provider.node_id == cert.node_id and provider.api_url == cert.api_url:
                found.append(provider)
        return found
