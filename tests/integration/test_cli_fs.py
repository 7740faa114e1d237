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


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.name != ".cfs"}


def test_clean_removes_what_the_label_does_not_hold(tmp_path: Path, env):
    up = tmp_path / "up"
    for rel, data in {"keep.txt": b"k", "deep/only/kept.bin": b"d", "sub/x.txt": b"x"}.items():
        (up / rel).parent.mkdir(parents=True, exist_ok=True)
        (up / rel).write_bytes(data)
    ok(env, "sync", "-l", "work", "-d", str(up), "--yes")

    local = tmp_path / "local"
    ok(env, "sync", "-l", "work", "-d", str(local), "--yes")
    (local / "stray.txt").write_bytes(b"never uploaded")
    (local / "sub" / "stray.txt").write_bytes(b"never uploaded")
    (local / "scratch" / "inner").mkdir(parents=True)
    (local / "scratch" / "inner" / "f").write_bytes(b"f")
    (local / "deep" / "loose.txt").write_bytes(b"in a label with no files of its own")
    (local / "link").symlink_to(local / "keep.txt")

    plan = json.loads(ok(env, "clean", "-l", "work", "-d", str(local), "--dry", "--json").stdout)
    assert sorted(plan["files"]) == sorted(str(local / p) for p in ("stray.txt", "sub/stray.txt", "deep/loose.txt"))
    assert plan["dirs"] == [str(local / "scratch")]
    assert "stray.txt" in _tree(local)  # the dry run changed nothing

    assert fs(env, "clean", "-l", "work", "-d", str(local), input="n\n").exit_code == 1  # declined
    assert "stray.txt" in _tree(local)
    ok(env, "clean", "-l", "work", "-d", str(local), "--yes")
    # /work/deep has no files of its own but /work/deep/only has: upstream would remove deep/
    assert _tree(local) == {"keep.txt", "link", "deep", "deep/only", "deep/only/kept.bin", "sub", "sub/x.txt"}
    assert "holds nothing" in ok(env, "clean", "-l", "work", "-d", str(local), "--yes").stdout


def test_clean_against_an_empty_label_is_refused(tmp_path: Path, env):
    (tmp_path / "precious.txt").write_bytes(b"p")
    result = fs(env, "clean", "-l", "typo", "-d", str(tmp_path), "--yes")
    assert result.exit_code == 1 and "no files" in result.stderr
    assert (tmp_path / "precious.txt").exists()


def test_label_remove_takes_sub_labels_and_every_revision_but_not_siblings(tmp_path: Path, env, s3_server):
    from tests.support.s3 import raw_client

    up = tmp_path / "up"
    (up / "sub").mkdir(parents=True)
    (up / "a.txt").write_bytes(b"one")
    (up / "sub" / "b.txt").write_bytes(b"two")
    ok(env, "sync", "-l", "data", "-d", str(up), "--yes")
    (up / "a.txt").write_bytes(b"one, revised")
    ok(env, "sync", "-l", "data", "-d", str(up), "--yes")
    sibling = tmp_path / "sibling"
    sibling.mkdir()
    (sibling / "c.txt").write_bytes(b"three")
    ok(env, "sync", "-l", "database", "-d", str(sibling), "--yes")  # shares the string prefix /data

    assert fs(env, "label", "remove", "-l", "data", input="n\n").exit_code == 1
    removed = json.loads(ok(env, "label", "remove", "-l", "/data/", "--yes", "--json").stdout)
    assert removed == {"labels": ["/data", "/data/sub"], "files": 2, "revisions": 3}
    labels = {label["name"] for label in json.loads(ok(env, "label", "ls", "--json").stdout)}
    assert labels == {"/database"}
    objects = raw_client(s3_server).list_objects_v2(Bucket=s3_server.bucket).get("Contents", [])
    assert len(objects) == 1  # only the sibling's: no revision's bytes were orphaned
    assert (up / "a.txt").exists()  # local files stay
    assert "no files under /data" in ok(env, "label", "remove", "-l", "data", "--yes").stdout


def test_resolve_lists_locations_of_a_label_and_a_snapshot(tmp_path: Path, env, s3_server):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_bytes(b"alpha")
    (tmp_path / "sub" / "b.txt").write_bytes(b"beta")
    ok(env, "sync", "-l", "res", "-d", str(tmp_path), "--yes")
    found = json.loads(ok(env, "resolve", "-l", "res", "--json").stdout)
    assert [(f["label"], f["name"]) for f in found] == [("/res", "a.txt"), ("/res/sub", "b.txt")]
    [location] = found[0]["locations"]
    assert location["protocol"] == "s3" and location["bucket"] == s3_server.bucket and location["endpoint"] == s3_server.endpoint
    assert "a.txt" in ok(env, "resolve", "-l", "res").stdout
    snapshot = json.loads(ok(env, "snapshot", "create", "-l", "res", "--json").stdout)
    frozen = json.loads(ok(env, "resolve", "--snapshot", snapshot["snapshotid"], "--json").stdout)
    assert sorted(f["fileid"] for f in frozen) == sorted(snapshot["fileids"])
    assert fs(env, "resolve").exit_code == 1  # neither a label nor a snapshot


def test_sync_in_a_terminal_shows_a_progress_bar_of_files_and_bytes_then_clears_it(tmp_path: Path, env):
    import os
    import sys

    import pexpect

    (tmp_path / "big.bin").write_bytes(os.urandom(8 << 20))
    (tmp_path / "small.txt").write_bytes(b"small")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("COLONIES_", "AWS_"))}
    child = pexpect.spawn(
        sys.executable, ["-m", "colonies.cli", "fs", "sync", "-l", "/bar", "-d", str(tmp_path), "--yes"],
        env=clean | env, encoding="utf-8", timeout=60, dimensions=(24, 120),
    )
    try:
        child.expect(r"syncing \d/2 files")  # the bar, drawn on the terminal while bytes move
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert sorted(row["name"] for row in json.loads(ok(env, "ls", "-l", "/bar", "--json").stdout)) == ["big.bin", "small.txt"]
