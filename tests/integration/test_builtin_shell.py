"""The shell executor against a real node: allowed commands run as argv with their output and
logs, failures carry the exit code and stderr, maxexectime kills the child, other commands
never run, processes run in parallel, and a removed registration comes back."""
from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from colonies.builtin.shell import register_commands, resolve_commands
from colonies.client import AsyncClient, func_spec
from colonies.models import FAILED, RUNNING, SUCCESS
from tests.support.builtin import builtin_executor, run_process

pytestmark = pytest.mark.one_store  # a client of the node over HTTP, whichever store it has

PYTHON = Path(sys.executable).name  # the funcname of the allowed interpreter


def shell(*allow: str):  # type: ignore[no-untyped-def]
    commands = resolve_commands(list(allow))
    return lambda executor: register_commands(executor, commands)


async def logs_of(sdk: AsyncClient, colonyname: str, processid: str) -> str:
    return "".join(entry.message for entry in await sdk.get_logs(colonyname, processid, count=100))


async def until(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_an_allowed_command_runs_with_its_args_and_stdout_becomes_the_output(colony):
    user = colony.add_user()
    async with AsyncClient(colony.url, user.prvkey) as sdk, builtin_executor(colony, shell("echo")) as executor:
        done = await run_process(sdk, executor, "echo", args=["hello", 3, "$HOME;", "`id`"])
        assert done.state == SUCCESS
        assert done.output == ["hello 3 $HOME; `id`"]  # argv, no shell: nothing is interpolated
        assert await logs_of(sdk, colony.name, done.processid) == "hello 3 $HOME; `id`\n"


async def test_stdout_and_stderr_reach_the_log_while_the_command_runs(colony, tmp_path: Path):
    user = colony.add_user()
    go_on = tmp_path / "go-on"
    script = (
        "import os, sys, time\n"
        "print('to stdout', flush=True); print('to stderr', file=sys.stderr, flush=True)\n"
        f"while not os.path.exists({str(go_on)!r}): time.sleep(0.02)\n"
        "print('last line')\n"
    )
    async with AsyncClient(colony.url, user.prvkey) as sdk, builtin_executor(colony, shell(sys.executable)) as executor:
        process = await sdk.submit(func_spec(PYTHON, colony.name, executor.executortype, args=["-c", script]))

        async def both_logged() -> bool:
            text = await logs_of(sdk, colony.name, process.processid)
            return "to stdout" in text and "to stderr" in text

        await until(both_logged)
        assert (await sdk.get_process(process)).state == RUNNING
        go_on.touch()
        done = await sdk.wait(process, timeout=20)
        assert done.state == SUCCESS and done.output == ["to stdout\nlast line"]
        assert "last line" in await logs_of(sdk, colony.name, process.processid)


async def test_a_non_zero_exit_fails_the_process_with_the_code_and_the_stderr_tail(colony):
    user = colony.add_user()
    script = "import sys; print('partial'); print('it broke', file=sys.stderr); sys.exit(3)"
    async with AsyncClient(colony.url, user.prvkey) as sdk, builtin_executor(colony, shell(sys.executable)) as executor:
        done = await run_process(sdk, executor, PYTHON, args=["-c", script])
        assert done.state == FAILED
        assert done.errors == [f"{PYTHON} exited with code 3", "stderr: it broke"]


async def test_maxexectime_kills_the_child_and_fails_the_process(colony):
    user = colony.add_user()
    script = "import os, time; print(os.getpid(), flush=True); time.sleep(60)"
    async with AsyncClient(colony.url, user.prvkey) as sdk, builtin_executor(colony, shell(sys.executable)) as executor:
        done = await run_process(sdk, executor, PYTHON, args=["-c", script], maxexectime=3)
        assert done.state == FAILED
        assert done.errors[0] == f"{PYTHON} was killed: it ran out of maxexectime (3 s)"
        pid = int((await logs_of(sdk, colony.name, done.processid)).split()[0])
        assert not Path(f"/proc/{pid}").exists()  # killed and reaped


async def test_a_command_that_was_not_allowed_never_runs(colony, tmp_path: Path):
    user = colony.add_user()
    keep = tmp_path / "keep-me"
    keep.write_text("still here")
    async with AsyncClient(colony.url, user.prvkey) as sdk, builtin_executor(colony, shell("echo")) as executor:
        done = await run_process(sdk, executor, "rm", args=["-f", str(keep)])
        assert done.state == FAILED and "has no function 'rm'" in done.errors[0]
        assert keep.read_text() == "still here"
        functions = await sdk.list_functions(colony.name, executor.executorname)
        assert [f.funcname for f in functions] == ["echo"]


async def test_kwargs_and_structured_args_are_refused(colony):
    user = colony.add_user()
    async with AsyncClient(colony.url, user.prvkey) as sdk, builtin_executor(colony, shell("echo")) as executor:
        with_kwargs = await run_process(sdk, executor, "echo", kwargs={"n": 1})
        with_list = await run_process(sdk, executor, "echo", args=[["a", "b"]])
        assert with_kwargs.state == FAILED and "not kwargs (n)" in with_kwargs.errors[0]
        assert with_list.state == FAILED and "arg 0 is a list" in with_list.errors[0]


async def test_parallel_runs_that_many_processes_at_once(colony, tmp_path: Path):
    user = colony.add_user()
    # each run announces itself and waits until all three have: only succeeds when run together
    script = (
        "import os, sys, time\n"
        "d = sys.argv[1]; open(os.path.join(d, sys.argv[2]), 'w').close()\n"
        "deadline = time.monotonic() + 20\n"
        "while len(os.listdir(d)) < 3:\n"
        "    if time.monotonic() > deadline: sys.exit('not run in parallel')\n"
        "    time.sleep(0.02)\n"
    )
    async with AsyncClient(colony.url, user.prvkey) as sdk, builtin_executor(colony, shell(sys.executable), parallel=3) as executor:
        processes = [
            await sdk.submit(func_spec(PYTHON, colony.name, executor.executortype, args=["-c", script, str(tmp_path), str(i)]))
            for i in range(3)
        ]
        done = [await sdk.wait(p, timeout=30) for p in processes]
        assert [p.state for p in done] == [SUCCESS] * 3


async def test_a_removed_executor_registers_again_and_keeps_working(colony):
    user = colony.add_user()
    async with AsyncClient(colony.url, user.prvkey) as sdk, builtin_executor(colony, shell("echo"), keepalive=0.2) as executor:
        await sdk.remove_executor(colony.name, executor.executorname, prvkey=colony.owner_prvkey)
        await until(executor.is_registered)
        done = await run_process(sdk, executor, "echo", args=["back"])
        assert done.state == SUCCESS and done.output == ["back"]


async def test_the_child_gets_a_minimal_environment(colony, monkeypatch):
    user = colony.add_user()
    monkeypatch.setenv("COLONIES_COLONY_PRVKEY", "secret-of-the-executor")
    script = "import json, os; print(json.dumps(sorted(os.environ)))"
    async with AsyncClient(colony.url, user.prvkey) as sdk, builtin_executor(colony, shell(sys.executable)) as executor:
        done = await run_process(sdk, executor, PYTHON, args=["-c", script], env={"LD_PRELOAD": "/tmp/x.so"})
        names = set(json.loads(done.output[0]))
        assert "COLONIES_PROCESS_ID" in names
        assert not names & {"COLONIES_COLONY_PRVKEY", "LD_PRELOAD"}
        assert names <= {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "COLONIES_PROCESS_ID", "LC_CTYPE"}
        assert os.environ["COLONIES_COLONY_PRVKEY"] == "secret-of-the-executor"
