"""The sync engine against in-memory fakes of the node (Remote) and of S3 (Store) on real
temporary directories."""
from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from colonies.cfs import localfs
from colonies.cfs.localfs import scan_dir, sub_dirs
from colonies.cfs.storage.atomic import PARTIAL_SUFFIX, AtomicFile
from colonies.cfs.storage.base import EMPTY_SHA256
from colonies.cfs.sync import (
    RemoteFile,
    Stored,
    SyncEngine,
    SyncError,
    SyncPlan,
    SyncProgress,
    download_snapshot,
    label_suffix,
    normalize_label,
    render_plan,
    sub_label,
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FakeRemote:
    """The node's CFS metadata: immutable revisions, latest by insertion order."""

    def __init__(self) -> None:
        self.rows: list[RemoteFile] = []
        self.fail: Exception | None = None

    async def files(self, label: str) -> list[RemoteFile]:
        if self.fail:
            raise self.fail
        latest = {row.name: row for row in self.rows if row.label == label}
        return [latest[name] for name in sorted(latest)]

    async def labels(self, prefix: str, exact: bool) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.label] = counts.get(row.label, 0) + 1
        if not exact:
            return [(name, counts[name]) for name in sorted(counts) if name.startswith(prefix)]
        if prefix not in counts:  # upstream: null when the exact label has no files of its own
            return []
        return [(name, counts[name]) for name in sorted(counts) if name == prefix or name.startswith(prefix + "/")]

    async def add_file(self, label: str, name: str, size: int, checksum: str, ref: dict[str, Any]) -> RemoteFile:
        row = RemoteFile(name, checksum, size, f"file{len(self.rows)}", ref, label)
        self.rows.append(row)
        return row

    def revisions(self, label: str, name: str) -> list[RemoteFile]:
        return [row for row in self.rows if (row.label, row.name) == (label, name)]


