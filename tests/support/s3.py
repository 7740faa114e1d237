"""A real S3 server for tests: `moto_server` in a subprocess on 127.0.0.1 and a free port.

Fixtures (import both into a test module or conftest, since `s3_server` requests `moto_server`):

    from tests.support.s3 import moto_server, s3_server  # noqa: F401

`moto_server` is one server per session; `s3_server` gives each test an `S3Config` with a fresh
bucket name (the storage creates the bucket on first upload). Outside pytest (benchmarks), use
`start_moto_server()` and `MotoServer.stop()`.
"""
from __future__ import annotations

import http.client
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import pytest

from colonies.cfs.storage import S3Config
from tests.support.env import clean_env

ACCESS_KEY = "cfs-test-access"
SECRET_KEY = "cfs-test-secret"
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/")
        conn.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        conn.close()


@dataclass
class MotoServer:
    port: int
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def config(self, bucket: str | None = None, **overrides: Any) -> S3Config:
        """An `S3Config` for this server; a fresh random bucket name unless one is given."""
        settings: dict[str, Any] = {
            "endpoint": self.endpoint,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "region": REGION,
            "bucket": bucket or f"cfs-test-{secrets.token_hex(6)}",
        }
        settings.update(overrides)
        return S3Config(**settings)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()

    def log_tail(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-2000:].decode(errors="replace")


def start_moto_server(timeout: float = 30.0) -> MotoServer:
    """Start moto's S3 server on 127.0.0.1 and wait until it answers HTTP."""
    last_error = "did not start"
    for _ in range(3):  # the free port may be taken between probing and binding
        port = _free_port()
        log = tempfile.TemporaryFile()
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=clean_env(),
        )
        server = MotoServer(port, process, log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            if _answers(port):
                return server
            time.sleep(0.1)
        last_error = server.log_tail() or f"exit code {process.poll()}"
        server.stop()
    raise RuntimeError(f"moto_server did not come up: {last_error}")


def raw_client(config: S3Config) -> Any:
    """A plain boto3 client on the same server, for tests that reach around the storage."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=config.endpoint_url, aws_access_key_id=config.access_key,
        aws_secret_access_key=config.secret_key, region_name=config.region or REGION,
        config=Config(s3={"addressing_style": "path"}, connect_timeout=3, read_timeout=30),
    )


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = start_moto_server()
    yield server
    server.stop()


@pytest.fixture
def s3_server(moto_server: MotoServer) -> S3Config:
    return moto_server.config()
