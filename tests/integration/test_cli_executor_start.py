"""`colonies executor start` as a user runs it: its own process, an environment with the dev
exports set (pointing at the test's node and colony), SIGTERM to stop it; bad input is one line."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from colonies import crypto, dev
from colonies.cli.main import app
from colonies.client import Client, func_spec
from colonies.models import FAILED, SUCCESS, UNREGISTERED, WAITING
from tests.support.nodes import start_node

pytestmark = pytest.mark.one_store  # a client of the node over HTTP, whichever store it has

PYTHON = Path(sys.executable).name
REPO = Path(__file__).resolve().parents[2]
WAIT_FOR_FILE = "import os, sys, time\nprint(os.getpid(), flush=True)\nwhile not os.path.exists(sys.argv[1]): time.sleep(0.02)\n"


def cli_env(url: str, colonyname: str, *, colony_prvkey: str = "", prvkey: str = "") -> dict[str, str]:
    """The dev exports, pointed at `url` and the test's colony and keys."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env.update(dev.client_env(host, int(port)))
    env.pop("COLONIES_COLONY_PRVKEY")
    env.pop("COLONIES_PRVKEY")
    env["COLONIES_COLONY_NAME"] = colonyname
    if colony_prvkey:
        env["COLONIES_COLONY_PRVKEY"] = colony_prvkey
    if prvkey:
        env["COLONIES_PRVKEY"] = prvkey
    return env


