"""Strict mode (`security.strict`, docs/security.md): a signed payload must carry the time it was
signed and a nonce; the node refuses it outside the time window or when the nonce was seen.

The fields ride inside the signed payload beside the message's own, so a node or client that
does not know them ignores them (upstream's Go decoder and ours skip unknown fields). Nonces
are kept in the store until their payload leaves the window: a restart, or another replica of
the same store, does not let a replay through.
"""
from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import msgspec

from colonies.node.store import nonces
from colonies.wire import FRESHNESS_WINDOW_NS, RPCError

if TYPE_CHECKING:
    from colonies.node.store.database import Database

PRUNE_EVERY_NS = 10 * 1_000_000_000
_NONCE = re.compile(r"[0-9a-f]{32}")


class Freshness(msgspec.Struct):
    nonce: str = ""
    timestamp: int = 0  # unix ns when the payload was signed


_decoder = msgspec.json.Decoder(Freshness)


def freshness(payload: bytes) -> Freshness:
    """The nonce and timestamp of a payload that decoded as its message already."""
    try:
        return _decoder.decode(payload)
    except msgspec.ValidationError as err:
        raise RPCError(400, f"Invalid nonce or timestamp: {err}") from None


def refused(why: str) -> RPCError:
    return RPCError(403, f"Replay protection (strict mode): {why}")


class ReplayGuard:
    def __init__(self) -> None:
        self._pruned = 0

    async def admit(self, db: "Database", fresh: Freshness) -> None:
        """Record the payload's nonce, or refuse it (403) as stale, unmarked or replayed."""
        if not fresh.nonce or not fresh.timestamp:
            raise refused("the signed payload carries no nonce and timestamp; use a client that adds them")
        if not _NONCE.fullmatch(fresh.nonce):
            raise refused("the nonce must be 32 lowercase hex digits")
        now = time.time_ns()
        if abs(now - fresh.timestamp) > FRESHNESS_WINDOW_NS:
            raise refused(
                f"the payload was signed {(now - fresh.timestamp) / 1e9:.0f} s from the node's time, "
                f"outside the window of {FRESHNESS_WINDOW_NS // 1_000_000_000} s (check the clocks)"
            )
        prune = now - self._pruned > PRUNE_EVERY_NS
        if prune:
            self._pruned = now
        expires = fresh.timestamp + FRESHNESS_WINDOW_NS

        def step(conn) -> bool:  # type: ignore[no-untyped-def]
            if prune:
                nonces.prune(conn, now)
            return nonces.record(conn, fresh.nonce, expires)

        if not await db.write(step):
            raise refused("this signed payload was received before")
