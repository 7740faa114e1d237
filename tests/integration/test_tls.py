"""A node with a certificate serves HTTPS (and the SDK speaks it)."""
from __future__ import annotations

import ssl
import subprocess

import aiohttp
import pytest

from colonies import dev
from colonies.client import AsyncClient
from tests.support.nodes import start_node


@pytest.fixture
def certificate(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


async def test_node_with_a_certificate_serves_https(tmp_path, certificate):
    cert, key = certificate
    running = start_node(tmp_path / "data", tls_cert=str(cert), tls_key=str(key))
    try:
        assert running.url.startswith("https://")
        context = ssl.create_default_context(cafile=str(cert))
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))
        async with AsyncClient(running.url, dev.SERVER_PRVKEY, session=session) as client:
            assert (await client.version()).buildversion
            assert await client.list_colonies() == []
        await session.close()
    finally:
        running.stop()
