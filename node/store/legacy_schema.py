"""Stores written before Alembic: numbered schema versions (1–3) recorded as the `schema_version`
fact. `bring_to_baseline` applies the column changes those versions made to existing tables; the
baseline revision then creates whatever table or index is still missing, and Alembic takes over."""
from __future__ import annotations

from typing import Callable

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from colonies.node.store import directory as facts

LAST_LEGACY_VERSION = 3


def is_pre_alembic(conn: Connection) -> bool:
    return inspect(conn).has_table("server") and facts.get_fact(conn, "schema_version") is not None


def _add_columns(conn: Connection, table: str, columns: dict[str, str]) -> None:
    inspector = inspect(conn)
    if not inspector.has_table(table):
        return
    present = {c["name"] for c in inspector.get_columns(table)}
    for name, ddl in columns.items():
        if name not in present:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {ddl}"))


def _v2_federation_leases(conn: Connection) -> None:
    _add_columns(conn, "federation_outbound", {"started": "BIGINT NOT NULL DEFAULT 0"})
    _add_columns(conn, "federation_inbound", {"received": "BIGINT NOT NULL DEFAULT 0"})


def _v3_cfs_ipfs(conn: Connection) -> None:
    _add_columns(conn, "cfs_files", {"ipfs_cid": "TEXT NOT NULL DEFAULT ''", "ipfs_providers": "TEXT NOT NULL DEFAULT '[]'"})


# version reached → the change that brought the previous version to it (indexes: the baseline)
STEPS: dict[int, Callable[[Connection], None]] = {2: _v2_federation_leases, 3: _v3_cfs_ipfs}


def bring_to_baseline(conn: Connection) -> None:
    from colonies.node.store.migrations import SchemaTooNew

    recorded = int(facts.get_fact(conn, "schema_version") or LAST_LEGACY_VERSION)
    if recorded > LAST_LEGACY_VERSION:
        raise SchemaTooNew(f"the store has schema version {recorded}; this node understands up to {LAST_LEGACY_VERSION} before its Alembic revisions")
    for version in range(recorded + 1, LAST_LEGACY_VERSION + 1):
        STEPS[version](conn)
