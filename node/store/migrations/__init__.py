"""Schema migrations with Alembic, for SQLite and PostgreSQL alike.

`migrate(conn)` runs at every start: a fresh store is built by the revisions in `versions/`, a
store from before Alembic (schema versions 1–3, see `legacy_schema`) is brought to the baseline
and stamped, and a store at a revision this node does not know (written by a newer node) is
refused. A new revision: `python -m colonies.node.store.migrations revision "what changes"`.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

HERE = Path(__file__).resolve().parent


class SchemaTooNew(RuntimeError):
    pass


def import_tables() -> None:
    """Tables live beside their queries (node/store/<domain>.py, cfs/, federation/); import them
    all so that the one MetaData holds every table."""
    import colonies.cfs.pinning  # noqa: F401  (CFS pins)
    import colonies.cfs.store  # noqa: F401  (CFS metadata tables)
    import colonies.federation.store  # noqa: F401  (federation leases and copies)
    import colonies.node.store as store

    for info in pkgutil.iter_modules(store.__path__):
        importlib.import_module(f"{store.__name__}.{info.name}")


def alembic_config(conn: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["connection"] = conn
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def migrate(conn: Connection) -> str:
    """Bring the store to this node's head revision (in the caller's transaction); the head."""
    from colonies.node.store import legacy_schema

    import_tables()
    config = alembic_config(conn)
    script = ScriptDirectory.from_config(config)
    current = current_revision(conn)
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        raise SchemaTooNew(f"the store is at schema revision {current}, which this node does not know: it was written by a newer node")
    if current is None and legacy_schema.is_pre_alembic(conn):
        legacy_schema.bring_to_baseline(conn)  # the baseline then adds only what is missing
    command.upgrade(config, "head")
    return head_revision()
