"""The python executor against a real node: module functions with args and kwargs, exceptions as
failures, and code sent inside a process run only when allowed and only under registered names."""
from __future__ import annotations

import base64
from pathlib import Path

import msgspec
import pytest

from colonies import models
from colonies.cfs.remote import NodeRemote, StorageStore
from colonies.cfs.storage import S3Storage
from colonies.cfs.sync import SyncEngine

from colonies.builtin.python import LoadError, load_functions, register_functions
from colonies.client import AsyncClient, func_spec
from colonies.models import FAILED, SUCCESS
from tests.support.builtin import builtin_executor, run_process

pytestmark = pytest.mark.one_store  # a client of the node over HTTP, whichever store it has

MODULE = "tests.support.builtin_functions"


def python(modules: list[str], names: list[str] | None = None, allow_code: bool = False):  # type: ignore[no-untyped-def]
    functions = load_functions(modules, names, allow_code=allow_code)
    return lambda executor: register_functions(executor, functions, allow_code=allow_code)


def code(source: str) -> dict[str, str]:
    return {"code": base64.b64encode(source.encode()).decode()}


def multiply(a, b):  # sent as code by pycolonies' func_spec (module level: it sends the source)
    return a * b


def test_a_module_gives_its_public_functions_only():
    assert sorted(load_functions([MODULE])) == ["add", "boom", "greet", "shout_files", "slow_echo"]
    assert sorted(load_functions([MODULE], ["add"])) == ["add"]


def test_names_no_module_defines_need_allow_code():
    with pytest.raises(LoadError, match="--function mul: no listed module defines it"):
        load_functions([MODULE], ["mul"])
    assert load_functions([], ["mul"], allow_code=True) == {"mul": None}
    with pytest.raises(LoadError, match="cannot import it"):
        load_functions(["tests.support.no_such_module"])


async def test_module_functions_run_with_args_and_kwargs(colony):
    user = colony.add_user()
    async with AsyncClient(colony.url, user.prvkey) as sdk, builtin_executor(colony, python([MODULE])) as executor:
        added = await run_process(sdk, executor, "add", args=[2, 3])
        greeted = await run_process(sdk, executor, "greet", args=["ada"], kwargs={"greeting": "hi", "punctuation": "."})
        echoed = await run_process(sdk, executor, "slow_echo", args=["x"])
        assert (added.state, added.output) == (SUCCESS, [5])
        assert (greeted.state, greeted.output) == (SUCCESS, ["hi ada."])
        assert (echoed.state, echoed.output) == (SUCCESS, ["x", echoed.processid])


async def test_an_exception_fails_the_process_with_its_message(colony):
    user = colony.add_user()
    async with AsyncClient(colony.url, user.prvkey) as sdk, builtin_executor(colony, python([MODULE])) as executor:
        failed = await run_process(sdk, executor, "boom", args=["no good"])
        wrong_args = await run_process(sdk, executor, "add", args=[1])
        hidden = await run_process(sdk, executor, "_hidden")
        assert (failed.state, failed.errors) == (FAILED, ["ValueError: no good"])
        assert wrong_args.state == FAILED and wrong_args.errors[0].startswith("TypeError: add()")
        assert hidden.state == FAILED and "has no function '_hidden'" in hidden.errors[0]


async def test_code_sent_with_a_process_is_refused_unless_allowed(colony):
    user = colony.add_user()
    async with AsyncClient(colony.url, user.prvkey) as sdk, builtin_executor(colony, python([MODULE])) as executor:
        done = await run_process(sdk, executor, "add", args=[2, 3], env=code("def add(a, b):\n    return a * b\n"))
        assert done.state == FAILED
        assert done.errors == ["add: this executor does not run code sent with a process (the operator did not allow it)"]


async def test_allowed_code_runs_under_registered_names_only(colony):
    user = colony.add_user()
    registered = python([], ["mul"], allow_code=True)
    async with AsyncClient(colony.url, user.prvkey) as sdk, builtin_executor(colony, registered) as executor:
        mul = await run_process(sdk, executor, "mul", args=[6, 7], env=code("def mul(a, b):\n    return a * b\n"))
        other = await run_process(sdk, executor, "other", env=code("def other():\n    return 1\n"))
        without = await run_process(sdk, executor, "mul", args=[1, 2])
        assert (mul.state, mul.output) == (SUCCESS, [42])
        assert other.state == FAILED and "has no function 'other'" in other.errors[0]
        assert without.state == FAILED and without.errors == ["mul runs sent code only, and this process carries none"]


async def test_pycolonies_code_specs_run_when_allowed(colony):
    from pycolonies import Colonies, func_spec

    user = colony.add_user()
    host, port = colony.url.removeprefix("http://").split(":")
    registered = python([], ["multiply"], allow_code=True)
    async with AsyncClient(colony.url, user.prvkey) as sdk, builtin_executor(colony, registered) as executor:
        client = Colonies(host, int(port))
        submitted = client.submit_func_spec(func_spec(multiply, [4, 5], colony.name, executor.executortype), user.prvkey)
        done = await sdk.wait(submitted.processid, timeout=30)
        assert (done.state, done.output) == (SUCCESS, [20])


async def test_module_functions_read_and_write_the_specs_fs_mounts(colony, s3_server, tmp_path: Path):
    user = colony.add_user()
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "a.txt").write_text("quiet")
    async with AsyncClient(colony.url, user.prvkey) as sdk, S3Storage(s3_server) as storage:
        store = StorageStore(storage)
        engine = SyncEngine(NodeRemote(sdk, colony.name), store)
        await engine.sync(inputs, "/in", keeplocal=True)
        snapshot = await sdk.create_snapshot(colony.name, "/in", "in-v1")
        fs = models.Filesystem(
            snapshots=[models.SnapshotMount(snapshotid=snapshot.snapshotid, label="/in", dir="/in/{processid}")],
            dirs=[models.SyncDirMount(label="/out/{processid}", dir="/out/{processid}", onconflicts=models.OnConflicts(onclose=models.ConflictPolicy(keeplocal=True)))],
        )
        registered = python([MODULE], ["shout_files"])
        async with builtin_executor(colony, registered, store=store, fs_dir=tmp_path / "fs") as executor:
            process = await sdk.submit(msgspec.structs.replace(func_spec("shout_files", colony.name, executor.executortype), fs=fs))
            done = await sdk.wait(process, timeout=30)
        assert (done.state, done.output) == (SUCCESS, [1])
        await engine.sync(tmp_path / "out", f"/out/{done.processid}", keeplocal=False, direction="download")
        assert (tmp_path / "out" / "a.txt").read_text() == "QUIET"
