"""`colonies dev` runs a shell executor of type `cli` next to its node, so the README's pycolonies
snippet (taken from README.md as written) completes and prints its output; `--no-executor` skips it.
Both run in a shell where an earlier dev node's exports were pasted."""
from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from colonies import dev
from colonies.client import Client
from tests.support.devnode import DevNode

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_snippet() -> str:
    using = README.read_text().split("## Using it", 1)[1]
    match = re.search(r"```python\n(.*?)```", using, re.S)
    assert match, "README's 'Using it' has no python snippet"
    return match.group(1)


@pytest.fixture
def dev_node(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[DevNode]:
    node = DevNode(tmp_path, *getattr(request, "param", ()))
    yield node
    node.stop()


def test_the_readme_snippet_prints_the_output_of_its_process(dev_node: DevNode):
    assert "executor dev-shell (type cli) runs echo, " in dev_node.ready
    result = subprocess.run([sys.executable, "-c", readme_snippet()], env=dev_node.env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "['hi']\n"
    with Client(dev_node.url, dev.PRVKEY) as client:
        [shell] = [e for e in client.list_executors(dev.COLONY_NAME) if e.executorname == dev.SHELL_EXECUTOR_NAME]
        assert shell.executortype == "cli"
        functions = {f.funcname for f in client.list_functions(dev.COLONY_NAME, dev.SHELL_EXECUTOR_NAME)}
        assert {"echo", "uname"} <= functions and not {"rm", "date"} & functions
    assert dev_node.stop() == 0


@pytest.mark.parametrize("dev_node", [("--no-executor",)], indirect=True)
def test_no_executor_runs_the_node_alone_and_says_so(dev_node: DevNode):
    assert "no executor runs here (--no-executor)" in dev_node.ready
    with Client(dev_node.url, dev.PRVKEY) as client:
        names = {e.executorname for e in client.list_executors(dev.COLONY_NAME)}
        assert names == {dev.EXECUTOR_NAME}
