"""Statements compiled once per dialect for the hot paths (submit, assign, close).

SQLAlchemy Core stays the single source of the SQL; this skips rebuilding each statement, its
cache key and result metadata on every call, which for these one-row statements costs more than
the database's own work. Rows come back as plain dicts.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.sql import ClauseElement

Row = dict[str, Any]


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

    def _cursor(self, conn: Connection, params: dict[str, Any]) -> Any:
        sql, names, defaults = self._for(conn)
        values = tuple(params[n] if n in params else defaults[n] for n in names)
        # The DBAPI cursor of the connection SQLAlchemy holds, inside its current transaction.
        cursor = conn.connection.cursor()
        cursor.execute(sql, values)
        return cursor

    def first(self, conn: Connection, params: dict[str, Any]) -> Row | None:
        cursor = self._cursor(conn, params)
        try:
            row = cursor.fetchone()
            if row is None:
                return None
            return dict(zip([d[0] for d in cursor.description], row))
        finally:
            cursor.close()

    def all(self, conn: Connection, params: dict[str, Any]) -> list[Row]:
        cursor = self._cursor(conn, params)
        try:
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def run(self, conn: Connection, params: dict[str, Any]) -> int:
        """Execute; the number of rows changed."""
        cursor = self._cursor(conn, params)
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    def run_many(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        sql, names, defaults = self._for(conn)
        values = [tuple(row[n] if n in row else defaults[n] for n in names) for row in rows]
        cursor = conn.connection.cursor()
        try:
            cursor.executemany(sql, values)
        finally:
            cursor.close()
