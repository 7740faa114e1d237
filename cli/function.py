"""`colonies function`: the function registry, and submitting work (spec §2.5, §2.6; upstream
`function`): `submit` a function spec file, or `exec` one built from flags; `--wait` for the end."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer

from colonies.models import SUCCESS, Function, FunctionSpec, Process

from . import common
from .common import ColonyOption, JsonOption, PrvKeyOption, UrlOption, WideOption
from .process import show_process, state_name

app = common.group("Functions: register, list, remove; submit a function spec or exec one built from flags.")

ExecutorNameOption = Annotated[
    str, typer.Option("--executorname", envvar="COLONIES_EXECUTOR_NAME", help="The executor offering the function.")
]
WaitOption = Annotated[bool, typer.Option("--wait", help="Wait for the process to end and print it.")]
TimeoutOption = Annotated[int, typer.Option("--timeout", min=1, max=86_400, help="Seconds --wait waits at most.")]


@app.command()
def register(
    func: Annotated[str, typer.Option("--func", "--name", help="The function's name (processes name it in funcname).")],
    executortype: Annotated[
        str, typer.Option("--type", "-t", "--executortype", envvar="COLONIES_EXECUTOR_TYPE", help="The executor's type.")
    ] = "",
    description: Annotated[str, typer.Option("--description", help="What the function does.")] = "",
    executorname: ExecutorNameOption = "",
    colony: ColonyOption = "",
    url: UrlOption = "",
    prvkey: Annotated[str, typer.Option("--prvkey", envvar="COLONIES_PRVKEY", help="The executor's private key.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Register a function offered by the calling executor."""
    colonyname = common.colony_name(colony)
    name = common.required(executorname, "the executor's name", "--executorname", "COLONIES_EXECUTOR_NAME")
    kind = common.required(executortype, "the executor's type", "--type", "COLONIES_EXECUTOR_TYPE")
    with common.connect(url, common.member_key(prvkey)) as client:
        function = client.add_function(colonyname, name, kind, func, description=description)
    if as_json:
        common.print_json(function)
    else:
        common.done(f"function {func} of executor {name} registered, id {function.functionid}")


def _seconds(value: float) -> str:
    return f"{value:.3f} s" if value else common.NONE


def function_listing(functions: list[Function], wide: bool) -> Any:
    listing = common.table("function", "executor", "type", "function id", "calls", "avg wait", "avg exec")
    for f in sorted(functions, key=lambda f: (f.funcname, f.executorname)):
        common.add_row(
            listing, f.funcname, f.executorname, f.executortype, common.short(f.functionid, wide), f.counter,
            _seconds(f.avgwaittime), _seconds(f.avgexectime),
        )
    return listing


