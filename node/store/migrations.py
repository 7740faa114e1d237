"""Schema versions. A new table is created by `metadata.create_all`; a change to an existing table
is a migration step here, run once, in order, recorded in the `server` table."""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from colonies.node.store import directory as facts
from colonies.node.store.schema import SCHEMA_VERSION, metadata



def _add_columns(conn: Connection, table: str, columns: dict[str, str]) -> None:
    """Add missing columns to a table if it exists (a table created by create_all has them)."""
    inspector = inspect(conn)
    if not inspector.has_table(table):
        return
    present = {c["name"] for c in inspector.get_columns(table)}
    for name, ddl in columns.items():
        if name not in present:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {ddl}"))


def _v2_federation_leases(conn: Connection) -> None:
    """Start grants at the origin, arrival times at the receiver (docs/federation.md)."""
    _add_columns(conn, "federation_outbound", {"started": "BIGINT NOT NULL DEFAULT 0"})
    _add_columns(conn, "federation_inbound", {"received": "BIGINT NOT NULL DEFAULT 0"})
    if inspect(conn).has_table("federation_outbound"):
        conn.execute(text("CREATE INDEX IF NOT EXISTS federation_outbound_by_peer ON federation_outbound (peer_node, started)"))


def _v3_cfs_ipfs(conn: Connection) -> None:
    """File revisions whose bytes are in IPFS (docs/cfs.md)."""
    _add_columns(conn, "cfs_files", {"ipfs_cid": "TEXT NOT NULL DEFAULT ''", "ipfs_providers": "TEXT NOT NULL DEFAULT '[]'"})
    if inspect(conn).has_table("cfs_files"):
        conn.execute(text("CREATE INDEX IF NOT EXISTS cfs_files_by_cid ON cfs_files (ipfs_cid)"))


# version reached → step that brings the previous version to it
STEPS: dict[int, Callable[[Connection], None]] = {2: _v2_federation_leases, 3: _v3_cfs_ipfs}


class SchemaTooNew(RuntimeError):
    pass


def _import_tables() -> None:
    """Tables live beside their queries (node/store/<domain>.py); import them all to register them."""
    import colonies.cfs.pinning  # noqa: F401  (CFS pins)
    import colonies.cfs.store  # noqa: F401  (CFS metadata tables)
    import colonies.node.store as store

    for info in pkgutil.iter_modules(store.__path__):
        importlib.import_module(f"{store.__name__}.{info.name}")


def migrate(conn: Connection) -> int:
    """Create missing tables, run pending steps; the schema version now in force."""
    _import_tables()
    metadata.create_all(conn)
    recorded = facts.get_fact(conn, "schema_version")
    current = int(recorded) if recorded else SCHEMA_VERSION
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(f"the store has schema version {current}; this node understands up to {SCHEMA_VERSION}")
    for version in range(current + 1, SCHEMA_VERSION + 1):
        STEPS[version](conn)
    facts.set_fact(conn, "schema_version", str(SCHEMA_VERSION))
    return SCHEMA_VERSION
