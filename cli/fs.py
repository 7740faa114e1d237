"""`colonies fs`: CFS files, labels and snapshots (docs/cfs.md; upstream `internal/cli/fs.go`).

Identity from COLONIES_PRVKEY (a member's key) and COLONIES_COLONY_NAME, the node as the other
commands find it, S3 from the upstream `AWS_S3_*` variables. Async underneath: every command runs
one `asyncio.run` around a helper; a failure is one line on stderr and exit code 1.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import msgspec
import typer
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from . import output
from .node import HELP, UrlOption, _url, show
from colonies.oneline import one_line

T = TypeVar("T")

app = typer.Typer(
    help="CFS, the meta-filesystem: sync directories with labels, list, get and remove files, snapshots.",
    no_args_is_help=True,
    context_settings=HELP,
    pretty_exceptions_show_locals=False,
)
label_app = typer.Typer(help="Labels (directories of files in CFS).", no_args_is_help=True, context_settings=HELP)
snapshot_app = typer.Typer(help="Snapshots: the latest revision of every file under a label, frozen.", no_args_is_help=True, context_settings=HELP)
app.add_typer(label_app, name="label")
app.add_typer(snapshot_app, name="snapshot")

KeyOption = Annotated[str, typer.Option("--prvkey", envvar="COLONIES_PRVKEY", help="A member's private key.")]
ColonyOption = Annotated[str, typer.Option("--colony", envvar="COLONIES_COLONY_NAME", help="The colony's name.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
YesOption = Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")]
LabelOption = Annotated[str, typer.Option("--label", "-l", help="The label (normalised to /x).")]
NameOption = Annotated[str, typer.Option("--name", "-n", help="The file's name within the label.")]
FileIdOption = Annotated[str, typer.Option("--fileid", "-i", help="A file revision's id.")]
DirOption = Annotated[Path, typer.Option("--dir", "-d", file_okay=False, help="The local directory.")]
WorkDirOption = Annotated[Path, typer.Option("--dir", "-d", file_okay=False, help="The local directory (default: the current one).")]
SnapshotIdOption = Annotated[str, typer.Option("--snapshotid", "-i", help="The snapshot's id.")]
SnapshotNameOption = Annotated[str, typer.Option("--name", "-n", "--snapshotname", help="The snapshot's name.")]

NONE = "—"


@dataclass(frozen=True)
class Identity:
    url: str
    prvkey: str
    colony: str


def _fail(message: str) -> NoReturn:
    output.error(message)
    raise typer.Exit(code=1)


def _identity(url: str, prvkey: str, colony: str) -> Identity:
    if not prvkey:
        _fail("a member's key is needed: --prvkey or COLONIES_PRVKEY")
    if not colony:
        _fail("the colony is needed: --colony or COLONIES_COLONY_NAME")
    return Identity(_url(url), prvkey, colony)


def _run(work: Awaitable[T]) -> T:
    """`asyncio.run(work)`; node, RPC, storage and sync failures become one line and exit 1."""
    import aiohttp

    from colonies.cfs.storage import StorageError
    from colonies.cfs.sync import SyncError
    from colonies.wire import RPCError

    try:
        return asyncio.run(work)  # type: ignore[arg-type]
    except RPCError as err:
        _fail(f"{err.status}: {' '.join(err.message.split())}")
    except (StorageError, SyncError, _NotFound) as err:
        _fail(one_line(err))
    except (OSError, aiohttp.ClientError, asyncio.TimeoutError) as err:
        _fail(f"cannot reach the node: {one_line(err)}")
    except ValueError as err:  # S3 settings (AWS_S3_ENDPOINT missing or malformed)
        _fail(one_line(err))


def _s3_config() -> Any:
    from colonies.cfs.storage import S3Config

    try:
        return S3Config.from_env(os.environ)
    except ValueError as err:
        _fail(one_line(err))


@contextlib.asynccontextmanager
async def _client(who: Identity) -> AsyncIterator[Any]:
    from colonies.client import AsyncClient

    async with AsyncClient(who.url, who.prvkey) as client:
        yield client


@contextlib.asynccontextmanager
async def _storage(config: Any) -> AsyncIterator[Any]:
    from colonies.cfs.storage import S3Storage

    async with S3Storage(config) as storage:
        yield storage


@dataclass(frozen=True)
class Backends:
    """Where this command reads and writes bytes: S3 when `AWS_S3_ENDPOINT` is set, IPFS when
    `COLONIES_IPFS_API` is (a Kubo RPC API multiaddr), and which one new bytes go to."""

    s3: Any
    ipfs_api: str
    put_to: str


def _backends(storage: str = "") -> Backends:
    s3 = _s3_config() if os.environ.get("AWS_S3_ENDPOINT") else None
    ipfs_api = os.environ.get("COLONIES_IPFS_API", "").strip()
    put_to = storage or os.environ.get("COLONIES_CFS_STORAGE", "").strip() or ("s3" if s3 is not None or not ipfs_api else "ipfs")
    if put_to not in ("s3", "ipfs"):
        _fail(f"--storage must be s3 or ipfs, not {put_to!r}")
    if s3 is None and not ipfs_api:
        _fail("no storage configured: set AWS_S3_ENDPOINT (and the other AWS_S3_* variables) or COLONIES_IPFS_API")
    if put_to == "s3" and s3 is None:
        _fail("new bytes go to S3, which is not configured (AWS_S3_ENDPOINT)")
    if put_to == "ipfs" and not ipfs_api:
        _fail("new bytes go to IPFS, which is not configured (COLONIES_IPFS_API)")
    return Backends(s3, ipfs_api, put_to)


@contextlib.asynccontextmanager
async def _store(backends: Backends) -> AsyncIterator[Any]:
    """A `StorageStore` over the configured backends (an IPFS read that its reference's providers
    cannot serve goes through the IPFS node, which the node's pin keeper has connected)."""
    from colonies.cfs.remote import StorageStore

    async with contextlib.AsyncExitStack() as stack:
        s3 = await stack.enter_async_context(_storage(backends.s3)) if backends.s3 is not None else None
        ipfs = None
        if backends.ipfs_api:
            from colonies.cfs.storage import IpfsConfig, IpfsStorage

            ipfs = await stack.enter_async_context(IpfsStorage(IpfsConfig(api=backends.ipfs_api)))
        yield StorageStore(s3, ipfs=ipfs, put_to=backends.put_to)


def _with_client(who: Identity, work: Callable[[Any], Awaitable[T]]) -> T:
    """`work(client)` on a client of the node, through `_run`."""

    async def run() -> T:
        async with _client(who) as client:
            return await work(client)

    return _run(run())


def _label(label: str) -> str:
    from colonies.cfs.sync import normalize_label

    return normalize_label(label)


def _print_json(value: Any) -> None:
    output.print_plain([json.dumps(msgspec.to_builtins(value), indent=2)])


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _table(headers: Iterable[str], rows: Iterable[Iterable[Any]], numeric: Iterable[str] = ()) -> Table:
    table = Table()
    right = set(numeric)
    for header in headers:
        table.add_column(header, overflow="fold", justify="right" if header in right else "left")
    for row in rows:
        table.add_row(*(Text(NONE if cell in (None, "") else str(cell)) for cell in row))
    return table


def _one_of_file(fileid: str, label: str, name: str) -> None:
    if fileid and (label or name):
        _fail("give either --fileid or --label and --name, not both")
    if not fileid and not (label and name):
        _fail("give --fileid, or --label and --name")


def _one_of_snapshot(snapshotid: str, name: str) -> None:
    if bool(snapshotid) == bool(name):
        _fail("give either --snapshotid or --name")


async def _revisions(client: Any, colony: str, fileid: str, label: str, name: str, latest: bool) -> list[Any]:
    """The file's revisions (newest first): by id, the revisions of that id's label and name."""
    if fileid:
        found = await client.get_file(colony, fileid=fileid)
        if not found:
            raise _NotFound(f"no file with id {fileid}")
        label, name = found[0].label or "", found[0].name or ""
        if latest:
            return list(found)
    found = await client.get_file(colony, label=_label(label), name=name, latest=latest)
    if not found:
        raise _NotFound(f"no file {name} in label {_label(label)}")
    return list(found)


class _NotFound(Exception):
    """What the command names does not exist (a one-line error)."""


# --- sync ---------------------------------------------------------------------------------

def _plan_json(plans: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "label": plan.label,
            "dir": str(plan.dir),
            "resolution": plan.resolution,
            "uploads": [file.name for file in plan.uploads],
            "downloads": [file.name for file in plan.downloads],
            "conflicts": [conflict.local.name for conflict in plan.conflicts],
            "skipped": [{"name": s.name, "reason": s.reason} for s in plan.skipped],
        }
        for plan in plans
    ]


