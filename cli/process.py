"""`colonies process`: list, show, cancel, remove and (as an executor) assign and close processes
(spec §2.6; upstream `process`)."""
from __future__ import annotations

import time
from typing import Annotated, Any

import msgspec
import typer

from colonies.models import CANCELLED, FAILED, RUNNING, SUCCESS, WAITING, Process

from . import common
from .common import ColonyKeyOption, ColonyOption, JsonOption, PrvKeyOption, UrlOption, WideOption

app = common.group("Processes: list by state, show, cancel, remove; assign, close and fail as an executor; pause the colony.")

ProcessIdArgument = Annotated[str, typer.Argument(help="The process id.", show_default=False)]
CountOption = Annotated[int, typer.Option("--count", min=1, max=100, help="At most this many (the node's maximum is 100).")]
TypeFilterOption = Annotated[str, typer.Option("--type", "-t", "--executortype", help="Only processes for this executor type.")]

# list command -> (state, the time its table shows, help)
LISTINGS = {
    "ps": (RUNNING, "started", "Running processes of the colony."),
    "psw": (WAITING, "submitted", "Waiting processes of the colony."),
    "pss": (SUCCESS, "ended", "Successful processes of the colony."),
    "psf": (FAILED, "ended", "Failed processes of the colony."),
    "psc": (CANCELLED, "ended", "Cancelled processes of the colony."),
}


def state_name(state: int) -> str:
    return common.PROCESS_STATES.get(state, str(state))


def _time_of(process: Process, which: str) -> str:
    return {"submitted": process.submissiontime, "started": process.starttime, "ended": process.endtime}[which]


def process_listing(processes: list[Process], which: str, wide: bool) -> Any:
    now = time.time()
    listing = common.table("process id", "function", "args", "executor type", "initiator", which)
    for p in processes:
        common.add_row(
            listing, common.short(p.processid, wide), p.spec.funcname, common.jsonish(p.spec.args),
            p.spec.conditions.executortype, p.initiatorname, common.since(_time_of(p, which), now),
        )
    return listing


def process_rows(process: Process, runs_at: str) -> list[tuple[str, object]]:
    spec = process.spec
    rows: list[tuple[str, object]] = [
        ("process id", process.processid),
        ("function", spec.funcname),
        ("args", common.jsonish(spec.args)),
        ("kwargs", common.jsonish(spec.kwargs)),
        ("executor type", spec.conditions.executortype),
        ("state", state_name(process.state)),
        ("runs at", runs_at or ("this node" if process.isassigned else "")),
        ("assigned to", process.assignedexecutorid),
        ("initiator", process.initiatorname),
        ("submitted", common.when(process.submissiontime)),
        ("started", common.when(process.starttime)),
        ("ended", common.when(process.endtime)),
        ("retries", process.retries),
    ]
    if process.processgraphid:
        rows.append(("workflow", process.processgraphid))
    rows += [("input", common.jsonish(process.input)), ("output", common.jsonish(process.output)), ("errors", common.jsonish(process.errors))]
    return rows


def show_process(process: Process, as_json: bool, runs_at: str = "") -> None:
    """A process in full; its JSON is the wire object (plus `runsat` for a forwarded one)."""
    if as_json:
        extra = {"runsat": runs_at} if runs_at else {}
        common.print_json(msgspec.to_builtins(process) | extra)
        return
    common.show(common.details(process_rows(process, runs_at)))


def _listing_command(name: str, state: int, which: str, help: str) -> None:
    def command(
        colony: ColonyOption = "",
        count: CountOption = 100,
        executortype: TypeFilterOption = "",
        label: Annotated[str, typer.Option("--label", help="Only processes with this label.")] = "",
        initiator: Annotated[str, typer.Option("--initiator", help="Only processes this user submitted.")] = "",
        url: UrlOption = "",
        prvkey: PrvKeyOption = "",
        as_json: JsonOption = False,
        wide: WideOption = False,
    ) -> None:
        colonyname = common.colony_name(colony)
        with common.connect(url, common.member_key(prvkey)) as client:
            processes = client.list_processes(colonyname, state, count, executortype, label, initiator)
        render = lambda items, wide: process_listing(items, which, wide)  # noqa: E731
        common.print_listing(processes, as_json, wide, render, f"no {state_name(state)} processes")

    command.__doc__ = help
    app.command(name)(command)


for _name, (_state, _which, _help) in LISTINGS.items():
    _listing_command(_name, _state, _which, _help)


