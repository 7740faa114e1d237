"""`colonies process`: look at processes (the full process CLI comes with its own issue)."""
from __future__ import annotations

import json
from typing import Annotated, NoReturn

import msgspec
import typer
from rich.table import Table

from . import output
from .node import UrlOption, _url

app = typer.Typer(help="Processes.", no_args_is_help=True, pretty_exceptions_show_locals=False)

KeyOption = Annotated[str, typer.Option("--prvkey", envvar="COLONIES_PRVKEY", help="A member's private key.")]
STATES = {0: "waiting", 1: "running", 2: "successful", 3: "failed", 4: "cancelled"}


def _fail(message: str) -> NoReturn:
    output.error(message)
    raise typer.Exit(code=1)


@app.command()
def get(
    processid: Annotated[str, typer.Argument(help="The process id.")],
    url: UrlOption = "",
    prvkey: KeyOption = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the process as JSON.")] = False,
) -> None:
    """Show a process, including where it runs when it was forwarded to another node."""
    from colonies.client import Client
    from colonies.wire import RPCError

    if not prvkey:
        _fail("a member's key is needed: --prvkey or COLONIES_PRVKEY")
    with Client(_url(url), prvkey) as client:
        try:
            process = client.get_process(processid)
            node = _runs_at(client, process.assignedexecutorid, process.spec.conditions.colonyname, process.processid)
        except RPCError as err:
            _fail(f"{err.status}: {err.message}")
        except OSError as err:
            _fail(f"cannot reach the node: {err}")
    if as_json:
        print(json.dumps(msgspec.to_builtins(process) | {"runsat": node}, indent=2))
        return
    table = Table(show_header=False)
    rows = [
        ("process id", process.processid),
        ("function", process.spec.funcname),
        ("executor type", process.spec.conditions.executortype),
        ("state", STATES.get(process.state, str(process.state))),
        ("runs at", node or ("this node" if process.isassigned else "")),
        ("assigned to", process.assignedexecutorid),
        ("submitted", process.submissiontime),
        ("started", process.starttime),
        ("ended", process.endtime),
        ("input", json.dumps(process.input)),
        ("output", json.dumps(process.output)),
        ("errors", json.dumps(process.errors)),
    ]
    for key, value in rows:
        table.add_row(key, str(value))
    output.out.print(table)


def _runs_at(client: object, assignee: str, colonyname: str, processid: str = "") -> str:
    """Where a forwarded process is ("waiting at node <id> (<url>)" / "running at …"); "" when the
    assignee is an executor of the colony here."""
    from colonies import messages
    from colonies.wire import RPCError

    if not assignee:
        return ""
    try:
        client.get_executor_by_id(colonyname, assignee)  # type: ignore[attr-defined]
        return ""
    except RPCError as err:
        if err.status != 404:
            raise
    try:
        _, payload = client.rpc(messages.NodeProcessMsg(msgtype="nodeprocessmsg", processid=processid), None)  # type: ignore[attr-defined]
    except RPCError:
        return f"node:{assignee}"
    peer = msgspec.json.decode(payload).get("runsat")
    if not peer:
        return f"node:{assignee}"
    unreachable = "" if peer.get("reachable", True) else ", not answering"
    return f"{peer['state']} at node {peer['nodeid']} ({peer['apiurl']}{unreachable})"