class Started:
    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        command = [sys.executable, "-m", "colonies.cli", "executor", "start", "--assign-timeout", "1", *args]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True, cwd=REPO)
        self.output: list[str] = []
        deadline = time.monotonic() + 60
        assert self.process.stdout is not None
        while not any(line.startswith("ready") for line in self.output):
            line = self.process.stdout.readline()
            assert line and time.monotonic() < deadline, f"executor did not start: {self.output}"
            self.output.append(line)

    def terminate(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def started() -> Iterator[list[Started]]:
    running: list[Started] = []
    yield running
    for one in running:
        one.kill()


def wait_until(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def executor_state(client: Client, colonyname: str, name: str) -> int | None:
    found = [e for e in client.list_executors(colonyname) if e.executorname == name]
    return found[0].state if found else None


def test_it_registers_runs_echo_and_removes_itself_on_sigterm(colony, started):
    user = colony.add_user()
    executortype = f"shell-{secrets.token_hex(3)}"
    env = cli_env(colony.url, colony.name, colony_prvkey=colony.owner_prvkey)
    one = Started(["--type", executortype, "--kind", "shell", "--name", f"{executortype}-1", "--allow", "echo"], env)
    started.append(one)
    assert f"shell executor {executortype}-1 (type {executortype}) in colony {colony.name}" in one.output[-1]
    with Client(colony.url, user.prvkey) as client:
        done = client.wait(client.submit(func_spec("echo", colony.name, executortype, args=["hi", "there"])), timeout=30)
        assert (done.state, done.output) == (SUCCESS, ["hi there"])
        assert one.terminate() == 0
        assert executor_state(client, colony.name, f"{executortype}-1") == UNREGISTERED


def test_sigterm_lets_a_running_process_finish_within_the_grace(colony, started, tmp_path: Path):
    user = colony.add_user()
    go_on = tmp_path / "go-on"
    executortype = f"shell-{secrets.token_hex(3)}"
    env = cli_env(colony.url, colony.name, colony_prvkey=colony.owner_prvkey)
    one = Started(["--type", executortype, "--allow", sys.executable, "--grace", "60"], env)
    started.append(one)
    with Client(colony.url, user.prvkey) as client:
        process = client.submit(func_spec(PYTHON, colony.name, executortype, args=["-c", WAIT_FOR_FILE, str(go_on)]))
        # RUNNING alone is not enough: the claim may still be on its way to the executor, which
        # then never held it; the child's first line in the log says it runs there
        wait_until(lambda: bool(client.get_logs(colony.name, process)))
        one.process.send_signal(signal.SIGTERM)
        go_on.touch()
        assert one.process.wait(30) == 0
        assert client.get_process(process).state == SUCCESS


def test_past_the_grace_a_self_registered_executor_hands_its_process_back(colony, started, tmp_path: Path):
    user = colony.add_user()
    executortype = f"shell-{secrets.token_hex(3)}"
    env = cli_env(colony.url, colony.name, colony_prvkey=colony.owner_prvkey)
    one = Started(["--type", executortype, "--allow", sys.executable, "--grace", "0.2"], env)
    started.append(one)
    with Client(colony.url, user.prvkey) as client:
        process = client.submit(func_spec(PYTHON, colony.name, executortype, args=["-c", WAIT_FOR_FILE, str(tmp_path / "never")]))
        wait_until(lambda: bool(client.get_logs(colony.name, process)))
        child = int(client.get_logs(colony.name, process)[0].message)
        assert one.terminate() == 0
        back = client.get_process(process)
        assert (back.state, back.isassigned) == (WAITING, False)
        wait_until(lambda: not Path(f"/proc/{child}").exists())


def test_an_approved_identity_fails_what_it_holds_when_stopped(colony, started, tmp_path: Path):
    user = colony.add_user()
    executortype = f"shell-{secrets.token_hex(3)}"
    worker = colony.add_executor(executortype=executortype)
    env = cli_env(colony.url, colony.name, prvkey=worker.prvkey)
    one = Started(["--type", executortype, "--kind", "shell", "--allow", sys.executable, "--grace", "0"], env)
    started.append(one)
    assert f"shell executor {worker.name} " in one.output[-1]
    with Client(colony.url, user.prvkey) as client:
        process = client.submit(func_spec(PYTHON, colony.name, executortype, args=["-c", WAIT_FOR_FILE, str(tmp_path / "never")]))
        # RUNNING alone is not enough: the claim may still be on its way to the executor, which
        # then never held it; the child's first line in the log says it runs there
        wait_until(lambda: bool(client.get_logs(colony.name, process)))
        assert one.terminate() == 0
        failed = client.get_process(process)
        assert failed.state == FAILED
        assert failed.errors == [f"Executor {worker.name} stopped before the process finished"]
        assert executor_state(client, colony.name, worker.name) not in (None, UNREGISTERED)


def test_the_python_kind_runs_functions_of_a_listed_module(colony, started):
    user = colony.add_user()
    executortype = f"py-{secrets.token_hex(3)}"
    env = cli_env(colony.url, colony.name, colony_prvkey=colony.owner_prvkey)
    one = Started(["--type", executortype, "--module", "tests.support.builtin_functions", "--function", "greet"], env)
    started.append(one)
    assert one.output[-1].startswith(f"ready python executor {executortype}-")
    with Client(colony.url, user.prvkey) as client:
        spec = func_spec("greet", colony.name, executortype, args=["bo"], kwargs={"greeting": "hej"})
        done = client.wait(client.submit(spec), timeout=30)
        assert (done.state, done.output) == (SUCCESS, ["hej bo!"])
    assert one.terminate() == 0


def test_it_survives_a_node_restart(tmp_path: Path, started):
    first = start_node(tmp_path / "node", timeout_check_interval=0.2)
    port = first.port
    owner = crypto.generate_private_key()
    user_key = crypto.generate_private_key()
    colonyname = f"colony-{secrets.token_hex(4)}"
    with Client(first.url, dev.SERVER_PRVKEY) as admin:
        admin.add_colony(crypto.id_from_private_key(owner), colonyname)
        admin.add_user(colonyname, crypto.id_from_private_key(user_key), "restarter", prvkey=owner)
    url = first.url
    one = Started(["--type", "restart", "--allow", "echo"], cli_env(url, colonyname, colony_prvkey=owner))
    started.append(one)
    first.stop()
    second = start_node(tmp_path / "node", port=port, timeout_check_interval=0.2)
    try:
        with Client(url, user_key) as client:
            done = client.wait(client.submit(func_spec("echo", colonyname, "restart", args=["again"])), timeout=60)
            assert (done.state, done.output) == (SUCCESS, ["again"])
        assert one.terminate() == 0
    finally:
        second.stop()


@pytest.mark.parametrize(
    "args, env_keys, message",
    [
        (["--type", "t", "--allow", "echo"], {"COLONIES_COLONY_NAME": ""}, "the colony is needed"),
        (["--type", "t", "--allow", "echo"], {"COLONIES_COLONY_PRVKEY": "", "COLONIES_PRVKEY": ""}, "a key is needed"),
        (["--type", "t", "--allow", "no-such-command-here"], {}, "--allow no-such-command-here: no such command on PATH"),
        (["--type", "t", "--kind", "ruby"], {}, "--kind must be shell or python"),
        (["--type", "t"], {}, "say which built-in executor to run"),
        (["--type", "python", "--module", "tests.support.nope"], {}, "--module tests.support.nope: cannot import it"),
        (["--type", "python", "--module", "tests.support.builtin_functions", "--function", "mul"], {}, "--function mul: no listed module defines it"),
        (["--type", "shell", "--allow", "echo", "--allow-code"], {}, "--module, --function and --allow-code are for --kind python"),
        (["--type", "t", "--allow", "echo", "--url", "http://127.0.0.1:9"], {}, "cannot reach the node"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_1(args, env_keys, message):
    env = cli_env("http://127.0.0.1:9", "dev", colony_prvkey=dev.COLONY_PRVKEY) | env_keys
    result = CliRunner().invoke(app, ["executor", "start", *args], env=env)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
