"""`colonies dev` runs a shell executor of type `cli` next to its node, so the README's pycolonies
snippet (taken from README.md as written) completes and prints its output; `--no-executor` skips it.
Both run in a shell where an earlier dev node's exports were pasted."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from colonies import dev
from colonies.client import Client

README = Path(__file__).resolve().parents[2] / "README.md"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pasted_shell() -> dict[str, str]:
    """The environment of a shell with the exports of some other dev node pasted into it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    return env | dev.client_env("127.0.0.1", 50080)


def readme_snippet() -> str:
    using = README.read_text().split("## Using it", 1)[1]
    match = re.search(r"```python\n(.*?)```", using, re.S)
    assert match, "README's 'Using it' has no python snippet"
    return match.group(1)


class DevNode:
    def __init__(self, tmp_path: Path, *flags: str) -> None:
        command = [sys.executable, "-m", "colonies.cli", "dev", "--port", str(free_port()), "--data-dir", str(tmp_path / "dev"), *flags]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=pasted_shell(), text=True)
        self.exports: dict[str, str] = {}
        self.ready = ""
        deadline = time.monotonic() + 60
        assert self.process.stdout is not None
        while not self.ready:
            line = self.process.stdout.readline()
            assert line and time.monotonic() < deadline, "colonies dev did not get ready"
            if line.startswith("export "):
                name, value = line.removeprefix("export ").strip().split("=", 1)
                self.exports[name] = value
            elif line.startswith("ready"):
                self.ready = line

    def env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")} | self.exports

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.exports['COLONIES_SERVER_PORT']}"

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                return self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait(10)


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
        assert {"echo", "date", "uname"} <= functions and "rm" not in functions
    assert dev_node.stop() == 0


@pytest.mark.parametrize("dev_node", [("--no-executor",)], indirect=True)
def test_no_executor_runs_the_node_alone_and_says_so(dev_node: DevNode):
    assert "no executor runs here (--no-executor)" in dev_node.ready
    with Client(dev_node.url, dev.PRVKEY) as client:
        names = {e.executorname for e in client.list_executors(dev.COLONY_NAME)}
        assert names == {dev.EXECUTOR_NAME}
