"""`colonies colony`: add, remove, list and look at colonies (spec §2.2; upstream `colony`)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from colonies.models import Colony, Statistics

from . import common
from .common import ColonyKeyOption, JsonOption, PrvKeyOption, ServerKeyOption, UrlOption, WideOption

app = common.group("Colonies: add, remove, list, show, statistics, change the owner.")

NameOption = Annotated[str, typer.Option("--name", "-n", envvar="COLONIES_COLONY_NAME", help="The colony's name.")]
TargetNameOption = Annotated[str, typer.Option("--name", "-n", help="The colony's name.")]


def _colony_view(colony: Colony, as_json: bool) -> None:
    if as_json:
        common.print_json(colony)
        return
    common.show(common.details([("name", colony.name), ("colony id", colony.colonyid)]))


@app.command()
def add(
    spec: Annotated[
        Path | None, typer.Option("--spec", exists=True, dir_okay=False, help='A JSON colony: {"colonyid": …, "name": …}.')
    ] = None,
    name: TargetNameOption = "",
    colonyid: Annotated[str, typer.Option("--colonyid", help="The colony's id: the id of its owner's key.")] = "",
    url: UrlOption = "",
    server_prvkey: ServerKeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Add a colony (server owner). From --spec, or --name and --colonyid; flags override the file."""
    colony = common.load_json(spec, Colony) if spec else Colony()
    colony = Colony(colonyid=colonyid or colony.colonyid, name=name or colony.name)
    if not colony.name or not colony.colonyid:
        common.fail("a colony needs a name and an id: --spec FILE, or --name and --colonyid")
    with common.connect(url, common.server_key(server_prvkey)) as client:
        added = client.add_colony(colony.colonyid, colony.name)
    _colony_view(added, as_json)


@app.command()
def remove(
    name: Annotated[str, typer.Option("--name", "-n", help="The colony to remove, with everything in it.")],
    url: UrlOption = "",
    server_prvkey: ServerKeyOption = "",
) -> None:
    """Remove a colony with its users, executors, processes, workflows, crons, files and logs (server owner)."""
    with common.connect(url, common.server_key(server_prvkey)) as client:
        client.remove_colony(name)
    common.done(f"colony {name} removed")


@app.command("ls")
def list_colonies(
    url: UrlOption = "", server_prvkey: ServerKeyOption = "", as_json: JsonOption = False, wide: WideOption = False
) -> None:
    """Every colony on the node (server owner)."""
    with common.connect(url, common.server_key(server_prvkey)) as client:
        colonies = client.list_colonies()
    if as_json:
        common.print_json(colonies)
        return
    if not colonies:
        common.nothing("no colonies")
        return
    listing = common.table("name", "colony id")
    for colony in sorted(colonies, key=lambda c: c.name):
        common.add_row(listing, colony.name, common.short(colony.colonyid, wide))
    common.show(listing, wide=wide)


@app.command()
def get(name: NameOption = "", url: UrlOption = "", prvkey: PrvKeyOption = "", as_json: JsonOption = False) -> None:
    """Show a colony (a member's key)."""
    colonyname = common.colony_name(name)
    with common.connect(url, common.member_key(prvkey)) as client:
        colony = client.get_colony(colonyname)
    _colony_view(colony, as_json)


def statistics_rows(stats: Statistics) -> list[tuple[str, object]]:
    return [
        ("executors", stats.executors),
        ("active executors", stats.activeexecutors),
        ("unregistered executors", stats.unregisteredexecutors),
        ("waiting processes", stats.waitingprocesses),
        ("running processes", stats.runningprocesses),
        ("successful processes", stats.successfulprocesses),
        ("failed processes", stats.failedprocesses),
        ("cancelled processes", stats.cancelledprocesses),
        ("waiting workflows", stats.waitingworkflows),
        ("running workflows", stats.runningworkflows),
        ("successful workflows", stats.successfulworkflows),
        ("failed workflows", stats.failedworkflows),
        ("cancelled workflows", stats.cancelledworkflows),
    ]


@app.command()
def stats(name: NameOption = "", url: UrlOption = "", prvkey: PrvKeyOption = "", as_json: JsonOption = False) -> None:
    """Executors, processes and workflows of a colony by state (a member's key)."""
    colonyname = common.colony_name(name)
    with common.connect(url, common.member_key(prvkey)) as client:
        statistics = client.colony_stats(colonyname)
    if as_json:
        common.print_json(statistics)
        return
    common.show(common.details(statistics_rows(statistics)))


@app.command()
def check(name: NameOption = "", url: UrlOption = "", prvkey: PrvKeyOption = "") -> None:
    """Exit 0 when the colony exists and the key is a member of it, else 1."""
    colonyname = common.colony_name(name)
    with common.connect(url, common.member_key(prvkey)) as client:
        client.get_colony(colonyname)
    common.done(f"colony {colonyname} exists")


@app.command()
def chid(
    colonyid: Annotated[str, typer.Option("--colonyid", help="The new owner's id (64 hex characters).")],
    name: NameOption = "",
    url: UrlOption = "",
    colony_prvkey: ColonyKeyOption = "",
) -> None:
    """Hand the colony to a new owner key (signed by the current owner)."""
    colonyname = common.colony_name(name)
    with common.connect(url, common.colony_key(colony_prvkey)) as client:
        client.change_colony_id(colonyname, colonyid)
    common.done(f"colony {colonyname} now belongs to {colonyid}")
