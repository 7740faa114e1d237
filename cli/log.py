"""`colonies log`: the log lines of processes and executors (spec §2.8, §4.11; upstream `log`),
and `follow`, which prints a process's lines as they arrive until the process ends."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from colonies.models import CANCELLED, FAILED, SUCCESS, Log

from . import common
from .common import ColonyOption, JsonOption, PrvKeyOption, UrlOption, WideOption

app = common.group("Logs: add a line to a running process, get, search, follow a process's log.")

MAX_LOGS = 500  # the node's cap per getlogsmsg
ENDED = (SUCCESS, FAILED, CANCELLED)
ProcessIdArgument = Annotated[str, typer.Argument(help="The process id.", show_default=False)]


def log_listing(logs: list[Log], wide: bool) -> Any:
    listing = common.table("time", "process id", "executor", "message")
    for entry in logs:
        common.add_row(
            listing, common.when_ns(entry.timestamp), common.short(entry.processid, wide) or common.NONE,
            entry.executorname, entry.message.rstrip("\n"),
        )
    return listing


@app.command()
def add(
    processid: ProcessIdArgument,
    message: Annotated[str, typer.Argument(help="The line to add.", show_default=False)],
    url: UrlOption = "",
    prvkey: Annotated[str, typer.Option("--prvkey", envvar="COLONIES_PRVKEY", help="The assigned executor's private key.")] = "",
) -> None:
    """Add a line to the log of a running process assigned to the caller."""
    with common.connect(url, common.member_key(prvkey)) as client:
        client.add_log(processid, message)
    common.done(f"log line added to process {processid}")


@app.command()
def get(
    processid: Annotated[str, typer.Argument(help="The process id (leave out with --executorname).", show_default=False)] = "",
    executorname: Annotated[str, typer.Option("--executorname", help="An executor's own log lines instead.")] = "",
    count: Annotated[int, typer.Option("--count", min=1, max=MAX_LOGS, help="At most this many lines.")] = 100,
    latest: Annotated[bool, typer.Option("--latest", help="The newest lines (default: the oldest).")] = False,
    colony: ColonyOption = "",
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """The log lines of a process, or of an executor, oldest first."""
    if bool(processid) == bool(executorname):
        common.fail("give a process id or --executorname (one of them)")
    colonyname = common.colony_name(colony)
    with common.connect(url, common.member_key(prvkey)) as client:
        logs = client.get_logs(colonyname, processid, executorname, count=count, latest=latest)
    common.print_listing(logs, as_json, wide, log_listing, "no log lines")


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="Text the lines contain.", show_default=False)],
    days: Annotated[int, typer.Option("--days", min=1, max=30, help="How many days back.")] = 1,
    count: Annotated[int, typer.Option("--count", min=1, max=100, help="At most this many lines.")] = 20,
    colony: ColonyOption = "",
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """Log lines of the colony containing TEXT."""
    colonyname = common.colony_name(colony)
    with common.connect(url, common.member_key(prvkey)) as client:
        logs = client.search_logs(colonyname, text, days, count)
    common.print_listing(logs, as_json, wide, log_listing, "no log lines")


def new_lines(client: Any, colonyname: str, processid: str, since: int) -> Iterator[Log]:
    """Every line after `since` (Unix ns), page by page."""
    while True:
        page = client.get_logs(colonyname, processid, count=MAX_LOGS, since=since)
        yield from page
        if len(page) < MAX_LOGS:
            return
        since = page[-1].timestamp


@app.command()
def follow(
    processid: ProcessIdArgument,
    interval: Annotated[float, typer.Option("--interval", min=0.1, max=60, help="Seconds between looks for new lines.")] = 0.5,
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Print a process's log lines as they arrive, until the process ends (Ctrl-C stops early).

    Lines are printed as they are (--json: one wire log object per line)."""
    import json

    import msgspec

    since = 0
    try:
        with common.connect(url, common.member_key(prvkey)) as client:
            colonyname = client.get_process(processid).spec.conditions.colonyname
            while True:
                # the state first: lines added before the process ended are then all fetched below
                ended = client.get_process(processid).state in ENDED
                for entry in new_lines(client, colonyname, processid, since):
                    since = entry.timestamp
                    if as_json:
                        print(json.dumps(msgspec.to_builtins(entry)), flush=True)
                    else:
                        print(entry.message, end="" if entry.message.endswith("\n") else "\n", flush=True)
                if ended:
                    return
                time.sleep(interval)
    except KeyboardInterrupt:
        raise typer.Exit(code=0) from None