@app.command("ls")
def list_functions(
    executorname: Annotated[str, typer.Option("--executorname", help="Only this executor's functions.")] = "",
    colony: ColonyOption = "",
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """The colony's functions with their call statistics."""
    colonyname = common.colony_name(colony)
    with common.connect(url, common.member_key(prvkey)) as client:
        functions = client.list_functions(colonyname, executorname)
    common.print_listing(functions, as_json, wide, function_listing, "no functions")


@app.command()
def remove(
    functionid: Annotated[str, typer.Argument(help="The function's id (`function ls --wide`).", show_default=False)],
    url: UrlOption = "",
    prvkey: Annotated[str, typer.Option("--prvkey", envvar="COLONIES_PRVKEY", help="The owning executor's private key.")] = "",
) -> None:
    """Remove a function of the calling executor."""
    with common.connect(url, common.member_key(prvkey)) as client:
        client.remove_function(functionid)
    common.done(f"function {functionid} removed")


def _run(spec: FunctionSpec, url: str, prvkey: str, wait: bool, timeout: int, as_json: bool) -> None:
    """Submit; without --wait print the process id (or the process with --json), with it the
    finished process, exiting 1 unless it succeeded."""
    with common.connect(url, common.member_key(prvkey), timeout=timeout + 30.0) as client:
        process = client.submit(spec)
        if wait:
            process = client.wait(process, SUCCESS, float(timeout))
    if wait:
        show_process(process, as_json)
        _exit_unless_successful(process)
    elif as_json:
        show_process(process, True)
    else:
        common.done(process.processid)


def _exit_unless_successful(process: Process) -> None:
    if process.state != SUCCESS:
        errors = "; ".join(process.errors)
        common.fail(f"process {process.processid} {state_name(process.state)}" + (f": {errors}" if errors else ""))


@app.command()
def submit(
    spec_file: Annotated[Path, typer.Option("--spec", exists=True, dir_okay=False, help="A function spec (JSON, the wire's FunctionSpec).")],
    colony: Annotated[
        str, typer.Option("--colony", "--colonyname", envvar="COLONIES_COLONY_NAME", help="The colony, when the spec names none.")
    ] = "",
    wait: WaitOption = False,
    timeout: TimeoutOption = 600,
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Submit a function spec from a file; the spec's conditions.colonyname wins over --colony."""
    spec = common.load_json(spec_file, FunctionSpec)
    if not spec.conditions.colonyname:
        conditions = msgspec.structs.replace(spec.conditions, colonyname=common.colony_name(colony))
        spec = msgspec.structs.replace(spec, conditions=conditions)
    _run(spec, url, prvkey, wait, timeout, as_json)


def _env_pairs(pairs: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            common.fail(f"--env takes KEY=VALUE (got {pair})")
        env[key] = value
    return env


@app.command("exec")
def exec_function(
    func: Annotated[str, typer.Option("--func", help="The function to run (its funcname).")],
    executortype: Annotated[
        str,
        typer.Option("--type", "-t", "--targettype", envvar="COLONIES_EXECUTOR_TYPE", help="The executor type to run it."),
    ] = "",
    args: Annotated[list[str] | None, typer.Option("--args", "--arg", help="An argument, as a string (repeat for more).")] = None,
    kwargs: Annotated[str, typer.Option("--kwargs", help='Keyword arguments as a JSON object: \'{"n": 3}\'.')] = "",
    executornames: Annotated[
        list[str] | None, typer.Option("--executorname", "--targetname", help="Only this executor may run it (repeat for more).")
    ] = None,
    maxwaittime: Annotated[int, typer.Option("--maxwaittime", help="Seconds it may wait for an executor (-1: forever).")] = -1,
    maxexectime: Annotated[int, typer.Option("--maxexectime", help="Seconds it may run before it is retried (-1: no limit).")] = -1,
    maxretries: Annotated[int, typer.Option("--maxretries", help="How often it is retried (-1: no limit).")] = -1,
    priority: Annotated[int, typer.Option("--priority", min=-50_000, max=50_000, help="Higher runs first.")] = 0,
    label: Annotated[str, typer.Option("--label", help="A label to find it by.")] = "",
    env: Annotated[list[str] | None, typer.Option("--env", help="KEY=VALUE for the process's environment (repeat for more).")] = None,
    cpu: Annotated[str, typer.Option("--cpu", help='CPU it needs, e.g. "500m".')] = "",
    mem: Annotated[str, typer.Option("--mem", help='Memory it needs, e.g. "1Gi".')] = "",
    colony: ColonyOption = "",
    wait: WaitOption = False,
    timeout: TimeoutOption = 600,
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Build a function spec from the flags and submit it (e.g. --func echo --args hello --type cli --wait)."""
    from colonies.client import func_spec

    keywords = common.parse_json_value(kwargs, "--kwargs") if kwargs else {}
    if not isinstance(keywords, dict):
        common.fail("--kwargs must be a JSON object")
    spec = func_spec(
        func,
        common.colony_name(colony),
        common.required(executortype, "the executor type", "--type", "COLONIES_EXECUTOR_TYPE"),
        args=list(args or []),
        kwargs=keywords,
        executornames=list(executornames or []),
        priority=priority,
        maxwaittime=maxwaittime,
        maxexectime=maxexectime,
        maxretries=maxretries,
        label=label,
        cpu=cpu,
        mem=mem,
        env=_env_pairs(list(env or [])),
    )
    _run(spec, url, prvkey, wait, timeout, as_json)

