"""Node-to-node messages (inside signed federation envelopes, federation/envelope.py).

Work travels in batches: one envelope carries every forward, start request, result or heartbeat
that is due for one peer, so the signing cost and the round trip are paid per peer, not per process.
"""
from __future__ import annotations

from typing import Any

import msgspec

from colonies import models


class Message(msgspec.Struct, kw_only=True):
    pass


class Lookup(Message):
    """Which executors of `executortype` does the receiver have for `colonyname`? ("" = all types)"""

    colonyname: str
    executortype: str


class Load(Message):
    """Live executors of one type at a node, and that type's processes queued and running there."""

    live: int = 0
    waiting: int = 0
    running: int = 0


class Provider(Message):
    """A node's offer for one colony and executor type (also the DHT record's content)."""

    node_id: str
    api_url: str
    colonyname: str
    executortype: str
    live: int  # live executors of that type
    waiting: int  # processes of that type queued there
    running: int = 0  # processes of that type running there
    # the answer to a colony-level lookup (executortype ""): every type the node runs or queues
    types: dict[str, Load] = msgspec.field(default_factory=dict)


class Forward(Message):
    """Run this process for me: `origin_processid` is the sender's id for it (idempotency key)."""

    origin_processid: str
    colonyname: str
    colonyid: str
    spec: msgspec.Raw
    input: list[Any] = msgspec.field(default_factory=list)
    # granted with the forward (the receiver had idle executors): it may start without asking,
    # if it starts soon after arrival (federation/receiver.py)
    granted: bool = False
    # the CFS revisions and snapshots the spec mounts, resolved when forwarded (federation/data.py)
    files: list[models.File] = msgspec.field(default_factory=list)
    snapshots: list[models.Snapshot] = msgspec.field(default_factory=list)


class ForwardBatch(Message):
    forwards: list[Forward]
    sent_ms: int = 0  # the sender's clock when it sent the batch (grants expire with it)


class Accepted(Message):
    origin_processid: str
    processid: str = ""  # the receiver's id for the process; "" when refused
    status: int = 200  # 200 accepted; otherwise why not (404 colony not hosted, 400 invalid, 503 leaving)
    error: str = ""


class ForwardBatchReply(Message):
    accepted: list[Accepted]


class Result(Message):
    """The state of a forwarded process, from the node that runs it to its origin."""

    origin_processid: str
    state: int
    output: list[Any] = msgspec.field(default_factory=list)
    errors: list[str] = msgspec.field(default_factory=list)
    remote_processid: str = ""
    # the latest revisions under the process's sync-dir labels there (federation/data.py)
    files: list[models.File] = msgspec.field(default_factory=list)


class Report(Message):
    """From a peer to an origin: forwarded processes it is about to start (may it? at most one
    execution) and results of those that ended there, in one message."""

    starts: list[str] = msgspec.field(default_factory=list)
    results: list[Result] = msgspec.field(default_factory=list)


class ReportReply(Message):
    granted: list[str] = msgspec.field(default_factory=list)
    revoked: list[str] = msgspec.field(default_factory=list)  # taken back, cancelled or gone: drop the copy
    # results the origin has taken (applied, or known to be late duplicates): stop reporting them
    acknowledged: list[str] = msgspec.field(default_factory=list)


class Heartbeat(Message):
    """From an origin to a peer it has work at: everything the origin holds the peer responsible
    for (`held`), and what it took back or cancelled there (`revoked`). Anything of this origin's
    that the peer keeps and is not held is revoked too (after a grace for forwards in flight)."""

    held: list[str] = msgspec.field(default_factory=list)
    revoked: list[str] = msgspec.field(default_factory=list)
    complete: bool = True  # False when `held` was cut at the size limit: absence then revokes nothing


class HeartbeatReply(Message):
    running: list[str] = msgspec.field(default_factory=list)  # held and started here
    ended: list[Result] = msgspec.field(default_factory=list)  # held and finished (not yet acknowledged)
    unknown: list[str] = msgspec.field(default_factory=list)  # held, but this node has no copy
    load: list[Provider] = msgspec.field(default_factory=list)  # this node's offers for the colonies involved
    leaving: bool = False


class Ack(Message):
    ok: bool = True
