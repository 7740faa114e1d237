"""Running store operations: reads in a small thread pool, writes group-committed.

A store operation is a plain function `op(conn) -> T` written against SQLAlchemy Core; the same
function runs on every dialect. Writes queue up while a transaction is in flight and the next
transaction runs all of them; each caller is answered only after the commit that holds its write
(group commit), so nothing acknowledged is ever lost. If one operation of a batch raises, the
batch is rolled back and its operations are retried one transaction each, so a bad request never
fails a good one.
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util import await_only
from colonies.oneline import one_line


T = TypeVar("T")
Op = Callable[[Connection], T]

log = logging.getLogger(__name__)

# A batch larger than this is split: keeps one transaction (and the replies it holds back) short.
MAX_BATCH = 256
CHECKPOINT_INTERVAL = 0.5
# PostgreSQL: connections kept open for reads (besides the writer's); more readers wait their turn
PG_READERS = 8


class StoreClosed(RuntimeError):
    pass


class Conflict(Exception):
    """A write collided with a row that already exists (a unique name taken by a concurrent
    request): the RPC edge answers 409."""


def _outcome_of(err: Exception) -> Exception:
    if isinstance(err, IntegrityError) or _is_integrity_violation(err):
        return Conflict("it conflicts with an entry that already exists (added by a concurrent request)")
    return err


def _is_integrity_violation(err: Exception) -> bool:
    """asyncpg's own error, for statements sent straight to it (prepared.py)."""
    try:
        from asyncpg.exceptions import IntegrityConstraintViolationError
    except ImportError:
        return False
    return isinstance(err, IntegrityConstraintViolationError)


class StoreURLError(ValueError):
    """A store URL that cannot be used, or a store that cannot be opened; the message is one line
    and never holds the password."""


