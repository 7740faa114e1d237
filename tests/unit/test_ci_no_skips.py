"""In CI (`CI_NO_SKIPS=1`) a skipped test fails, with what it found missing; elsewhere it skips."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_a_skipping_test(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text("from tests.conftest import pytest_runtest_makereport  # noqa: F401\n")
    (tmp_path / "test_skipping.py").write_text("import pytest\n\ndef test_it():\n    pytest.skip('the frobnicator is not installed')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLONIES_", "AWS_", "CI_NO_SKIPS"))}
    env["PYTHONPATH"] = str(ROOT)
    if ci:
        env["CI_NO_SKIPS"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )


def test_a_skip_fails_in_ci_and_names_what_is_missing(tmp_path: Path) -> None:
    result = run_a_skipping_test(tmp_path, ci=True)
    assert result.returncode == 1, result.stdout
    assert "skipped in CI" in result.stdout and "frobnicator" in result.stdout


def test_a_skip_outside_ci_is_a_skip(tmp_path: Path) -> None:
    result = run_a_skipping_test(tmp_path, ci=False)
    assert result.returncode == 0 and "1 skipped" in result.stdout, result.stdout
