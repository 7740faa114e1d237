"""The files and tests the docs and the README name exist (docs stay true)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md", ROOT / "benchmarks" / "README.md"]
OURS = ("tests/", "node/", "federation/", "cfs/", "dht/", "cli/", "colonies/", "benchmarks/", "docs/", "configs/", ".ci/")
# a repository path in backticks, optionally with ::test_name (globs and placeholders are not paths)
NAMED = re.compile(r"`((?:" + "|".join(re.escape(p) for p in OURS) + r")[\w./-]+?)(?:::(\w+))?`")


def named_paths() -> list[tuple[str, str, str]]:
    found = []
    for page in PAGES:
        if not page.exists():
            continue
        for match in NAMED.finditer(page.read_text()):
            path, test = match.group(1), match.group(2) or ""
            if any(c in path for c in "*{}<>") or path.endswith("/"):
                continue
            found.append((page.relative_to(ROOT).as_posix(), path, test))
    return found


@pytest.mark.parametrize(("page", "path", "test"), named_paths())
def test_a_named_file_exists_and_a_named_test_is_in_it(page: str, path: str, test: str) -> None:
    target = ROOT / path
    assert target.exists(), f"{page} names {path}, which does not exist"
    if test:
        assert re.search(rf"def {re.escape(test)}\b", target.read_text()), f"{page} names {path}::{test}, which is not there"
