"""How much one reply or one write transaction may hold (docs/protocol.md, "Bounded replies and
bulk removals"): replies without a count of their own are cut at a fixed maximum, and bulk
removals run as a series of short transactions so that other requests get through between two."""
from __future__ import annotations

import asyncio
from typing import Callable, TypeVar

from sqlalchemy.engine import Connection

from colonies.node.store.database import Database

# getprocesshistmsg, getblueprinthistorymsg: the newest entries
MAX_HISTORY = 1000
# getfunctionsmsg, getlocationsmsg, getblueprintdefinitionsmsg, getblueprintsmsg
MAX_LIST = 10_000
# rows one transaction of a bulk removal deletes
REMOVE_BATCH = 500

Cursor = TypeVar("Cursor")


async def remove_in_batches(db: Database, batch: Callable[[Connection, int], int]) -> int:
    """Repeat `batch(conn, limit)` (→ rows removed), one write transaction each, until it removes
    fewer than `limit`; the rows removed."""
    return await remove_in_batches_from(db, lambda conn, _, limit: (batch(conn, limit), None), None)


async def remove_in_batches_from(db: Database, batch: Callable[[Connection, Cursor, int], tuple[int, Cursor]], cursor: Cursor) -> int:
    """As `remove_in_batches`, for a batch that says where the next one goes on:
    `batch(conn, cursor, limit)` → (rows removed, next cursor)."""
    total = 0
    while True:
        limit = REMOVE_BATCH
        removed, cursor = await db.write(lambda conn, at=cursor, n=limit: batch(conn, at, n))
        total += removed
        if removed < limit:
            return total
        await asyncio.sleep(0)  # a turn for whatever else is ready before the next batch
