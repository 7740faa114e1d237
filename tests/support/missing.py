"""A tool a test needs is missing: skip on a developer's machine, fail in CI.

.ci/run installs everything (PostgreSQL, iproute2) and sets CI_NO_SKIPS=1, so there a missing
tool is a broken setup, not a reason to skip; the message says what is missing either way."""
from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(what: str, reason: str) -> NoReturn:
    if os.environ.get("CI_NO_SKIPS") == "1":
        pytest.fail(f"{what} unavailable in CI: {reason}")
    pytest.skip(f"{what} unavailable: {reason}")
