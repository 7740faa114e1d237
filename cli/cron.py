"""`colonies cron`: workflows on a schedule (spec §2.10, §4.9; upstream `cron`)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from colonies.models import Cron

from . import common
from .common import ColonyOption, JsonOption, PrvKeyOption, UrlOption, WideOption
from .workflow import load_workflow

app = common.group("Crons: run a workflow on a cron expression or every N seconds.")

CronIdArgument = Annotated[str, typer.Argument(help="The cron's id (`cron ls --wide`).", show_default=False)]


def _schedule(cron: Cron) -> str:
    if cron.cronexpression:
        return cron.cronexpression
    return f"every {cron.interval} s{' (random)' if cron.random else ''}"


def _cron_view(cron: Cron, as_json: bool) -> None:
    if as_json:
        common.print_json(cron)
        return
    try:
        steps = len(json.loads(cron.workflowspec).get("functionspecs") or [])
    except (ValueError, AttributeError):
        steps = 0
    common.show(
        common.details(
            [
                ("name", cron.name),
                ("cron id", cron.cronid),
                ("colony", cron.colonyname),
                ("schedule", _schedule(cron)),
                ("waits for the previous run", "yes" if cron.waitforprevprocessgraph else "no"),
                ("next run", common.when(cron.nextrun)),
                ("last run", common.when(cron.lastrun)),
                ("last workflow", cron.prevprocessgraphid or common.NONE),
                ("workflow steps", steps),
                ("added by", cron.initiatorname or cron.initiatorid),
            ]
        )
    )


@app.command()
def add(
    name: Annotated[str, typer.Option("--name", "-n", help="The cron's name (unique in the colony).")],
    spec_file: Annotated[Path, typer.Option("--spec", exists=True, dir_okay=False, help="The workflow to run (JSON, as `workflow submit` takes).")],
    cronexpression: Annotated[str, typer.Option("--cron", help='A 6-field cron expression with seconds, e.g. "0 0 * * * *".')] = "",
    interval: Annotated[int, typer.Option("--interval", min=-1, help="Run every this many seconds instead of --cron.")] = -1,
    random: Annotated[bool, typer.Option("--random", help="With --interval: after a random delay within the interval.")] = False,
    waitprev: Annotated[bool, typer.Option("--waitprev", help="Skip a run while the previous workflow has not finished.")] = False,
    colony: ColonyOption = "",
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Add a cron that submits the workflow on --cron or every --interval seconds."""
    if bool(cronexpression) == (interval > 0):
        common.fail("give either --cron EXPRESSION or --interval SECONDS")
    workflow = load_workflow(spec_file, colony)
    with common.connect(url, common.member_key(prvkey)) as client:
        cron = client.add_cron(
            workflow.colonyname, name, workflow, cronexpression=cronexpression, interval=interval, random=random, waitforprevprocessgraph=waitprev
        )
    _cron_view(cron, as_json)


@app.command()
def get(cronid: CronIdArgument, url: UrlOption = "", prvkey: PrvKeyOption = "", as_json: JsonOption = False) -> None:
    """Show a cron: schedule, next and last run, its last workflow."""
    with common.connect(url, common.member_key(prvkey)) as client:
        cron = client.get_cron(cronid)
    _cron_view(cron, as_json)


def cron_listing(crons: list[Cron], wide: bool) -> Any:
    now = time.time()
    listing = common.table("name", "cron id", "schedule", "next run", "last run")
    for cron in sorted(crons, key=lambda c: c.name):
        common.add_row(listing, cron.name, common.short(cron.cronid, wide), _schedule(cron), common.since(cron.nextrun, now), common.since(cron.lastrun, now))
    return listing


@app.command("ls")
def list_crons(
    count: Annotated[int, typer.Option("--count", min=1, max=100, help="At most this many.")] = 100,
    colony: ColonyOption = "",
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """The colony's crons."""
    colonyname = common.colony_name(colony)
    with common.connect(url, common.member_key(prvkey)) as client:
        crons = client.list_crons(colonyname, count)
    common.print_listing(crons, as_json, wide, cron_listing, f"no crons in colony {colonyname}")


@app.command()
def run(cronid: CronIdArgument, url: UrlOption = "", prvkey: PrvKeyOption = "", as_json: JsonOption = False) -> None:
    """Start the cron's workflow now (unless it waits for an unfinished previous run)."""
    with common.connect(url, common.member_key(prvkey)) as client:
        cron = client.run_cron(cronid)
    if as_json:
        common.print_json(cron)
    else:
        common.done(f"cron {cron.name} started")


common.id_command(app, "remove", CronIdArgument, "remove_cron", "cron {id} removed", "Remove a cron (its workflows already started stay).")
