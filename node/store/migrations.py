"""Schema versions. A new table is created by `metadata.create_all`; a change to an existing table
is a migration step here, run once, in order, recorded in the `server` table."""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

from sqlalchemy.engine import Connection

from colonies.node.store import directory as facts
from colonies.node.store.schema import SCHEMA_VERSION, metadata

# version reached → step that brings the previous version to it
STEPS: dict[int, Callable[[Connection], None]] = {}


class SchemaTooNew(RuntimeError):
    pass


def _import_tables() -> None:
    """Tables live beside their queries (node/store/<domain>.py); import them all to register them."""
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
