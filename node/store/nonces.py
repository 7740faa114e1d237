"""Nonces of signed requests seen in strict mode (docs/security.md "Strict mode"): each is kept
until its request leaves the time window, so that a replay is refused even after a restart or
at another replica of the same store."""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table, delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from colonies.node.store.schema import metadata

request_nonces = Table(
    "request_nonces",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("expires", BigInteger, nullable=False),  # unix ns after which a replay is stale anyway
)
Index("request_nonces_by_expiry", request_nonces.c.expires)

N = request_nonces.c


def record(conn: Connection, nonce: str, expires: int) -> bool:
    """Keep `nonce` until `expires`; False when it is kept already (a replay). One statement:
    concurrent replicas cannot both take it."""
    insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(request_nonces).values(nonce=nonce, expires=expires).on_conflict_do_nothing(index_elements=["nonce"])
    return conn.execute(statement).rowcount == 1


def prune(conn: Connection, now: int) -> int:
    """Forget the nonces of requests that are outside the window now; how many went."""
    return conn.execute(delete(request_nonces).where(N.expires < now)).rowcount
