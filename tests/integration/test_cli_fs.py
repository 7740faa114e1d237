"""`colonies fs` against a real node and a real S3 server (moto_server), through typer's CliRunner."""
from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from cli.main import app


@pytest.fixture
def env(node, colony, s3_server) -> dict[str, str]:
    member = colony.add_user()
    parts = urlsplit(node.url)
    return {
        "COLONIES_SERVER_HOST": parts.hostname or "127.0.0.1",
        "COLONIES_SERVER_PORT": str(parts.port),
        "COLONIES_PRVKEY": member.prvkey,
        "COLONIES_COLONY_NAME": colony.name,
        **s3_server.to_env(),
    }


def fs(env: dict[str, str], *args: str, input: str | None = None):
    return CliRunner().invoke(app, ["fs", *args], env=env, input=input)


def ok(env: dict[str, str], *args: str):
    result = fs(env, *args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_sync_ls_info_get_snapshot_remove(tmp_path: Path, env):
    up = tmp_path / "up"
    (up / "sub").mkdir(parents=True)
    (up / "a.txt").write_bytes(b"alpha")
    (up / "sub" / "b.bin").write_bytes(bytes(range(256)) * 10)

    dry = ok(env, "sync", "-l", "job", "-d", str(up), "--dry", "--json")
    plans = {p["label"]: p for p in json.loads(dry.stdout)}
    assert plans["/job"]["uploads"] == ["a.txt"] and plans["/job/sub"]["uploads"] == ["b.bin"]
    assert "CFS sync plan" in ok(env, "sync", "-l", "/job/", "-d", str(up), "--dry").stdout
    assert ok(env, "label", "ls", "--json").stdout.strip() == "[]"  # the dry run changed nothing

    assert fs(env, "sync", "-l", "job", "-d", str(up), input="n\n").exit_code == 1  # declined
    ok(env, "sync", "-l", "job", "-d", str(up), "--yes")
    assert "already synchronized" in ok(env, "sync", "-l", "job", "-d", str(up), "--yes").stdout

    (up / "a.txt").write_bytes(b"alpha, revised")
    result = json.loads(ok(env, "sync", "-l", "job", "-d", str(up), "--yes", "--json").stdout)
    assert [f["name"] for f in result["uploaded"]] == ["a.txt"]

    listing = {row["name"]: row for row in json.loads(ok(env, "ls", "-l", "job", "--json").stdout)}
    assert set(listing) == {"a.txt"} and listing["a.txt"]["revisions"] == 2 and listing["a.txt"]["size"] == 14
    assert "a.txt" in ok(env, "ls", "-l", "/job").stdout

    labels = {label["name"]: label["files"] for label in json.loads(ok(env, "label", "ls", "--json").stdout)}
    assert labels == {"/job": 2, "/job/sub": 1}
    assert "/job/sub" in ok(env, "label", "ls").stdout

    revisions = json.loads(ok(env, "info", "-l", "job", "-n", "a.txt", "--json").stdout)
    assert [r["size"] for r in revisions] == [14, 5]
    by_id = json.loads(ok(env, "info", "-i", revisions[1]["fileid"], "--json").stdout)
    assert [r["fileid"] for r in by_id] == [r["fileid"] for r in revisions]
    assert fs(env, "info", "-l", "job").exit_code == 1  # neither an id nor a name

    got = tmp_path / "got"
    ok(env, "get", "-l", "job", "-n", "a.txt", "-d", str(got))
    assert (got / "a.txt").read_bytes() == b"alpha, revised"
    ok(env, "get", "-i", listing["a.txt"]["fileid"], "-d", str(tmp_path / "byid"))
    assert (tmp_path / "byid" / "a.txt").read_bytes() == b"alpha, revised"

    created = json.loads(ok(env, "snapshot", "create", "-l", "job", "-n", "snap1", "--json").stdout)
    assert len(created["fileids"]) == 2
    assert [s["name"] for s in json.loads(ok(env, "snapshot", "ls", "--json").stdout)] == ["snap1"]
    assert "snap1" in ok(env, "snapshot", "info", "-n", "snap1").stdout
    snap = tmp_path / "snap"
    ok(env, "snapshot", "download", "-i", created["snapshotid"], "-d", str(snap))
    assert (snap / "a.txt").read_bytes() == b"alpha, revised"
    assert (snap / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 10

    ok(env, "remove", "-l", "job", "-n", "a.txt", "--yes")
    assert json.loads(ok(env, "ls", "-l", "job", "--json").stdout) == []
    result = fs(env, "info", "-l", "job", "-n", "a.txt")
    assert result.exit_code == 1 and "error:" in result.stderr

    ok(env, "snapshot", "remove", "-n", "snap1")
    ok(env, "snapshot", "create", "-l", "job")
    ok(env, "snapshot", "removeall", "--yes")
    assert json.loads(ok(env, "snapshot", "ls", "--json").stdout) == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_s3_unreachable_is_one_line_and_exit_1(tmp_path: Path, env):
    (tmp_path / "a.txt").write_bytes(b"alpha")
    env = env | {"AWS_S3_ENDPOINT": f"127.0.0.1:{_closed_port()}"}
    result = fs(env, "sync", "-l", "job", "-d", str(tmp_path), "--yes")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_help_and_missing_identity(env):
    assert "--label" in ok(env, "sync", "-h").stdout
    assert "--snapshotid" in ok(env, "snapshot", "download", "-h").stdout
    result = fs({k: v for k, v in env.items() if k != "COLONIES_PRVKEY"} | {"COLONIES_PRVKEY": ""}, "ls", "-l", "job")
    assert result.exit_code == 1 and "COLONIES_PRVKEY" in result.stderr