def parse_store_url(url: str) -> URL:
    """`sqlite:///PATH` or `sqlite+aiosqlite:///PATH` (both run on the node's own SQLite
    connection), or `postgresql://…` / `postgresql+asyncpg://…` (asyncpg)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StoreURLError(f"invalid store URL {_redacted(url)!r}: use sqlite:///PATH or postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DATABASE") from None
    if "@" in (parsed.host or ""):  # a raw "@" in the password: the host would hold the rest of it
        raise StoreURLError(f"invalid store URL {_redacted(url)!r}: percent-encode an @ in the password as %40")
    if parsed.drivername in ("sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"):
        return parsed.set(drivername="sqlite")
    if parsed.drivername in ("postgresql", "postgres", "postgresql+asyncpg"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise StoreURLError(f"unsupported store URL {parsed.render_as_string(hide_password=True)!r}: use sqlite:///PATH or postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DATABASE")


def _redacted(url: str) -> str:
    """The URL with anything between `://user:` and `@` replaced (for URLs make_url refuses)."""
    head, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, at, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{head}{sep}{user}:***{at}{host}" if ":" in credentials else url


@dataclass(slots=True)
class _Write:
    op: Op[Any]
    future: asyncio.Future[Any]
    offloop: bool
    then: Callable[[Any], None] | None


class Database:
    """One node's store. Open with `await Database.open(url)`."""

    def __init__(self, engine: Engine, *, dialect: str, inline: bool = False, async_engine: AsyncEngine | None = None) -> None:
        self.engine = engine
        self.dialect = dialect
        # PostgreSQL: operations run through asyncpg on the loop (SQLAlchemy's greenlet bridge), so
        # a statement waiting on the server never holds the loop; `engine` is its sync facade
        self.async_engine = async_engine
        # inline: run statements on the event loop thread (SQLite: microseconds per statement,
        # cheaper than a thread hop and GIL hand-over); fsyncs happen in checkpoints, off-loop.
        self.inline = inline
        self._write_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
        self._read_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="store-reader")
        self._pending: list[_Write] = []
        self._wakeup = asyncio.Event()
        self._closed = False
        self._writer_task: asyncio.Task[None] | None = None
        # inline mode: one long-lived connection, used only from the event loop thread
        self._conn: Connection | None = engine.connect() if inline and async_engine is None else None
        self._checkpoint_task: asyncio.Task[None] | None = None
        # PostgreSQL: the writer's connection and the idle readers, kept open (a checkout from the
        # engine's pool, its reset and the context around it cost ~0.5 ms of CPU per operation)
        self._pg_writer: AsyncConnection | None = None
        self._pg_idle: list[AsyncConnection] = []
        self._pg_readers = asyncio.Semaphore(PG_READERS)

    @classmethod
    async def open(cls, url: str, *, inline: bool = True) -> "Database":
        parsed = parse_store_url(url)
        if parsed.get_backend_name() == "postgresql":
            return await cls._open_postgresql(parsed)
        engine = _sqlite_engine(parsed.render_as_string(hide_password=False))
        from colonies.node.store.migrations import SchemaTooNew

        try:
            await asyncio.get_running_loop().run_in_executor(None, _migrate, engine)
        except SchemaTooNew:
            engine.dispose()
            raise
        except Exception as err:  # e.g. a directory that does not exist or cannot be written
            engine.dispose()
            raise StoreURLError(f"cannot open the store at {parsed.render_as_string(hide_password=True)}: {one_line(err, 300)}") from None
        except BaseException:
            engine.dispose()
            raise
        db = cls(engine, dialect="sqlite", inline=inline)
        db._writer_task = asyncio.create_task(db._writer_loop(), name="store-writer")
        db._checkpoint_task = asyncio.create_task(db._checkpoint_loop(), name="store-checkpoint")
        return db

    @classmethod
    async def _open_postgresql(cls, url: URL) -> "Database":
        shown = url.render_as_string(hide_password=True)
        # no ping per checkout (a round trip per read and per write batch, ~17 % of the drain rate):
        # a connection the server dropped fails its one operation and is opened again
        async_engine = create_async_engine(url, pool_size=PG_READERS + 1, max_overflow=2, pool_pre_ping=False)
        from colonies.node.store.migrations import SchemaTooNew

        try:
            async with async_engine.begin() as conn:
                await conn.run_sync(_migrate_connection)
        except (StoreURLError, SchemaTooNew):
            await async_engine.dispose()
            raise
        except Exception as err:
            await async_engine.dispose()
            raise StoreURLError(f"cannot open the store at {shown}: {one_line(err, 300)}") from None
        db = cls(async_engine.sync_engine, dialect="postgresql", async_engine=async_engine)
        db._writer_task = asyncio.create_task(db._writer_loop(), name="store-writer")
        return db

    async def read(self, op: Op[T], *, offloop: bool = False) -> T:
        """Run a read. SQLite reads run inline on the loop unless `offloop`: a read that can scan
        many rows (history, statistics, exports) runs on a reader thread with its own connection."""
        if self._closed:
            raise StoreClosed("store is closed")
        if self.async_engine is not None:
            async with self._pg_readers:
                conn = self._pg_idle.pop() if self._pg_idle else await self.async_engine.connect()
                try:
                    result = await conn.run_sync(op)
                    await conn.rollback()
                except Exception:
                    if await _usable_after_failure(conn):
                        self._pg_idle.append(conn)
                    raise
                except BaseException:  # cancelled mid-statement: its state is unknown
                    asyncio.ensure_future(_discard(conn))
                    raise
                self._pg_idle.append(conn)
                return result
        if self.inline and not offloop:
            return self._run_read(op)
        return await asyncio.get_running_loop().run_in_executor(self._read_threads, self._run_pooled_read, op)

    async def write(self, op: Op[T], *, offloop: bool = False, then: Callable[[T], None] | None = None) -> T:
        """Run a write; returns after the commit that holds it. SQLite writes run inline on the
        loop unless `offloop`: a big write (a 10,000-process workflow) runs alone, in its own
        transaction, on the writer thread, in its turn among the writes queued around it.
        `then(result)` runs right after the commit, whether or not the caller still waits (a
        cancelled request's committed write still publishes its events), and never on failure."""
        return await self.submit(op, offloop=offloop, then=then)

    def submit(self, op: Op[T], *, offloop: bool = False, then: Callable[[T], None] | None = None) -> "asyncio.Future[T]":
        """Queue a write; the future resolves after the commit that holds it."""
        if self._closed:
            raise StoreClosed("store is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append(_Write(op, future, offloop, then))
        self._wakeup.set()
        return future

    async def close(self) -> None:
        self._closed = True
        self._wakeup.set()
        if self._writer_task is not None:
            await self._writer_task
        if self._checkpoint_task is not None:
            self._checkpoint_task.cancel()
            try:
                await self._checkpoint_task
            except asyncio.CancelledError:
                pass
        self._write_thread.shutdown(wait=True)
        self._read_threads.shutdown(wait=True)
        if self._conn is not None:
            self._conn.close()
        if self.async_engine is not None:
            for conn in [*self._pg_idle, *([self._pg_writer] if self._pg_writer is not None else [])]:
                await _discard(conn, broken=False)
            self._pg_idle, self._pg_writer = [], None
            await self.async_engine.dispose()
        else:
            self.engine.dispose()

    # --- internals --------------------------------------------------------------------------
    def _run_read(self, op: Op[T]) -> T:
        if self._conn is None:
            return self._run_pooled_read(op)
        with self._conn.begin():
            return op(self._conn)

    def _run_pooled_read(self, op: Op[T]) -> T:
        with self.engine.connect() as conn:
            return op(conn)

    def _transaction(self):  # type: ignore[no-untyped-def]
        if self._conn is not None:
            return _Borrowed(self._conn)
        return self.engine.begin()

    async def _writer_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch = self._next_batch()
                ops = [write.op for write in batch]
                if self.async_engine is not None:
                    outcomes = await self._run_batch_async(ops)
                elif batch[0].offloop:  # one big write, on its own pooled connection off the loop
                    outcomes = [await loop.run_in_executor(self._write_thread, self._run_single, ops[0], True)]
                elif self.inline:
                    outcomes = self._run_batch(ops)
                    await asyncio.sleep(0)  # let the replies go out before the next batch
                else:
                    outcomes = await loop.run_in_executor(self._write_thread, self._run_batch, ops)
                for write, (ok, value) in zip(batch, outcomes):
                    if ok and write.then is not None:
                        try:
                            write.then(value)
                        except Exception:  # a subscriber's bug must not undo the reply to a commit
                            log.exception("after-commit step failed")
                    if write.future.done():
                        continue
                    if ok:
                        write.future.set_result(value)
                    else:
                        write.future.set_exception(value)
            if self._closed:
                return

    def _next_batch(self) -> list[_Write]:
        """The writes for the next transaction, in order: up to MAX_BATCH inline ones, or one
        off-loop write alone."""
        size = 0
        while size < min(MAX_BATCH, len(self._pending)) and not self._pending[size].offloop:
            size += 1
        size = size or 1
        batch, self._pending = self._pending[:size], self._pending[size:]
        return batch

    async def _checkpoint_loop(self) -> None:
        """Move WAL pages into the database file off the event loop (that is where fsync waits)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(CHECKPOINT_INTERVAL)
            try:
                await loop.run_in_executor(self._write_thread, self._checkpoint)
            except Exception:
                log.exception("WAL checkpoint failed")

    def _checkpoint(self) -> None:
        raw = self.engine.raw_connection()  # autocommit DBAPI connection: no transaction around it
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            cursor.close()
        finally:
            raw.close()

    def _run_batch(self, ops: list[Op[Any]]) -> list[tuple[bool, Any]]:
        try:
            with self._transaction() as conn:
                return [(True, op(conn)) for op in ops]
        except Exception:
            if len(ops) == 1:
                return [self._run_single(ops[0])]
        return [self._run_single(op) for op in ops]

    async def _run_batch_async(self, ops: list[Op[Any]]) -> list[tuple[bool, Any]]:
        try:
            return await self._in_pg_transaction(lambda sync: [(True, op(sync)) for op in ops])
        except Exception as err:
            if len(ops) == 1:
                return [(False, _outcome_of(err))]
        outcomes: list[tuple[bool, Any]] = []
        for op in ops:
            try:
                outcomes.append((True, await self._in_pg_transaction(op)))
            except Exception as err:  # handed to the caller's future
                outcomes.append((False, _outcome_of(err)))
        return outcomes

    async def _in_pg_transaction(self, op: Op[T]) -> T:
        """One transaction on the writer's connection (opened again after a failure)."""
        assert self.async_engine is not None
        if self._pg_writer is None:
            # SQLAlchemy leaves transactions to us on this one (_pg_transaction): asyncpg's BEGIN
            # and COMMIT, so that statements sent straight to asyncpg (prepared.py) are inside
            conn = await self.async_engine.connect()
            self._pg_writer = await conn.execution_options(isolation_level="AUTOCOMMIT")
        conn = self._pg_writer
        try:
            return await conn.run_sync(_pg_transaction, op)
        except BaseException:
            if _broken(conn):
                self._pg_writer = None
                await _discard(conn)
            raise

    def _run_single(self, op: Op[Any], pooled: bool = False) -> tuple[bool, Any]:
        try:
            with self.engine.begin() if pooled else self._transaction() as conn:
                return True, op(conn)
        except Exception as err:  # handed to the caller's future
            return False, _outcome_of(err)


def _pg_transaction(sync: Connection, op: Op[T]) -> T:
    """`op` between asyncpg's BEGIN and COMMIT (ROLLBACK if it raises), in the greenlet that
    run_sync gives it."""
    driver = sync.connection.driver_connection
    await_only(driver.execute("BEGIN"))
    try:
        result = op(sync)
    except BaseException:
        if not driver.is_closed():
            try:
                await_only(driver.execute("ROLLBACK"))
            except Exception:
                log.debug("rollback failed", exc_info=True)
        raise
    finally:
        sync.commit()  # SQLAlchemy's own (autobegun) transaction: no statement in AUTOCOMMIT
    await_only(driver.execute("COMMIT"))
    return result


def _broken(conn: AsyncConnection) -> bool:
    if conn.invalidated or conn.closed:
        return True
    raw = conn.sync_connection.connection.driver_connection if conn.sync_connection is not None else None
    return raw is None or raw.is_closed()


async def _usable_after_failure(conn: AsyncConnection) -> bool:
    """Roll back after an operation failed; False (and closed) if the connection is broken."""
    if not _broken(conn):
        try:
            await conn.rollback()
            if not _broken(conn):
                return True
        except Exception:
            pass
    await _discard(conn)
    return False


async def _discard(conn: AsyncConnection, *, broken: bool = True) -> None:
    """Close a connection that failed (invalidated first, so that the engine's pool does not hand
    it out again), or one no longer needed at close."""
    try:
        if broken:
            await conn.invalidate()
        await conn.close()
    except Exception:
        log.debug("closing a store connection failed", exc_info=True)


def _migrate(engine: Engine) -> None:
    with engine.begin() as conn:
        _migrate_connection(conn)


def _migrate_connection(conn: Connection) -> None:
    from colonies.node.store.migrations import migrate

    migrate(conn)


class _Borrowed:
    """A transaction on the long-lived connection, used like `engine.begin()`."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._txn: Any = None

    def __enter__(self) -> Connection:
        self._txn = self._conn.begin()
        return self._conn

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            self._txn.commit()
        else:
            self._txn.rollback()


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, pool_size=4, max_overflow=4, pool_pre_ping=False)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a killed process loses nothing committed; an OS crash may lose the last commits.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        # checkpoints run in a background thread (Database._checkpoint_loop), never inside a commit
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
        cursor.execute("PRAGMA mmap_size=268435456")  # read pages without a syscall each
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # straight to the driver: going through exec_driver_sql costs more than SQLite's BEGIN
        conn.connection.dbapi_connection.execute("BEGIN")  # type: ignore[union-attr]

    return engine
