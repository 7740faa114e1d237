"""Node-to-node messages (inside signed federation envelopes, federation/envelope.py)."""
from __future__ import annotations

from typing import Any

import msgspec


class Message(msgspec.Struct, kw_only=True):
    pass


class Lookup(Message):
    """Which executors of `executortype` does the receiver have for `colonyname`?"""

    colonyname: str
    executortype: str


class Provider(Message):
    """A node's offer for one colony and executor type (also the DHT record's content)."""

    node_id: str
    api_url: str
    colonyname: str
    executortype: str
    live: int  # live executors of that type
    waiting: int  # processes of that type queued there


class Forward(Message):
    """Run this process for me: `origin_processid` is the sender's id for it (idempotency key)."""

    origin_processid: str
    colonyname: str
    colonyid: str
    spec: msgspec.Raw
    input: list[Any] = msgspec.field(default_factory=list)


class Forwarded(Message):
    processid: str  # the receiver's id for the process


class Status(Message):
    """What became of the process I forwarded to you?"""

    origin_processid: str


class Result(Message):
    """The state of a forwarded process, from the node that runs it to its origin."""

    origin_processid: str
    state: int
    output: list[Any] = msgspec.field(default_factory=list)
    errors: list[str] = msgspec.field(default_factory=list)
    remote_processid: str = ""


class Ack(Message):
    ok: bool = True