def _progress_bar(enabled: bool) -> tuple[Progress | None, Callable[[Any], None] | None]:
    if not enabled:
        return None, None
    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("files"),
        DownloadColumn(), TimeRemainingColumn(), console=output.err, transient=True,
    )
    task = bar.add_task("syncing", total=None)

    def update(p: Any) -> None:
        # the bar runs over bytes; the file counts are shown beside it
        bar.update(task, total=max(p.bytes_total, 1), completed=p.bytes_done if p.bytes_total else 1,
                   description=f"syncing {p.files_done}/{p.files_total} files")

    return bar, update


@app.command(context_settings=HELP)
def sync(
    label: LabelOption = ".cfs",
    dir: WorkDirOption = Path("."),
    keeplocal: Annotated[bool, typer.Option("--keeplocal/--no-keeplocal", help="On a conflict keep the local file (else the remote one).")] = True,
    direction: Annotated[str, typer.Option("--direction", help="both, upload (never download) or download (never upload).")] = "both",
    storage: Annotated[str, typer.Option("--storage", help="Where new bytes go: s3 or ipfs (default: COLONIES_CFS_STORAGE, else the one configured).")] = "",
    dry: Annotated[bool, typer.Option("--dry", help="Print the plan and change nothing.")] = False,
    yes: YesOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan (with --dry) or the result as JSON.")] = False,
    url: UrlOption = "",
    prvkey: KeyOption = "",
    colony: ColonyOption = "",
) -> None:
    """Synchronise a directory (and its sub-directories, as sub-labels) with a label."""
    from colonies.cfs.remote import NodeRemote
    from colonies.cfs.sync import DIRECTIONS, SyncEngine

    if direction not in DIRECTIONS:
        _fail(f"--direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    who = _identity(url, prvkey, colony)
    label = _label(label)

    async def plan() -> list[Any]:
        async with _client(who) as client:
            engine = SyncEngine(NodeRemote(client, who.colony), None)  # type: ignore[arg-type]  # planning reads no bytes
            return await engine.plan_tree(dir, label, keeplocal, direction)  # type: ignore[arg-type]

    plans = _run(plan())
    transfers = [transfer for p in plans for transfer in p.transfers()]
    if dry:
        if as_json:
            _print_json(_plan_json(plans))
        else:
            show(_render_plan(plans))
        return
    if not transfers:
        if as_json:
            _print_json({"uploaded": [], "downloaded": [], "bytes": 0})
        else:
            output.print_plain(["already synchronized"])
        return
    backends = _backends(storage)  # only now: planning needs the node alone
    if not yes:
        show(_render_plan(plans))
        if not typer.confirm("Proceed?", default=False):
            _fail("cancelled")

    async def apply() -> Any:
        async with _client(who) as client, _store(backends) as store:
            engine = SyncEngine(NodeRemote(client, who.colony), store)
            bar, update = _progress_bar(not as_json)
            with bar or contextlib.nullcontext():
                return await engine.apply(plans, progress=update)

    result = _run(apply())
    if as_json:
        _print_json({
            "uploaded": [{"label": f.label, "name": f.name, "fileid": f.fileid, "size": f.size} for f in result.uploaded],
            "downloaded": [str(path) for path in result.downloaded],
            "bytes": result.bytes,
        })
        return
    output.ready(f"synchronized {label} with {dir}: {len(result.uploaded)} uploaded, {len(result.downloaded)} downloaded, {_size(result.bytes)}")


def _render_plan(plans: list[Any]) -> Any:
    from colonies.cfs.sync import render_plan

    return render_plan(plans)


@app.command(context_settings=HELP)
def clean(
    label: LabelOption = ".cfs",
    dir: WorkDirOption = Path("."),
    dry: Annotated[bool, typer.Option("--dry", help="Print what would be removed and change nothing.")] = False,
    yes: YesOption = False,
    as_json: JsonOption = False,
    url: UrlOption = "",
    prvkey: KeyOption = "",
    colony: ColonyOption = "",
) -> None:
    """Remove local files and directories that the label (and its sub-labels) does not hold."""
    from colonies.cfs.clean import apply_clean, plan_clean, render_clean
    from colonies.cfs.remote import NodeRemote

    who = _identity(url, prvkey, colony)
    label = _label(label)

    async def plan() -> Any:
        async with _client(who) as client:
            return await plan_clean(NodeRemote(client, who.colony), dir, label)

    cleaning = _run(plan())
    if as_json and (dry or cleaning.empty):
        _print_json({"files": [str(p) for p in cleaning.files], "dirs": [str(p) for p in cleaning.dirs], "removed": 0})
        return
    if dry:
        show(render_clean(cleaning))
        return
    if cleaning.empty:
        output.print_plain([f"{dir} holds nothing that {label} does not"])
        return
    if not yes:
        show(render_clean(cleaning))
        if not typer.confirm("Remove them?", default=False):
            _fail("cancelled")
    removed = _run(apply_clean(cleaning))
    if as_json:
        _print_json({"files": [str(p) for p in cleaning.files], "dirs": [str(p) for p in cleaning.dirs], "removed": removed})
        return
    output.ready(f"removed {len(cleaning.files)} files and {len(cleaning.dirs)} directories from {dir}")


# --- files --------------------------------------------------------------------------------

@app.command("ls", context_settings=HELP)
def ls(
    label: LabelOption = ".cfs",
    as_json: JsonOption = False,
    url: UrlOption = "",
    prvkey: KeyOption = "",
    colony: ColonyOption = "",
) -> None:
    """The files directly in a label: name, size, latest file id, added, revisions."""
    who = _identity(url, prvkey, colony)
    label = _label(label)

    async def work() -> list[dict[str, Any]]:
        async with _client(who) as client:
            files = await client.get_files(who.colony, label)

            async def one(name: str, size: int) -> dict[str, Any]:
                revisions = await client.get_file(who.colony, label=label, name=name, latest=False)
                latest = revisions[0] if revisions else None
                return {
                    "name": name, "size": size, "fileid": latest.fileid if latest else "",
                    "added": latest.added if latest else "", "revisions": len(revisions),
                }

            return list(await asyncio.gather(*(one(f.name, f.size) for f in sorted(files, key=lambda f: f.name))))

    rows = _run(work())
    if as_json:
        _print_json(rows)
        return
    if not rows:
        output.print_plain([f"no files in label {label}"])
        return
    show(_table(
        ("name", "size", "latest id", "added", "revisions"),
        ((r["name"], _size(r["size"]), r["fileid"], r["added"], r["revisions"]) for r in rows),
        numeric=("size", "revisions"),
    ))


@label_app.command("ls", context_settings=HELP)
def label_ls(as_json: JsonOption = False, url: UrlOption = "", prvkey: KeyOption = "", colony: ColonyOption = "") -> None:
    """Every label of the colony and its number of files (revisions)."""
    who = _identity(url, prvkey, colony)

    labels = sorted(_with_client(who, lambda client: client.get_file_labels(who.colony, "", False)), key=lambda label: label.name)
    if as_json:
        _print_json(labels)
        return
    if not labels:
        output.print_plain(["no labels"])
        return
    show(_table(("label", "files"), ((label.name, label.files) for label in labels), numeric=("files",)))


@label_app.command("remove", context_settings=HELP)
def label_remove(
    label: Annotated[str, typer.Option("--label", "-l", help="The label to remove, with its sub-labels.")],
    yes: YesOption = False,
    as_json: JsonOption = False,
    url: UrlOption = "",
    prvkey: KeyOption = "",
    colony: ColonyOption = "",
) -> None:
    """Remove every file (all revisions, bytes and metadata) under a label and its sub-labels; local files stay."""
    from colonies.cfs.remote import remove_label_tree

    label = _label(label)
    who = _identity(url, prvkey, colony)
    if not yes and not typer.confirm(f"Remove every file under {label} and its sub-labels?", default=False):
        _fail("cancelled")
    config = _s3_config()

    async def work() -> Any:
        async with _client(who) as client, _storage(config) as storage:
            return await remove_label_tree(client, storage, who.colony, label)

    removed = _run(work())
    if as_json:
        _print_json({"labels": list(removed.labels), "files": removed.names, "revisions": removed.revisions})
        return
    if not removed.labels:
        output.print_plain([f"no files under {label}"])
        return
    output.ready(f"removed {removed.names} files ({removed.revisions} revisions) in {len(removed.labels)} labels under {label}")


def _location_text(location: Any) -> str:
    if location.protocol == "ipfs":
        count = len(location.providers or [])
        return f"ipfs {location.cid} ({count} provider{'s' if count != 1 else ''})"
    if location.protocol == "s3":
        return f"s3 {location.endpoint}/{location.bucket}/{location.object}"
    return location.protocol


@app.command(context_settings=HELP)
def resolve(
    label: Annotated[str, typer.Option("--label", "-l", help="The label (with its sub-labels) to resolve.")] = "",
    snapshot: Annotated[str, typer.Option("--snapshot", "--snapshotid", "-i", help="Resolve this snapshot's files instead.")] = "",
    as_json: JsonOption = False,
    url: UrlOption = "",
    prvkey: KeyOption = "",
    colony: ColonyOption = "",
) -> None:
    """Where the bytes of every file under a label (or in a snapshot) are: S3 objects, CIDs and their providers."""
    if bool(label) == bool(snapshot):
        _fail("give either --label or --snapshot")
    who = _identity(url, prvkey, colony)

    files = _with_client(who, lambda client: client.resolve_files(who.colony, label=_label(label) if label else "", snapshotid=snapshot))
    if as_json:
        _print_json(files)
        return
    if not files:
        output.print_plain([f"no files under {_label(label)}" if label else "the snapshot holds no files"])
        return
    show(_table(
        ("label", "name", "size", "sha256", "locations"),
        ((f.label, f.name, _size(f.size), f.checksum, "\n".join(_location_text(loc) for loc in f.locations)) for f in files),
        numeric=("size",),
    ))


def _revision_rows(revisions: list[Any]) -> Table:
    return _table(
        ("file id", "label", "name", "revision", "size", "sha256", "added", "bucket", "object"),
        (
            (
                f.fileid, f.label, f.name, f.sequencenr, _size(f.size), f.checksum, f.added,
                (f.ref.s3object.bucket if f.ref and f.ref.s3object else ""),
                (f.ref.s3object.object if f.ref and f.ref.s3object else ""),
            )
            for f in revisions
        ),
        numeric=("revision", "size"),
    )


@app.command(context_settings=HELP)
def info(
    fileid: FileIdOption = "",
    label: LabelOption = "",
    name: NameOption = "",
    as_json: JsonOption = False,
    url: UrlOption = "",
    prvkey: KeyOption = "",
    colony: ColonyOption = "",
) -> None:
    """Every revision of a file (newest first), by a revision's id or by label and name."""
    _one_of_file(fileid, label, name)
    who = _identity(url, prvkey, colony)

    revisions = _with_client(who, lambda client: _revisions(client, who.colony, fileid, label, name, latest=False))
    if as_json:
        _print_json(revisions)
        return
    show(_revision_rows(revisions))


@app.command(context_settings=HELP)
def get(
    dir: DirOption,
    fileid: FileIdOption = "",
    label: LabelOption = "",
    name: NameOption = "",
    url: UrlOption = "",
    prvkey: KeyOption = "",
    colony: ColonyOption = "",
) -> None:
    """Download a file (the revision with --fileid, else the latest) into DIR/name, verified."""
    from colonies.cfs.localfs import unsafe_name
    from colonies.cfs.sync import RemoteFile, fetch

    _one_of_file(fileid, label, name)
    who = _identity(url, prvkey, colony)
    backends = _backends()

    async def work() -> Path:
        async with _client(who) as client, _store(backends) as store:
            file = (await _revisions(client, who.colony, fileid, label, name, latest=True))[0]
            if reason := unsafe_name(file.name or ""):
                raise _NotFound(f"cannot write file {file.name!r}: {reason}")
            await asyncio.to_thread(dir.mkdir, parents=True, exist_ok=True)
            dest = dir / (file.name or "")
            await fetch(store, RemoteFile.from_file(msgspec.to_builtins(file)), dest)
            return dest

    dest = _run(work())
    output.ready(f"downloaded {dest}")


@app.command(context_settings=HELP)
def remove(
    fileid: FileIdOption = "",
    label: LabelOption = "",
    name: NameOption = "",
    yes: YesOption = False,
    url: UrlOption = "",
    prvkey: KeyOption = "",
    colony: ColonyOption = "",
) -> None:
    """Remove a file revision (--fileid) or every revision of label + name: S3 objects, then metadata."""
    from colonies.cfs.remote import delete_objects

    _one_of_file(fileid, label, name)
    what = f"file revision {fileid}" if fileid else f"every revision of {name} in {_label(label)}"
    if not yes and not typer.confirm(f"Remove {what}?", default=False):
        _fail("cancelled")
    who = _identity(url, prvkey, colony)
    config = _s3_config()

    async def work() -> int:
        async with _client(who) as client, _storage(config) as storage:
            if fileid:
                revisions = await _revisions(client, who.colony, fileid, "", "", latest=True)
            else:
                revisions = await _revisions(client, who.colony, "", label, name, latest=False)
            await delete_objects(storage, revisions)
            if fileid:
                await client.remove_file(who.colony, fileid=fileid)
            else:
                await client.remove_file(who.colony, label=_label(label), name=name)
            return len(revisions)

    count = _run(work())
    output.ready(f"removed {what} ({count} revision{'s' if count != 1 else ''})")


# --- snapshots ----------------------------------------------------------------------------

def _snapshot_table(snapshots: list[Any]) -> Table:
    return _table(
        ("snapshot id", "name", "label", "files", "added"),
        ((s.snapshotid, s.name, s.label, len(s.fileids or []), s.added) for s in snapshots),
        numeric=("files",),
    )


@snapshot_app.command("create", context_settings=HELP)
def snapshot_create(
    label: Annotated[str, typer.Option("--label", "-l", help="The label to freeze (with its sub-labels).")],
    name: Annotated[str, typer.Option("--name", "-n", "--snapshotname", help="The snapshot's name (default: a random one).")] = "",
    as_json: JsonOption = False,
    url: UrlOption = "",
    prvkey: KeyOption = "",
    colony: ColonyOption = "",
) -> None:
    """Freeze the latest revision of every file under a label and its sub-labels."""
    who = _identity(url, prvkey, colony)
    name = name or f"snapshot-{secrets.token_hex(8)}"

    snapshot = _with_client(who, lambda client: client.create_snapshot(who.colony, _label(label), name))
    if as_json:
        _print_json(snapshot)
        return
    output.ready(f"snapshot {snapshot.name} ({snapshot.snapshotid}) of {snapshot.label}: {len(snapshot.fileids or [])} files")


@snapshot_app.command("ls", context_settings=HELP)
def snapshot_ls(as_json: JsonOption = False, url: UrlOption = "", prvkey: KeyOption = "", colony: ColonyOption = "") -> None:
    """Every snapshot of the colony."""
    who = _identity(url, prvkey, colony)

    snapshots = _with_client(who, lambda client: client.get_snapshots(who.colony))
    if as_json:
        _print_json(snapshots)
        return
    if not snapshots:
        output.print_plain(["no snapshots"])
        return
    show(_snapshot_table(snapshots))


async def _snapshot_files(client: Any, colony: str, snapshot: Any) -> list[Any]:
    from colonies.cfs.remote import SnapshotBroken, snapshot_revisions

    try:
        return await snapshot_revisions(client, colony, snapshot)
    except SnapshotBroken as err:
        raise _NotFound(str(err)) from None


@snapshot_app.command("info", context_settings=HELP)
def snapshot_info(
    snapshotid: SnapshotIdOption = "",
    name: SnapshotNameOption = "",
    as_json: JsonOption = False,
    url: UrlOption = "",
    prvkey: KeyOption = "",
    colony: ColonyOption = "",
) -> None:
    """A snapshot and the file revisions it holds."""
    _one_of_snapshot(snapshotid, name)
    who = _identity(url, prvkey, colony)

    async def work(client: Any) -> tuple[Any, list[Any]]:
        snapshot = await client.get_snapshot(who.colony, snapshotid=snapshotid, name=name)
        return snapshot, await _snapshot_files(client, who.colony, snapshot)

    snapshot, files = _with_client(who, work)
    if as_json:
        _print_json({"snapshot": msgspec.to_builtins(snapshot), "files": msgspec.to_builtins(files)})
        return
    show(_snapshot_table([snapshot]), _revision_rows(sorted(files, key=lambda f: (f.label or "", f.name or ""))))


@snapshot_app.command("download", context_settings=HELP)
def snapshot_download(
    dir: DirOption,
    snapshotid: SnapshotIdOption = "",
    name: SnapshotNameOption = "",
    url: UrlOption = "",
    prvkey: KeyOption = "",
    colony: ColonyOption = "",
) -> None:
    """Download a snapshot's files into DIR, sub-labels as sub-directories (unchanged files are kept)."""
    from colonies.cfs.sync import RemoteFile, download_snapshot

    _one_of_snapshot(snapshotid, name)
    who = _identity(url, prvkey, colony)
    backends = _backends()

    async def work() -> Any:
        async with _client(who) as client, _store(backends) as store:
            snapshot = await client.get_snapshot(who.colony, snapshotid=snapshotid, name=name)
            files = [RemoteFile.from_file(msgspec.to_builtins(f)) for f in await _snapshot_files(client, who.colony, snapshot)]
            bar, update = _progress_bar(True)
            with bar or contextlib.nullcontext():
                return await download_snapshot(files, snapshot.label, dir, store, progress=update)

    result = _run(work())
    output.ready(f"downloaded {len(result.downloaded)} files ({_size(result.bytes)}) into {dir}, {len(result.unchanged)} unchanged")


@snapshot_app.command("remove", context_settings=HELP)
def snapshot_remove(
    snapshotid: SnapshotIdOption = "",
    name: SnapshotNameOption = "",
    url: UrlOption = "",
    prvkey: KeyOption = "",
    colony: ColonyOption = "",
) -> None:
    """Remove a snapshot (its files stay)."""
    _one_of_snapshot(snapshotid, name)
    who = _identity(url, prvkey, colony)

    _with_client(who, lambda client: client.remove_snapshot(who.colony, snapshotid=snapshotid, name=name))
    output.ready(f"removed snapshot {snapshotid or name}")


@snapshot_app.command("removeall", context_settings=HELP)
def snapshot_removeall(yes: YesOption = False, url: UrlOption = "", prvkey: KeyOption = "", colony: ColonyOption = "") -> None:
    """Remove every snapshot of the colony (their files stay); asks you to type YES unless --yes."""
    who = _identity(url, prvkey, colony)
    if not yes and typer.prompt(f"Remove every snapshot of colony {who.colony}? Type YES") != "YES":
        _fail("cancelled")

    _with_client(who, lambda client: client.remove_all_snapshots(who.colony))
    output.ready(f"removed every snapshot of colony {who.colony}")
