"""`colonies generator`: a workflow for every N packed arguments (spec §2.10, §4.10; upstream `generator`)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from colonies.models import Generator

from . import common
from .common import ColonyOption, JsonOption, PrvKeyOption, UrlOption, WideOption
from .workflow import load_workflow

app = common.group("Generators: submit a workflow for every N packed arguments (or after a timeout).")

GeneratorIdArgument = Annotated[str, typer.Argument(help="The generator's id (`generator ls --wide`).", show_default=False)]


def _generator_view(generator: Generator, as_json: bool) -> None:
    if as_json:
        common.print_json(generator)
        return
    common.show(
        common.details(
            [
                ("name", generator.name),
                ("generator id", generator.generatorid),
                ("colony", generator.colonyname),
                ("trigger", f"every {generator.trigger} packed arguments"),
                ("timeout", f"{generator.timeout} s" if generator.timeout > 0 else "none"),
                ("queued", generator.queuesize),
                ("first queued", common.when(generator.firstpack)),
                ("last run", common.when(generator.lastrun)),
                ("added by", generator.initiatorname or generator.initiatorid),
            ]
        )
    )


@app.command()
def add(
    name: Annotated[str, typer.Option("--name", "-n", help="The generator's name (unique in the colony).")],
    spec_file: Annotated[Path, typer.Option("--spec", exists=True, dir_okay=False, help="The workflow to submit (JSON, as `workflow submit` takes).")],
    trigger: Annotated[int, typer.Option("--trigger", min=1, help="Submit the workflow once this many arguments are packed.")],
    timeout: Annotated[int, typer.Option("--timeout", min=-1, help="Or after this many seconds since the last run, with fewer (-1: never).")] = -1,
    colony: ColonyOption = "",
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Add a generator; its workflow's root steps get the packed arguments as args, in pack order."""
    workflow = load_workflow(spec_file, colony)
    with common.connect(url, common.member_key(prvkey)) as client:
        generator = client.add_generator(workflow.colonyname, name, workflow, trigger, timeout)
    _generator_view(generator, as_json)


@app.command()
def pack(
    generatorid: GeneratorIdArgument,
    arg: Annotated[str, typer.Option("--arg", help="The argument to queue.")],
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
) -> None:
    """Queue one argument for the generator's next workflow."""
    with common.connect(url, common.member_key(prvkey)) as client:
        client.pack_generator(generatorid, arg)
    common.done(f"packed into generator {generatorid}")


@app.command()
def get(
    generatorid: Annotated[str, typer.Argument(help="The generator's id (or its name with --name).", show_default=False)] = "",
    name: Annotated[str, typer.Option("--name", "-n", help="Look the generator up by name in the colony instead.")] = "",
    colony: ColonyOption = "",
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Show a generator: trigger, timeout, how many arguments are queued, last run."""
    if bool(generatorid) == bool(name):
        common.fail("give a generator id or --name")
    with common.connect(url, common.member_key(prvkey)) as client:
        generator = client.resolve_generator(common.colony_name(colony), name) if name else client.get_generator(generatorid)
    _generator_view(generator, as_json)


def generator_listing(generators: list[Generator], wide: bool) -> Any:
    now = time.time()
    listing = common.table("name", "generator id", "trigger", "timeout", "queued", "last run")
    for g in sorted(generators, key=lambda g: g.name):
        timeout = f"{g.timeout} s" if g.timeout > 0 else common.NONE
        common.add_row(listing, g.name, common.short(g.generatorid, wide), g.trigger, timeout, g.queuesize, common.since(g.lastrun, now))
    return listing


@app.command("ls")
def list_generators(
    count: Annotated[int, typer.Option("--count", min=1, max=100, help="At most this many.")] = 100,
    colony: ColonyOption = "",
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """The colony's generators."""
    colonyname = common.colony_name(colony)
    with common.connect(url, common.member_key(prvkey)) as client:
        generators = client.list_generators(colonyname, count)
    common.print_listing(generators, as_json, wide, generator_listing, f"no generators in colony {colonyname}")


common.id_command(app, "remove", GeneratorIdArgument, "remove_generator", "generator {id} removed", "Remove a generator (its queued arguments with it).")
