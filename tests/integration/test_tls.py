"""A node with a certificate serves HTTPS; our SDK, our CLI and pycolonies verify it by default
against a CA generated here, and refuse a node whose certificate they cannot verify."""
from __future__ import annotations

import os
import re
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from colonies import crypto, dev
from colonies.client import AsyncClient, Client
from tests.support.cli import run
from tests.support.nodes import start_node


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(CA certificate, node certificate signed by it for 127.0.0.1, node key)."""
    d = tmp_path_factory.mktemp("tls")
    ca, ca_key, cert, key, csr, ext = (d / n for n in ("ca.pem", "ca.key", "cert.pem", "key.pem", "node.csr", "san.ext"))
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=colonies test CA",
             "-keyout", str(ca_key), "-out", str(ca))
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(csr))
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-days", "1",
             "-extfile", str(ext), "-out", str(cert))
    return ca, cert, key


@pytest.fixture(scope="module")
def https_node(tmp_path_factory: pytest.TempPathFactory, certificate):
    _, cert, key = certificate
    running = start_node(tmp_path_factory.mktemp("data"), tls_cert=str(cert), tls_key=str(key))
    yield running
    running.stop()


async def test_node_with_a_certificate_serves_https(https_node, certificate):
    ca, _, _ = certificate
    assert https_node.url.startswith("https://")
    context = ssl.create_default_context(cafile=str(ca))
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))
    async with AsyncClient(https_node.url, dev.SERVER_PRVKEY, session=session) as client:
        assert (await client.version()).buildversion
    await session.close()


async def test_sdk_verifies_the_certificate_by_default(https_node, monkeypatch):
    monkeypatch.delenv("COLONIES_TLS_CA", raising=False)
    monkeypatch.delenv("COLONIES_SKIP_TLS_VERIFY", raising=False)
    async with AsyncClient(https_node.url, dev.SERVER_PRVKEY) as client:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await client.version()


async def test_sdk_trusts_a_ca_given_by_argument_or_environment(https_node, certificate, monkeypatch):
    ca, _, _ = certificate
    async with AsyncClient(https_node.url, dev.SERVER_PRVKEY, cafile=str(ca)) as client:
        assert await client.list_colonies() == []
    monkeypatch.setenv("COLONIES_TLS_CA", str(ca))
    with Client(https_node.url, dev.SERVER_PRVKEY) as client:
        assert client.list_colonies() == []


async def test_sdk_skips_verification_only_when_asked(https_node, monkeypatch):
    async with AsyncClient(https_node.url, dev.SERVER_PRVKEY, verify=False) as client:
        assert (await client.version()).buildversion
    monkeypatch.setenv("COLONIES_SKIP_TLS_VERIFY", "true")
    async with AsyncClient(https_node.url, dev.SERVER_PRVKEY) as client:
        assert (await client.version()).buildversion


def _cli_env(url: str, **extra: str) -> dict[str, str]:
    return {"COLONIES_NODE_URL": url, "COLONIES_PRVKEY": dev.SERVER_PRVKEY, "COLONIES_SERVER_PRVKEY": dev.SERVER_PRVKEY, **extra}


def test_cli_verifies_the_node_certificate(https_node, certificate):
    ca, _, _ = certificate
    refused = run(_cli_env(https_node.url), "colony", "ls", "--server-prvkey", dev.SERVER_PRVKEY)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "certificate" in refused.stderr.lower()
    trusted = run(_cli_env(https_node.url, COLONIES_TLS_CA=str(ca)), "colony", "ls", "--server-prvkey", dev.SERVER_PRVKEY)
    assert trusted.returncode == 0, trusted.stderr


def test_pycolonies_talks_to_the_https_node_with_its_ca(https_node, certificate, monkeypatch):
    pycolonies = pytest.importorskip("pycolonies")
    ca, _, _ = certificate
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))  # requests' own way to trust a private CA
    client = pycolonies.Colonies("127.0.0.1", https_node.port, tls=True)
    owner = crypto.generate_private_key()
    name = "tls-colony"
    client.add_colony({"colonyid": crypto.id_from_private_key(owner), "name": name}, dev.SERVER_PRVKEY)
    assert name in [c["name"] for c in client.list_colonies(dev.SERVER_PRVKEY)]
    client.del_colony(name, dev.SERVER_PRVKEY)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_server_start_serves_https_with_cert_and_key_flags(tmp_path, certificate):
    ca, cert, key = certificate
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env.update(COLONIES_SERVER_ID=dev.SERVER_ID, COLONIES_DATA_DIR=str(tmp_path / "d"))
    server = subprocess.Popen(
        [sys.executable, "-m", "colonies.cli", "server", "start", "--host", "127.0.0.1", "--port", str(port),
         "--tls-cert", str(cert), "--tls-key", str(key)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert server.stdout is not None
        for line in server.stdout:  # where the identity and port came from, then "ready … at URL"
            if line.startswith("ready") or server.poll() is not None:
                break
        assert re.search(rf"https://127\.0\.0\.1:{port}", line), (line, server.stderr.read() if server.poll() is not None else "")
        with Client(f"https://127.0.0.1:{port}", dev.SERVER_PRVKEY, cafile=str(ca)) as client:
            assert client.list_colonies() == []
    finally:
        server.terminate()
        server.wait(30)
