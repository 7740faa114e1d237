"""`colonies federation …` through typer's CliRunner (no sockets, no node)."""
from __future__ import annotations

import json
import os
import shlex
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from colonies import crypto, dev
from colonies.cli.main import app
from colonies.federation import identity, membership

NODE_ID = crypto.id_from_private_key("8" * 64)
CERT_ARGS = ["--node-id", NODE_ID, "--api-url", "http://10.0.0.2:50080", "--dht-address", "10.0.0.2:4000"]

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("COLONIES_"):
            monkeypatch.delenv(name)


def issue_via_cli(*extra: str, env: dict[str, str] | None = None) -> membership.Certificate:
    args = ["federation", "cert", "--authority-prvkey", dev.FEDERATION_AUTHORITY_PRVKEY, *CERT_ARGS, *extra]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    return membership.from_bytes(result.stdout.strip())


def test_authority_prints_a_key_pair_as_exports() -> None:
    result = runner.invoke(app, ["federation", "authority"])
    assert result.exit_code == 0, result.output
    exports = dict(shlex.split(line)[1].split("=", 1) for line in result.stdout.splitlines())
    prvkey = exports["COLONIES_FEDERATION_AUTHORITY_PRVKEY"]
    assert crypto.id_from_private_key(prvkey) == exports["COLONIES_FEDERATION_AUTHORITY_ID"]
    assert "keep it offline" in result.stderr


def test_authority_json_output_holds_a_matching_pair() -> None:
    result = runner.invoke(app, ["federation", "authority", "--json"])
    pair = json.loads(result.stdout)
    assert crypto.id_from_private_key(pair["prvkey"]) == pair["id"]


def test_cert_prints_a_certificate_signed_by_the_authority() -> None:
    cert = issue_via_cli("--federation", "lab", "--ttl-days", "2")
    membership.verify(cert, authority_id=dev.FEDERATION_AUTHORITY_ID)
    assert (cert.federation, cert.node_id, cert.api_url, cert.dht_address) == (
        "lab", NODE_ID, "http://10.0.0.2:50080", "10.0.0.2:4000",
    )
    assert cert.expires - cert.issued == 2 * 86400


def test_cert_defaults_to_federation_colonies_for_90_days() -> None:
    cert = issue_via_cli()
    assert cert.federation == "colonies"
    assert cert.expires - cert.issued == 90 * 86400


def test_cert_reads_the_authority_key_from_the_environment() -> None:
    env = {"COLONIES_FEDERATION_AUTHORITY_PRVKEY": dev.FEDERATION_AUTHORITY_PRVKEY}
    result = runner.invoke(app, ["federation", "cert", *CERT_ARGS], env=env)
    assert result.exit_code == 0, result.output
    assert membership.from_bytes(result.stdout.strip()).authority_id == dev.FEDERATION_AUTHORITY_ID


def test_cert_writes_the_file_given_by_out(tmp_path: Path) -> None:
    out = tmp_path / "node.cert"
    result = runner.invoke(
        app, ["federation", "cert", "--authority-prvkey", dev.FEDERATION_AUTHORITY_PRVKEY, *CERT_ARGS, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert f"written to {out}" in result.stdout
    assert identity.load_cert(out).node_id == NODE_ID


def test_cert_with_a_bad_dht_address_fails_with_a_message() -> None:
    args = ["federation", "cert", "--authority-prvkey", dev.FEDERATION_AUTHORITY_PRVKEY, "--node-id", NODE_ID,
            "--api-url", "http://h:1", "--dht-address", "no-port"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "cannot issue the certificate" in result.stderr and "host:port" in result.stderr


def test_cert_with_a_bad_authority_key_fails_without_echoing_it() -> None:
    result = runner.invoke(app, ["federation", "cert", "--authority-prvkey", "nothex-secret", *CERT_ARGS])
    assert result.exit_code == 1
    assert "nothex-secret" not in result.output


def test_cert_without_an_authority_key_is_a_usage_error() -> None:
    result = runner.invoke(app, ["federation", "cert", *CERT_ARGS])
    assert result.exit_code == 2


def test_verify_accepts_a_valid_certificate_file(tmp_path: Path) -> None:
    path = tmp_path / "node.cert"
    identity.save_cert(path, issue_via_cli())
    result = runner.invoke(
        app, ["federation", "verify", "--cert", str(path), "--authority-id", dev.FEDERATION_AUTHORITY_ID]
    )
    assert result.exit_code == 0, result.output
    assert "valid membership certificate" in result.stdout
    assert NODE_ID in result.stdout


def test_verify_reads_stdin_and_the_authority_id_from_the_environment() -> None:
    cert = issue_via_cli()
    result = runner.invoke(
        app,
        ["federation", "verify", "--cert", "-"],
        input=membership.to_bytes(cert),
        env={"COLONIES_FEDERATION_AUTHORITY_ID": dev.FEDERATION_AUTHORITY_ID},
    )
    assert result.exit_code == 0, result.output


def test_verify_refuses_a_certificate_of_another_authority(tmp_path: Path) -> None:
    path = tmp_path / "node.cert"
    identity.save_cert(path, issue_via_cli())
    other = crypto.id_from_private_key(crypto.generate_private_key())
    result = runner.invoke(app, ["federation", "verify", "--cert", str(path), "--authority-id", other])
    assert result.exit_code == 1
    assert "from authority" in result.stderr


def test_verify_refuses_an_expired_certificate(tmp_path: Path) -> None:
    path = tmp_path / "node.cert"
    expired = membership.issue(
        dev.FEDERATION_AUTHORITY_PRVKEY, federation="dev", node_id=NODE_ID, api_url="http://h:1",
        dht_address="h:1", ttl_seconds=60, now=1_000_000_000,
    )
    identity.save_cert(path, expired)
    result = runner.invoke(
        app, ["federation", "verify", "--cert", str(path), "--authority-id", dev.FEDERATION_AUTHORITY_ID]
    )
    assert result.exit_code == 1
    assert "expired" in result.stderr


def test_verify_reports_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["federation", "verify", "--cert", str(tmp_path / "none"), "--authority-id", dev.FEDERATION_AUTHORITY_ID]
    )
    assert result.exit_code == 1
    assert "cannot read" in result.stderr


def test_node_id_creates_the_node_key_and_prints_its_id(tmp_path: Path) -> None:
    result = runner.invoke(app, ["federation", "node-id", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    key_file = tmp_path / identity.KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert result.stdout.strip() == crypto.id_from_private_key(key_file.read_text().strip())
    again = runner.invoke(app, ["federation", "node-id", "--data-dir", str(tmp_path)])
    assert again.stdout == result.stdout
