"""`colonies dev` as a user runs it, in its own process, in a shell with dev exports pasted."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from colonies import dev


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pasted_shell() -> dict[str, str]:
    """The environment of a shell with the exports of some other dev node pasted into it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    return env | dev.client_env("127.0.0.1", 50080)


def stop_process(process: subprocess.Popen[str], sig: signal.Signals) -> int:
    """Signal it to stop; its exit code (killed when it does not stop within 30 s)."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            return process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(10)


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
        return stop_process(self.process, signal.SIGINT)


class Ready:
    """A long-running command (an executor) started in `env`, once it printed a line starting `ready`."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True, cwd=cwd)
        self.output: list[str] = []
        deadline = time.monotonic() + 60
        assert self.process.stdout is not None
        while not self.output or not self.output[-1].startswith("ready"):
            line = self.process.stdout.readline()
            assert line and time.monotonic() < deadline, f"{command} did not get ready: {self.output}"
            self.output.append(line)

    def stop(self) -> int:
        return stop_process(self.process, signal.SIGTERM)
