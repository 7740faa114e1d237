"""Statements compiled once per dialect for the hot paths (submit, assign, close).

SQLAlchemy Core stays the single source of the SQL; this skips rebuilding each statement, its
cache key and result metadata on every call, which for these one-row statements costs more than
the database's own work. Rows come back as plain dicts.

On SQLite the statement runs on the DBAPI cursor of the connection SQLAlchemy holds. On PostgreSQL
it goes straight to the asyncpg connection underneath (its own statement cache prepares it once),
inside the transaction the runner began on it (node/store/database.py): SQLAlchemy's cursor
emulation cost about as much CPU as asyncpg itself.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.util import await_only

Row = dict[str, Any]

# Rows per executemany on PostgreSQL: asyncpg encodes a whole call on the loop thread, so a
# 10,000-row insert goes in slices with the loop free between them.
MANY_SLICE = 500


class Prepared:
    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...], dict[str, Any]]] = {}

    def _for(self, conn: Connection) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        dialect = conn.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            c = self.statement.compile(dialect=dialect)
            compiled = (str(c), tuple(c.positiontup or ()), dict(c.params))
            self._compiled[dialect.name] = compiled
        return compiled

    def _values(self, conn: Connection, params: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
        sql, names, defaults = self._for(conn)
        return sql, tuple(params[n] if n in params else defaults[n] for n in names)

    def _cursor(self, conn: Connection, params: dict[str, Any]) -> Any:
        sql, values = self._values(conn, params)
        # The DBAPI cursor of the connection SQLAlchemy holds, inside its current transaction.
        cursor = conn.connection.cursor()
        cursor.execute(sql, values)
        return cursor

    def first(self, conn: Connection, params: dict[str, Any]) -> Row | None:
        if conn.dialect.name == "postgresql":
            sql, values = self._values(conn, params)
            found = await_only(_driver(conn).fetchrow(sql, *values))
            return dict(found) if found is not None else None
        cursor = self._cursor(conn, params)
        try:
            row = cursor.fetchone()
            if row is None:
                return None
            return dict(zip([d[0] for d in cursor.description], row))
        finally:
            cursor.close()

    def all(self, conn: Connection, params: dict[str, Any]) -> list[Row]:
        if conn.dialect.name == "postgresql":
            sql, values = self._values(conn, params)
            return [dict(found) for found in await_only(_driver(conn).fetch(sql, *values))]
        cursor = self._cursor(conn, params)
        try:
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def run(self, conn: Connection, params: dict[str, Any]) -> int:
        """Execute; the number of rows changed."""
        if conn.dialect.name == "postgresql":
            sql, values = self._values(conn, params)
            status = await_only(_driver(conn).execute(sql, *values))  # e.g. "UPDATE 1", "INSERT 0 1"
            return int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else 0
        cursor = self._cursor(conn, params)
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    def insert_many(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Rows of a plain INSERT; on PostgreSQL by COPY (about a third of the server's time
        per row of one INSERT each), a slice at a time."""
        if conn.dialect.name != "postgresql":
            self.run_many(conn, rows)
            return
        _, names, defaults = self._for(conn)
        table = self.statement.table.name  # type: ignore[attr-defined]
        driver = _driver(conn)
        for start in range(0, len(rows), MANY_SLICE):
            values = [tuple(row[n] if n in row else defaults[n] for n in names) for row in rows[start : start + MANY_SLICE]]
            await_only(driver.copy_records_to_table(table, records=values, columns=names))

    def run_many(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        sql, names, defaults = self._for(conn)
        if conn.dialect.name == "postgresql":
            driver = _driver(conn)
            for start in range(0, len(rows), MANY_SLICE):
                values = [tuple(row[n] if n in row else defaults[n] for n in names) for row in rows[start : start + MANY_SLICE]]
                await_only(driver.executemany(sql, values))
            return
        values = [tuple(row[n] if n in row else defaults[n] for n in names) for row in rows]
        cursor = conn.connection.cursor()
        try:
            cursor.executemany(sql, values)
        finally:
            cursor.close()


def _driver(conn: Connection) -> Any:
    """The asyncpg connection under a PostgreSQL store connection."""
    return conn.connection.driver_connection
