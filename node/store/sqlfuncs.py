"""Small SQL functions spelled differently per dialect."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Boolean


class text_contains(FunctionElement[bool]):
    """`needle` occurs in `haystack` (plain substring; no LIKE wildcards, and cheap to plan)."""

    type = Boolean()
    inherit_cache = True
    name = "text_contains"


@compiles(text_contains)
def _default(element: text_contains, compiler: Any, **kw: Any) -> str:
    haystack, needle = list(element.clauses)
    return f"(position({compiler.process(needle, **kw)} in {compiler.process(haystack, **kw)}) > 0)"


@compiles(text_contains, "sqlite")
def _sqlite(element: text_contains, compiler: Any, **kw: Any) -> str:
    haystack, needle = list(element.clauses)
    return f"(instr({compiler.process(haystack, **kw)}, {compiler.process(needle, **kw)}) > 0)"


@compiles(text_contains, "postgresql")
def _postgresql(element: text_contains, compiler: Any, **kw: Any) -> str:
    haystack, needle = list(element.clauses)
    return f"(strpos({compiler.process(haystack, **kw)}, {compiler.process(needle, **kw)}) > 0)"


def upsert(conn: Connection, table: Table, values: dict[str, Any], keys: Sequence[str]) -> None:
    """Insert the row, or update it where one with the same `keys` exists: one statement
    (INSERT … ON CONFLICT DO UPDATE) that concurrent writers cannot race into a duplicate."""
    insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values(**values)
    changes = {name: statement.excluded[name] for name in values if name not in keys}
    conn.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=changes))
