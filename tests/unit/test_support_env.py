"""Tests never see the shell's COLONIES_* / AWS_* variables (tests/support/env.py, tests/conftest.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from colonies import dev
from tests.support.env import clean_env, scrub

ROOT = Path(__file__).resolve().parents[2]
# what a user has in the shell after pasting `colonies dev`'s exports (and an S3 setup)
SHELL_EXPORTS = dev.client_env("127.0.0.1", 50080) | {"COLONIES_STORE_URL": "sqlite:////nonexistent/x.db", "AWS_S3_ENDPOINT": "127.0.0.1:1"}
LEAK_PROBE = "import os, json; print(json.dumps(sorted(k for k in os.environ if k.startswith(('COLONIES_', 'AWS_')))))"


def test_scrub_removes_only_colonies_and_aws_variables() -> None:
    environ = {"COLONIES_SERVER_PORT": "1", "AWS_S3_TLS": "false", "PATH": "/bin", "TEST_STORES": "sqlite"}
    assert scrub(environ) == ["AWS_S3_TLS", "COLONIES_SERVER_PORT"]
    assert environ == {"PATH": "/bin", "TEST_STORES": "sqlite"}
    assert clean_env({"COLONIES_PRVKEY": "k", "HOME": "/h"}, COLONIES_SERVER_ID="x") == {"HOME": "/h", "COLONIES_SERVER_ID": "x"}


def test_no_test_and_no_subprocess_sees_colonies_or_aws_variables() -> None:
    assert [k for k in os.environ if k.startswith(("COLONIES_", "AWS_"))] == []
    child = subprocess.run([sys.executable, "-c", LEAK_PROBE], capture_output=True, text=True, check=True, timeout=60)
    assert child.stdout.strip() == "[]"


def test_a_pytest_run_under_the_dev_exports_sees_none_of_them() -> None:
    """The proof under a shell like the user's: pytest runs the tests above with the exports set."""
    env = clean_env() | SHELL_EXPORTS | {"PYTHONPATH": str(ROOT)}
    selection = [
        f"{Path(__file__).relative_to(ROOT)}::test_no_test_and_no_subprocess_sees_colonies_or_aws_variables",
        "tests/unit/test_cli_config.py::test_cli_server_start_binds_the_config_port_over_the_environment",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", *selection],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout, result.stdout
