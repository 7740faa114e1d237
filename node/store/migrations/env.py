"""Alembic's environment: migrations run on the connection (and transaction) the node hands in."""
from __future__ import annotations

from alembic import context

from colonies.node.store.migrations import import_tables
from colonies.node.store.schema import metadata

import_tables()
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("colonies migrations run on a connection the node hands in (see colonies.node.store.migrations)")
# render_as_batch: SQLite alters a table by copying it, which Alembic's batch mode does for us
context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