class FakeStore:
    """S3 as a dict of bytes. `break_on` names destination files whose download fails halfway;
    `gates` hold a download until their event is set."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.gets: list[str] = []
        self.break_on: set[str] = set()
        self.gates: dict[str, asyncio.Event] = {}
        self.active = self.peak = 0

    def ref(self, data: bytes) -> dict[str, Any]:
        if not data:  # as upstream: zero-byte files get no object
            return {"protocol": "s3", "s3object": {"object": ""}}
        key = f"object{len(self.objects)}"
        self.objects[key] = data
        return {"protocol": "s3", "s3object": {"object": key}}

    async def put_file(self, path: Path, stamp: Any = None) -> Stored:
        data = path.read_bytes()
        return Stored(self.ref(data), len(data), sha(data))

    async def get_file(self, ref: dict[str, Any], dest_path: Path, *, sha256: str, size: int) -> None:
        self.gets.append(dest_path.name)
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(0)
            if dest_path.name in self.gates:
                await self.gates[dest_path.name].wait()
            self._write(self.objects[ref["s3object"]["object"]], dest_path, sha256, size)
        finally:
            self.active -= 1

    def _write(self, data: bytes, dest: Path, sha256: str, size: int) -> None:
        with AtomicFile(dest) as out:
            out.file.write(data[: len(data) // 2])
            if dest.name in self.break_on:
                raise ConnectionResetError("connection reset by peer")
            out.file.write(data[len(data) // 2:])
            if sha(data) != sha256 or len(data) != size:
                raise ValueError(f"checksum mismatch for object {dest.name}")
            out.commit()


@pytest.fixture
def remote() -> FakeRemote:
    return FakeRemote()


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def engine(remote: FakeRemote, store: FakeStore) -> SyncEngine:
    return SyncEngine(remote, store)


async def seed(remote: FakeRemote, store: FakeStore, label: str, name: str, data: bytes) -> RemoteFile:
    return await remote.add_file(label, name, len(data), sha(data), store.ref(data))


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


async def one_of_each(remote: FakeRemote, store: FakeStore, directory: Path, label: str) -> None:
    """A local-only up.txt, a remote-only down.txt and a conflicting c.txt."""
    write(directory / "up.txt", b"up")
    write(directory / "c.txt", b"local")
    await seed(remote, store, label, "down.txt", b"down")
    await seed(remote, store, label, "c.txt", b"remote")


def rendered(plans: list[SyncPlan]) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(render_plan(plans))
    return console.file.getvalue()  # type: ignore[attr-defined]


def files_under(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


async def test_uploads_local_only_files_and_writes_the_marker(engine: SyncEngine, remote: FakeRemote, tmp_path: Path) -> None:
    write(tmp_path / "a.txt", b"alpha")
    write(tmp_path / "b.bin", bytes(range(256)) * 100)

    plans = await engine.plan_tree(tmp_path, "data", keeplocal=True)
    assert [(plan.label, [file.name for file in plan.uploads]) for plan in plans] == [("/data", ["a.txt", "b.bin"])]
    result = await engine.apply(plans)

    latest = await remote.files("/data")
    assert [(row.name, row.checksum, row.size) for row in latest] == [
        ("a.txt", sha(b"alpha"), 5), ("b.bin", sha(bytes(range(256)) * 100), 25600),
    ]
    assert [row.name for row in result.uploaded] == ["a.txt", "b.bin"]
    assert (tmp_path / ".cfs").read_bytes() == b'{"label":"/data"}'
    again = await engine.plan_tree(tmp_path, "/data", keeplocal=True)
    assert [plan.transfers() for plan in again] == [[]]  # the marker itself is never uploaded


async def test_a_file_changed_after_the_plan_is_recorded_as_stored(engine: SyncEngine, remote: FakeRemote, tmp_path: Path) -> None:
    write(tmp_path / "a.txt", b"alpha")
    plans = await engine.plan_tree(tmp_path, "data", keeplocal=True)
    write(tmp_path / "a.txt", b"alpha, edited meanwhile")
    await engine.apply(plans)
    [row] = await remote.files("/data")
    assert (row.checksum, row.size) == (sha(b"alpha, edited meanwhile"), 23)


async def test_downloads_remote_only_files_into_a_missing_dir(engine: SyncEngine, remote: FakeRemote, store: FakeStore, tmp_path: Path) -> None:
    await seed(remote, store, "/data", "x.csv", b"1,2,3\n")
    await seed(remote, store, "/data", "y.csv", b"4,5,6\n")
    target = tmp_path / "new" / "dir"

    plan = await engine.plan_dir(target, "/data", keeplocal=False)
    assert [file.name for file in plan.downloads] == ["x.csv", "y.csv"] and not plan.uploads
    result = await engine.apply([plan])

    assert files_under(target) == {".cfs": b'{"label":"/data"}', "x.csv": b"1,2,3\n", "y.csv": b"4,5,6\n"}
    assert result.downloaded == (target / "x.csv", target / "y.csv") and result.bytes == 12
    assert len(remote.rows) == 2


async def test_conflict_keeplocal_uploads_a_new_revision(engine: SyncEngine, remote: FakeRemote, store: FakeStore, tmp_path: Path) -> None:
    await seed(remote, store, "/data", "a.txt", b"remote")
    write(tmp_path / "a.txt", b"local")

    plans = await engine.plan_tree(tmp_path, "/data", keeplocal=True)
    assert [conflict.local.name for conflict in plans[0].conflicts] == ["a.txt"]
    assert plans[0].resolution == "replace-remote" and not plans[0].uploads
    await engine.apply(plans)

    assert [row.checksum for row in remote.revisions("/data", "a.txt")] == [sha(b"remote"), sha(b"local")]
    assert (tmp_path / "a.txt").read_bytes() == b"local"


async def test_conflict_keep_remote_overwrites_the_local_file(engine: SyncEngine, remote: FakeRemote, store: FakeStore, tmp_path: Path) -> None:
    await seed(remote, store, "/data", "a.txt", b"remote")
    write(tmp_path / "a.txt", b"local")

    plans = await engine.plan_tree(tmp_path, "/data", keeplocal=False)
    assert plans[0].resolution == "replace-local"
    await engine.apply(plans)

    assert (tmp_path / "a.txt").read_bytes() == b"remote"
    assert len(remote.revisions("/data", "a.txt")) == 1
    assert [path.name for path in tmp_path.iterdir() if path.name.endswith(PARTIAL_SUFFIX)] == []


async def test_nested_dirs_are_sub_labels_and_remote_only_sub_labels_download(
    engine: SyncEngine, remote: FakeRemote, store: FakeStore, tmp_path: Path,
) -> None:
    write(tmp_path / "a.txt", b"a")
    write(tmp_path / "sub" / "b.txt", b"b")
    write(tmp_path / "sub" / "deep" / "c.txt", b"c")
    (tmp_path / "empty").mkdir()
    await seed(remote, store, "/proj", "a.txt", b"a")
    await seed(remote, store, "/proj/remote/x", "r.txt", b"r")
    await seed(remote, store, "/projother", "no.txt", b"sibling label, not a sub-label")

    plans = await engine.plan_tree(tmp_path, "/proj/", keeplocal=True)
    assert [(plan.label, plan.dir.relative_to(tmp_path).as_posix()) for plan in plans] == [
        ("/proj", "."), ("/proj/empty", "empty"), ("/proj/remote/x", "remote/x"),
        ("/proj/sub", "sub"), ("/proj/sub/deep", "sub/deep"),
    ]
    await engine.apply(plans)

    assert [row.checksum for row in await remote.files("/proj/sub/deep")] == [sha(b"c")]
    assert [row.name for row in await remote.files("/proj/sub")] == ["b.txt"]
    assert (tmp_path / "remote" / "x" / "r.txt").read_bytes() == b"r"
    assert (tmp_path / "sub" / "deep" / ".cfs").read_bytes() == b'{"label":"/proj/sub/deep"}'
    assert (tmp_path / "empty" / ".cfs").read_bytes() == b'{"label":"/proj/empty"}'
    assert not (tmp_path / "other").exists() and not (tmp_path / "no.txt").exists()


async def test_remote_sub_labels_download_even_when_the_root_label_has_no_files(
    engine: SyncEngine, remote: FakeRemote, store: FakeStore, tmp_path: Path,
) -> None:
    await seed(remote, store, "/results/run1", "out.txt", b"out")
    assert await remote.labels("/results", True) == []  # the upstream quirk the Go client trips on

    await engine.apply(await engine.plan_tree(tmp_path, "/results", keeplocal=False))

    assert (tmp_path / "run1" / "out.txt").read_bytes() == b"out"


async def test_unsafe_remote_labels_and_names_are_skipped(
    engine: SyncEngine, remote: FakeRemote, store: FakeStore, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    root = tmp_path / "root"
    for name in ("../evil", ".cfs", f".x.0123abcd{PARTIAL_SUFFIX}", "ok.txt"):
        await seed(remote, store, "/data", name, b"payload")
    await seed(remote, store, "/data/../escape", "e.txt", b"payload")
    await seed(remote, store, "/data/a//b", "e.txt", b"payload")

    with caplog.at_level(logging.WARNING, logger="colonies.cfs.sync"):
        plans = await engine.plan_tree(root, "/data", keeplocal=False)
    assert [plan.label for plan in plans] == ["/data"]
    assert [(skip.name, skip.reason) for skip in plans[0].skipped] == [
        ("../evil", "contains a path separator"), (".cfs", "reserved by sync"), (f".x.0123abcd{PARTIAL_SUFFIX}", "reserved by sync"),
    ]
    assert "/data/../escape" in caplog.text and "/data/a//b" in caplog.text
    await engine.apply(plans)

    assert files_under(tmp_path) == {"root/.cfs": b'{"label":"/data"}', "root/ok.txt": b"payload"}


async def test_direction_upload_never_downloads(engine: SyncEngine, remote: FakeRemote, store: FakeStore, tmp_path: Path) -> None:
    await one_of_each(remote, store, tmp_path, "/d")
    await seed(remote, store, "/d/remote-only", "r.txt", b"r")

    plans = await engine.plan_tree(tmp_path, "/d", keeplocal=False, direction="upload")
    assert [plan.label for plan in plans] == ["/d"]
    assert plans[0].resolution == "skip" and len(plans[0].conflicts) == 1 and not plans[0].downloads
    assert "skip (upload only)" in rendered(plans)
    await engine.apply(plans)

    assert sorted(path.name for path in tmp_path.iterdir()) == [".cfs", "c.txt", "up.txt"]
    assert (tmp_path / "c.txt").read_bytes() == b"local"
    assert [row.checksum for row in remote.revisions("/d", "c.txt")] == [sha(b"remote")]
    assert [row.name for row in await remote.files("/d")] == ["c.txt", "down.txt", "up.txt"]
    assert store.gets == []


async def test_direction_download_never_uploads(engine: SyncEngine, remote: FakeRemote, store: FakeStore, tmp_path: Path) -> None:
    await one_of_each(remote, store, tmp_path, "/d")
    rows = len(remote.rows)

    plans = await engine.plan_tree(tmp_path, "/d", keeplocal=True, direction="download")
    assert plans[0].resolution == "skip" and not plans[0].uploads
    assert "skip (download only)" in rendered(plans)
    await engine.apply(plans)

    assert len(remote.rows) == rows
    assert (tmp_path / "down.txt").read_bytes() == b"down" and (tmp_path / "c.txt").read_bytes() == b"local"


async def test_unknown_direction_is_refused(engine: SyncEngine, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="direction must be one of both, upload, download"):
        await engine.plan_tree(tmp_path, "/d", keeplocal=True, direction="sideways")  # type: ignore[arg-type]


async def test_zero_byte_files_upload_metadata_only_and_download_empty(
    engine: SyncEngine, remote: FakeRemote, store: FakeStore, tmp_path: Path,
) -> None:
    write(tmp_path / "up" / "empty.txt", b"")
    await seed(remote, store, "/z/down", "empty.txt", b"")
    write(tmp_path / "down" / "was-full.txt", b"not empty")
    await seed(remote, store, "/z/down", "was-full.txt", b"")

    await engine.apply(await engine.plan_tree(tmp_path, "/z", keeplocal=False))

    [row] = await remote.files("/z/up")
    assert (row.size, row.checksum, row.ref) == (0, EMPTY_SHA256, {"protocol": "s3", "s3object": {"object": ""}})
    assert store.objects == {} and store.gets == []
    assert (tmp_path / "down" / "empty.txt").read_bytes() == b""
    assert (tmp_path / "down" / "was-full.txt").read_bytes() == b""


async def test_an_interrupted_download_leaves_no_partial_file_and_the_next_apply_completes(
    engine: SyncEngine, remote: FakeRemote, store: FakeStore, tmp_path: Path,
) -> None:
    await seed(remote, store, "/d", "a.bin", b"a" * 1000)
    await seed(remote, store, "/d", "b.bin", b"b" * 1000)
    store.break_on = {"b.bin"}

    with pytest.raises(SyncError) as failure:
        await engine.apply(await engine.plan_tree(tmp_path, "/d", keeplocal=False), parallel=1)
    assert str(failure.value) == f"download of {tmp_path / 'b.bin'} from /d failed: connection reset by peer"
    assert isinstance(failure.value.__cause__, ConnectionResetError)
    assert sorted(path.name for path in tmp_path.iterdir()) == [".cfs", "a.bin"]

    store.break_on.clear()
    plans = await engine.plan_tree(tmp_path, "/d", keeplocal=False)
    assert [transfer.path.name for transfer in plans[0].transfers()] == ["b.bin"]
    await engine.apply(plans)
    assert (tmp_path / "b.bin").read_bytes() == b"b" * 1000


async def test_a_partial_file_left_by_a_killed_process_is_never_uploaded(engine: SyncEngine, tmp_path: Path) -> None:
    write(tmp_path / f".real.txt.0123abcd{PARTIAL_SUFFIX}", b"half of some download")
    write(tmp_path / "real.txt", b"real")

    plan = await engine.plan_dir(tmp_path, "/d", keeplocal=True)

    assert [file.name for file in plan.uploads] == ["real.txt"]


async def test_a_corrupted_object_is_an_error_and_not_kept(engine: SyncEngine, remote: FakeRemote, store: FakeStore, tmp_path: Path) -> None:
    row = await seed(remote, store, "/d", "a.txt", b"original")
    store.objects[row.ref["s3object"]["object"]] = b"tampered"

    with pytest.raises(SyncError, match=r"download of .*a\.txt from /d failed: checksum mismatch"):
        await engine.apply(await engine.plan_tree(tmp_path, "/d", keeplocal=False))
    assert sorted(path.name for path in tmp_path.iterdir()) == [".cfs"]


async def test_the_first_error_stops_new_transfers(engine: SyncEngine, remote: FakeRemote, store: FakeStore, tmp_path: Path) -> None:
    for name in ("a", "b", "c", "d"):
        await seed(remote, store, "/d", name, name.encode() * 10)
    store.break_on = {"b"}

    with pytest.raises(SyncError, match="download of .*/b from /d failed"):
        await engine.apply(await engine.plan_tree(tmp_path, "/d", keeplocal=False), parallel=1)

    assert store.gets == ["a", "b"]


async def test_the_first_error_waits_for_transfers_in_flight(engine: SyncEngine, remote: FakeRemote, store: FakeStore, tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        await seed(remote, store, "/d", name, name.encode() * 10)
    store.break_on = {"b"}
    store.gates = {"a": asyncio.Event()}
    plans = await engine.plan_tree(tmp_path, "/d", keeplocal=False)

    running = asyncio.create_task(engine.apply(plans, parallel=2))
    for _ in range(500):  # the markers are written in a thread first
        if store.gets == ["a", "b"] and store.active == 1:  # b has failed, a is held at its gate
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail(f"downloads never reached the failure: {store.gets}")
    for _ in range(10):
        await asyncio.sleep(0)
    assert not running.done()
    store.gates["a"].set()
    with pytest.raises(SyncError, match="download of .*/b from /d"):
        await running

    assert store.gets == ["a", "b"]  # c never started
    assert (tmp_path / "a").read_bytes() == b"a" * 10


async def test_transfers_run_at_most_parallel_at_a_time(engine: SyncEngine, remote: FakeRemote, store: FakeStore, tmp_path: Path) -> None:
    for index in range(10):
        await seed(remote, store, "/d", f"f{index}", b"x" * (index + 1))
    seen: list[SyncProgress] = []

    await engine.apply(await engine.plan_tree(tmp_path, "/d", keeplocal=False), parallel=3, progress=seen.append)

    assert store.peak == 3
    assert seen[0] == SyncProgress(0, 10, 0, 55, None)
    assert [(event.files_done, event.bytes_done) for event in seen][-1] == (10, 55)
    assert [event.files_done for event in seen] == list(range(11))
    assert all(event.last is not None and event.last.parent == tmp_path for event in seen[1:])


async def test_remote_failures_are_one_line_errors(engine: SyncEngine, remote: FakeRemote, tmp_path: Path) -> None:
    remote.fail = ConnectionRefusedError("connect call failed\n('127.0.0.1', 50080)")

    with pytest.raises(SyncError) as failure:
        await engine.plan_tree(tmp_path, "/d", keeplocal=True)

    assert str(failure.value) == "listing label /d failed: connect call failed ('127.0.0.1', 50080)"


def test_labels_are_normalised_like_the_go_client() -> None:
    assert [normalize_label(label) for label in ("data", "/data", "data/", "//a/b//", "", "/")] == [
        "/data", "/data", "/data", "/a/b", "/", "/",
    ]
    assert [sub_label("/a", "b/c"), sub_label("/", "b"), sub_label("/a", "")] == ["/a/b/c", "/b", "/a"]
    assert [label_suffix("/a", label) for label in ("/a", "/a/b/c", "/ab", "/a/../b", "/a/b/")] == [
        "", "b/c", None, None, None,
    ]
    assert label_suffix("/", "/x/y") == "x/y"


async def test_a_plan_under_the_root_label_names_sub_labels_without_a_double_slash(
    engine: SyncEngine, remote: FakeRemote, tmp_path: Path,
) -> None:
    write(tmp_path / "x" / "f.txt", b"f")

    plans = await engine.plan_tree(tmp_path, "/", keeplocal=True)
    await engine.apply(plans)

    assert [plan.label for plan in plans] == ["/", "/x"]
    assert [row.label for row in remote.rows] == ["/x"]
    assert (tmp_path / "x" / ".cfs").read_bytes() == b'{"label":"/x"}'


async def test_render_plan_shows_counts_and_resolution(engine: SyncEngine, remote: FakeRemote, store: FakeStore, tmp_path: Path) -> None:
    await one_of_each(remote, store, tmp_path, "/d")
    await seed(remote, store, "/d", "../bad", b"x")
    plans = await engine.plan_tree(tmp_path, "/d", keeplocal=True)

    text = rendered(plans)

    header = next(line for line in text.splitlines() if "label" in line)
    assert [cell.strip() for cell in header.split("┃")[1:-1]] == [
        "label", "dir", "uploads", "downloads", "conflicts", "resolution", "skipped",
    ]
    row = next(line for line in text.splitlines() if "/d " in line)
    assert [cell.strip() for cell in row.split("│")[1:-1]] == ["/d", str(tmp_path), "1", "1", "1", "replace-remote", "1"]
    assert "2 to upload (7 bytes), 1 to download (4 bytes)" in text


async def test_snapshot_downloads_into_sub_directories(store: FakeStore, remote: FakeRemote, tmp_path: Path) -> None:
    files = [
        await seed(remote, store, "/snap", "a.txt", b"a"),
        await seed(remote, store, "/snap/x/y", "b.txt", b"b"),
        await seed(remote, store, "/snap/x", "c.txt", b"c"),
        await seed(remote, store, "/snap/x", "empty", b""),
    ]

    result = await download_snapshot(files, "/snap/", tmp_path / "out", store)

    assert files_under(tmp_path / "out") == {"a.txt": b"a", "x/c.txt": b"c", "x/empty": b"", "x/y/b.txt": b"b"}
    assert result.downloaded == (tmp_path / "out/a.txt", tmp_path / "out/x/c.txt", tmp_path / "out/x/empty", tmp_path / "out/x/y/b.txt")


async def test_snapshot_skips_files_present_with_the_same_checksum_in_their_own_directory(
    store: FakeStore, remote: FakeRemote, tmp_path: Path,
) -> None:
    files = [
        await seed(remote, store, "/snap/x/y", "same.txt", b"same"),
        await seed(remote, store, "/snap/x", "changed.txt", b"new"),
        await seed(remote, store, "/snap/z", "elsewhere.txt", b"elsewhere"),
    ]
    write(tmp_path / "x" / "y" / "same.txt", b"same")
    write(tmp_path / "x" / "changed.txt", b"old")
    write(tmp_path / "elsewhere.txt", b"elsewhere")  # same bytes, but in the root: not the file's place

    result = await download_snapshot(files, "/snap", tmp_path, store)

    assert sorted(store.gets) == ["changed.txt", "elsewhere.txt"]
    assert result.unchanged == (tmp_path / "x/y/same.txt",)
    assert (tmp_path / "x" / "changed.txt").read_bytes() == b"new"
    assert (tmp_path / "z" / "elsewhere.txt").read_bytes() == b"elsewhere"


async def test_snapshot_refuses_a_file_outside_its_label(store: FakeStore, remote: FakeRemote, tmp_path: Path) -> None:
    stray = await seed(remote, store, "/other", "a.txt", b"a")

    with pytest.raises(SyncError, match="file a.txt has label '/other', which is not a safe sub-label of /snap"):
        await download_snapshot([stray], "/snap", tmp_path, store)


def test_scan_dir_hashes_regular_files_only(tmp_path: Path) -> None:
    big = bytes(range(256)) * 1000  # several read buffers
    write(tmp_path / "big", big)
    write(tmp_path / "sub" / "nested", b"not listed")
    (tmp_path / "link").symlink_to(tmp_path / "big")
    write(tmp_path / ".cfs", b'{"label":"/x"}')

    listing = scan_dir(tmp_path)
    assert [(file.name, file.size, file.checksum) for file in listing.files] == [("big", len(big), sha(big))]
    assert listing.others == {"link", "sub"}
    assert scan_dir(tmp_path / "missing").files == []


def test_scan_dir_stamps_each_file_with_the_mtime_its_hash_belongs_to(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "steady", b"a")
    write(tmp_path / "moving", b"b")
    [steady, moving] = sorted(scan_dir(tmp_path).files, key=lambda f: f.name, reverse=True)
    assert steady.stamp.matches((tmp_path / "steady").stat())

    real = localfs.sha256_file

    def touching(path: Path) -> tuple[str, int]:
        result = real(path)
        os.utime(path, ns=(1, 1))  # written to while being hashed
        return result

    monkeypatch.setattr(localfs, "sha256_file", touching)
    [changed] = [f for f in scan_dir(tmp_path).files if f.name == "moving"]
    assert changed.mtime_ns == 0 and not changed.stamp.matches((tmp_path / "moving").stat())


def test_sub_dirs_lists_every_directory_but_not_symlinked_ones(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "c").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "a")

    assert sub_dirs(tmp_path) == ["", "a", "a/b", "c"]
    assert sub_dirs(tmp_path / "missing") == [""]


async def test_a_remote_file_named_like_a_local_directory_or_link_is_skipped(
    engine: SyncEngine, remote: FakeRemote, store: FakeStore, tmp_path: Path,
) -> None:
    (tmp_path / "sub").mkdir()
    write(tmp_path / "target.txt", b"kept")
    (tmp_path / "link").symlink_to(tmp_path / "target.txt")
    await seed(remote, store, "/d", "sub", b"file")
    await seed(remote, store, "/d", "link", b"would replace the link")

    [root, _] = await engine.plan_tree(tmp_path, "/d", keeplocal=False)
    await engine.apply([root])

    assert [skip.name for skip in root.skipped] == ["link", "sub"] and not root.downloads
    assert (tmp_path / "link").is_symlink() and (tmp_path / "sub").is_dir()


def test_remote_file_from_the_wire_reads_null_as_empty() -> None:
    wire = {"fileid": "f1", "label": "/a", "name": "n", "size": 3, "checksum": "c", "ref": {"protocol": "s3", "s3object": {}}}
    assert RemoteFile.from_file(wire) == RemoteFile("n", "c", 3, "f1", {"protocol": "s3", "s3object": {}}, "/a")
    assert RemoteFile.from_file({"name": None, "label": None, "ref": None}) == RemoteFile("", "", 0, "", {}, "")
    data = {"name": "n", "checksum": "c", "size": 3, "s3filename": "key"}
    assert RemoteFile.from_filedata(data, "/a").ref == {"protocol": "s3", "s3object": {"object": "key"}}
