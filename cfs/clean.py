"""`fs clean`: make a directory tree hold no more than its label does (upstream `CalcCleanPlans`,
../shared/spec/cfs.md §1.5), planned first so it can be shown and confirmed.

Per local directory under the root (the root is the label, sub-directories its sub-labels):
- a directory whose label, or some label below it, has files in CFS is kept, and its regular
  files whose names are not in its own label are removed (with leftovers of interrupted downloads);
- any other directory is removed whole.

Where this deliberately differs from the Go client: a directory whose own label is empty but has
sub-labels with files is kept (upstream removes it, and the files of those sub-labels with it);
symlinks and special files are never touched; a root label with nothing under it is an error
whether it has sub-labels or not, so a mistyped label cannot wipe a directory."""
from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table
from rich.text import Text

from colonies.cfs.localfs import MARKER, sub_dirs
from colonies.cfs.storage.atomic import is_partial
from colonies.cfs.sync import Remote, SyncError, label_suffix, normalize_label, sub_label


@dataclass(frozen=True)
class CleanPlan:
    label: str
    dir: Path
    files: tuple[Path, ...] = ()  # regular files to remove
    dirs: tuple[Path, ...] = ()  # directories to remove with everything in them (topmost only)
    untouched: tuple[Path, ...] = ()  # links and special files, never removed

    @property
    def empty(self) -> bool:
        return not (self.files or self.dirs)


@dataclass(frozen=True)
class _Entries:
    files: list[str]  # regular files and partial downloads, not the marker
    others: list[str]  # symlinks, devices, sockets


def _entries(directory: Path) -> _Entries:
    files, others = [], []
    try:
        listing = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except FileNotFoundError:
        return _Entries([], [])
    for entry in listing:
        if entry.name == MARKER or entry.is_dir(follow_symlinks=False):
            continue
        (files if entry.is_file(follow_symlinks=False) else others).append(entry.name)
    return _Entries(files, others)


def _kept(rel: str, remote: set[str]) -> bool:
    """Whether the local directory `rel` holds a label with files, at or below it."""
    if rel == "":
        return bool(remote)
    return rel in remote or any(other.startswith(rel + "/") for other in remote)


async def plan_clean(remote: Remote, dir: str | os.PathLike[str], label: str, *, parallel: int = 8) -> CleanPlan:
    """What `apply_clean` would remove under `dir` to match `label`; reads no file contents."""
    root, label = Path(dir), normalize_label(label)
    prefix = label if label == "/" else label + "/"
    try:
        found = await remote.labels(label, False)
    except Exception as error:
        raise SyncError(f"listing labels under {label} failed: {' '.join(str(error).split())}") from error
    # a plain string prefix: "/a" also matches "/ab", which is no sub-label of "/a"
    held = {rel for name, count in found if count and (name == label or name.startswith(prefix))
            and (rel := label_suffix(label, name)) is not None}
    if not held:
        raise SyncError(f"label {label} has no files in CFS: refusing to clean {root} against nothing")
    try:
        rels = await asyncio.to_thread(sub_dirs, root)
    except OSError as error:
        raise SyncError(f"reading {root} failed: {error}") from error

    removed: list[str] = []
    kept: list[str] = []
    for rel in rels:  # sorted, so a parent comes before its children
        if any(rel.startswith(gone + "/") for gone in removed):
            continue
        (kept if _kept(rel, held) else removed).append(rel)

    semaphore = asyncio.Semaphore(parallel)

    async def surplus(rel: str) -> tuple[list[Path], list[Path]]:
        directory = root / rel
        async with semaphore:
            entries = await asyncio.to_thread(_entries, directory)
            names: set[str] = set()
            if rel in held and entries.files:
                try:
                    names = {file.name for file in await remote.files(sub_label(label, rel))}
                except Exception as error:
                    raise SyncError(f"listing label {sub_label(label, rel)} failed: {' '.join(str(error).split())}") from error
        extra = [directory / name for name in entries.files if name not in names or is_partial(name)]
        return extra, [directory / name for name in entries.others]

    found_files = await asyncio.gather(*(surplus(rel) for rel in kept))
    return CleanPlan(
        label, root,
        files=tuple(path for extra, _ in found_files for path in extra),
        dirs=tuple(root / rel for rel in removed),
        untouched=tuple(path for _, others in found_files for path in others),
    )


def _remove(plan: CleanPlan) -> int:
    for path in plan.files:
        path.unlink(missing_ok=True)
    for directory in plan.dirs:
        if directory.is_dir() and not directory.is_symlink():
            shutil.rmtree(directory)
    return len(plan.files) + len(plan.dirs)


async def apply_clean(plan: CleanPlan) -> int:
    """Removes what the plan names; returns how many files and directories it removed."""
    try:
        return await asyncio.to_thread(_remove, plan)
    except OSError as error:
        raise SyncError(f"cleaning {plan.dir} failed: {' '.join(str(error).split())}") from error


def render_clean(plan: CleanPlan) -> Table:
    table = Table(title=f"CFS clean of {plan.dir} against {plan.label}")
    table.add_column("remove")
    table.add_column("path", overflow="fold")
    for directory in plan.dirs:
        table.add_row("directory", Text(str(directory)))
    for path in plan.files:
        table.add_row("file", Text(str(path)))
    table.caption = f"{len(plan.files)} files and {len(plan.dirs)} directories to remove"
    if plan.untouched:
        table.caption += f"; {len(plan.untouched)} links or special files left alone"
    return table
