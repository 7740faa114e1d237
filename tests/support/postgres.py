"""A throwaway PostgreSQL cluster for tests: `initdb` and `pg_ctl` (Debian's PostgreSQL 15, found
through `pg_config --bindir`) run as the `postgres` user on a free port of 127.0.0.1, with its
socket in its own directory; stopped (immediate) and removed at the end. The system cluster is
never touched. `PostgresCluster.new_database()` gives each store a database of its own.

Fixture (imported in tests/conftest.py):

    postgres    the session's cluster; skipped where PostgreSQL or root is missing, a failure
                in CI (`CI_NO_SKIPS=1`, where .ci/run installs the `postgresql` package)
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.missing import missing

START_TIMEOUT = 60


@dataclass
class PostgresCluster:
    bindir: Path
    data: Path
    port: int

    def run(self, tool: str, *args: str) -> str:
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bindir / tool), *args],
            capture_output=True, text=True, timeout=START_TIMEOUT, cwd="/",
        )
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed: {(result.stderr or result.stdout).strip()}")
        return result.stdout

    def new_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        name = f"colonies_{secrets.token_hex(6)}"
        self.create_database(name)
        return self.url(name)

    def create_database(self, name: str) -> None:
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def drop_database(self, name: str) -> None:
        self.run("dropdb", "--force", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        try:
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.data.parent, ignore_errors=True)


class PostgresUnavailable(RuntimeError):
    """This machine cannot run a throwaway cluster; the message says what is missing."""


def _unavailable(reason: str) -> None:
    missing("PostgreSQL", reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_bindir() -> Path | None:
    """Where initdb and pg_ctl are: `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin
    (the same search as .ci/run)."""
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        bindir = Path(found.stdout.strip())
        if found.returncode == 0 and (bindir / "initdb").exists():
            return bindir
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return candidates[-1].parent if candidates else None


def start_cluster() -> PostgresCluster:
    """A throwaway cluster on a free 127.0.0.1 port (fsync off), for tests and benchmarks; raises
    PostgresUnavailable naming what is missing."""
    bindir = server_bindir()
    if bindir is None:
        raise PostgresUnavailable("PostgreSQL's initdb not found (pg_config --bindir, /usr/lib/postgresql/*/bin): install the Debian package postgresql")
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        raise PostgresUnavailable("a throwaway PostgreSQL cluster runs as the postgres user: needs root and runuser")
    root = Path(tempfile.mkdtemp(prefix="colonies-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    shutil.chown(root, "postgres")
    shutil.chown(sockets, "postgres")
    cluster = PostgresCluster(bindir, data, _free_port())
    try:
        cluster.run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale")
        options = f"-p {cluster.port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200"
        cluster.run("pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "-t", str(START_TIMEOUT), "start")
    except Exception:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    try:
        cluster = start_cluster()
    except PostgresUnavailable as missing:
        _unavailable(str(missing))
        raise  # not reached: _unavailable skips or fails
    try:
        yield cluster
    finally:
        cluster.stop()