@app.command()
def get(
    processid: ProcessIdArgument,
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Show a process, including where it runs when it was forwarded to another node."""
    with common.connect(url, common.member_key(prvkey)) as client:
        process = client.get_process(processid)
        node = _runs_at(client, process.assignedexecutorid, process.spec.conditions.colonyname, process.processid)
    show_process(process, as_json, node)


def _runs_at(client: Any, assignee: str, colonyname: str, processid: str = "") -> str:
    """Where a forwarded process is ("waiting at node <id> (<url>)" / "running at …"); "" when the
    assignee is an executor of the colony here."""
    from colonies import messages
    from colonies.wire import RPCError

    if not assignee:
        return ""
    try:
        client.get_executor_by_id(colonyname, assignee)
        return ""
    except RPCError as err:
        if err.status != 404:
            raise
    try:
        _, payload = client.rpc(messages.NodeProcessMsg(msgtype="nodeprocessmsg", processid=processid), None)
    except RPCError:
        return f"node:{assignee}"
    peer = msgspec.json.decode(payload).get("runsat")
    if not peer:
        return f"node:{assignee}"
    unreachable = "" if peer.get("reachable", True) else ", not answering"
    return f"{peer['state']} at node {peer['nodeid']} ({peer['apiurl']}{unreachable})"


common.id_command(app, "remove", ProcessIdArgument, "remove_process", "process {id} removed",
                  "Remove a process that is not running and not part of a workflow.")
common.id_command(app, "cancel", ProcessIdArgument, "cancel", "process {id} cancelled",
                  "Cancel a waiting or running process (not one in a workflow).")
common.removeall_command(app, "remove_all_processes", "processes", "Remove the colony's processes that are not in a workflow (colony owner).")


def _assignments(name: str, method: str, done: str, help: str) -> None:
    def command(colony: ColonyOption = "", url: UrlOption = "", colony_prvkey: ColonyKeyOption = "") -> None:
        colonyname = common.colony_name(colony)
        with common.connect(url, common.colony_key(colony_prvkey)) as client:
            getattr(client, method)(colonyname)
        common.done(f"assignments in colony {colonyname} {done}")

    command.__doc__ = help
    app.command(name)(command)


_assignments("pause", "pause_assignments", "paused", "Stop handing out processes in the colony (colony owner).")
_assignments("resume", "resume_assignments", "resumed", "Hand out processes in the colony again (colony owner).")


@app.command()
def status(colony: ColonyOption = "", url: UrlOption = "", prvkey: PrvKeyOption = "", as_json: JsonOption = False) -> None:
    """Whether assignments in the colony are paused."""
    colonyname = common.colony_name(colony)
    with common.connect(url, common.member_key(prvkey)) as client:
        paused = client.get_pause_status(colonyname)
    if as_json:
        common.print_json({"colonyname": colonyname, "ispaused": paused})
    else:
        common.done(f"assignments in colony {colonyname} are {'paused' if paused else 'running'}")


@app.command()
def assign(
    timeout: Annotated[int, typer.Option("--timeout", min=1, max=3600, help="Seconds to wait for a process.")] = 10,
    colony: ColonyOption = "",
    url: UrlOption = "",
    prvkey: Annotated[str, typer.Option("--prvkey", envvar="COLONIES_PRVKEY", help="The executor's private key.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Take the next process for the calling executor (it is then running, assigned to it)."""
    from colonies.wire import RPCError

    colonyname = common.colony_name(colony)
    with common.connect(url, common.member_key(prvkey)) as client:
        try:
            process = client.assign(colonyname, timeout)
        except RPCError as err:
            if err.status != 404:
                raise
            common.fail(f"no process to assign in {timeout} s")
    show_process(process, as_json)


@app.command()
def close(
    processid: ProcessIdArgument,
    out: Annotated[list[str] | None, typer.Option("--out", help="An output value (repeat for more).")] = None,
    url: UrlOption = "",
    prvkey: Annotated[str, typer.Option("--prvkey", envvar="COLONIES_PRVKEY", help="The assigned executor's private key.")] = "",
) -> None:
    """Close a process assigned to the caller as successful."""
    with common.connect(url, common.member_key(prvkey)) as client:
        client.close(processid, list(out or []))
    common.done(f"process {processid} closed as successful")


@app.command()
def fail(
    processid: ProcessIdArgument,
    errors: Annotated[list[str] | None, typer.Option("--errors", "--error", help="An error message (repeat for more).")] = None,
    url: UrlOption = "",
    prvkey: Annotated[str, typer.Option("--prvkey", envvar="COLONIES_PRVKEY", help="The assigned executor's private key.")] = "",
) -> None:
    """Close a process assigned to the caller as failed."""
    with common.connect(url, common.member_key(prvkey)) as client:
        client.fail(processid, list(errors or []))
    common.done(f"process {processid} closed as failed")
