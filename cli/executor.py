"""`colonies executor`: register, approve and look at a colony's executors (spec §2.4; upstream
`executor`). Other modules add commands to `app` (`executor start`)."""
from __future__ import annotations

import time
from typing import Annotated

import typer

from colonies.models import Executor

from . import common
from .common import ColonyKeyOption, ColonyOption, JsonOption, PrvKeyOption, UrlOption, WideOption

app = common.group("Executors of a colony: add, create, list, show, approve, reject, remove, change an executor's key.")

NameOption = Annotated[str, typer.Option("--name", "-n", help="The executor's name in the colony.")]
TypeOption = Annotated[str, typer.Option("--type", "-t", help="The executor type processes are matched on.")]
ApproveOption = Annotated[bool, typer.Option("--approve", help="Approve it at once (the colony owner's key signs both).")]
LocationOption = Annotated[str, typer.Option("--location", help="The executor's location name.")]


def state_name(state: int) -> str:
    return common.EXECUTOR_STATES.get(state, str(state))


def executor_rows(executor: Executor) -> list[tuple[str, object]]:
    return [
        ("name", executor.executorname),
        ("executor id", executor.executorid),
        ("type", executor.executortype),
        ("colony", executor.colonyname),
        ("state", state_name(executor.state)),
        ("location", executor.locationname or common.NONE),
        ("registered", common.when(executor.commissiontime)),
        ("last heard from", common.when(executor.lastheardfromtime)),
    ]


def _register(colonyname: str, executorid: str, name: str, executortype: str, location: str, approve: bool, url: str, colony_prvkey: str) -> Executor:
    with common.connect(url, common.colony_key(colony_prvkey)) as client:
        executor = client.add_executor(colonyname, executorid, name, executortype, locationname=location)
        if approve:
            client.approve_executor(colonyname, name)
            executor = client.get_executor_by_id(colonyname, executorid)
    return executor


def _show(executor: Executor, as_json: bool) -> None:
    if as_json:
        common.print_json(executor)
    else:
        common.show(common.details(executor_rows(executor)))


@app.command()
def add(
    name: NameOption,
    executortype: TypeOption,
    executorid: Annotated[str, typer.Option("--executorid", help="The executor's id: the id of its key (`colonies security id`).")],
    location: LocationOption = "",
    approve: ApproveOption = False,
    colony: ColonyOption = "",
    url: UrlOption = "",
    colony_prvkey: ColonyKeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Register an executor with a key you hold (colony owner); it waits for approval unless --approve."""
    executor = _register(common.colony_name(colony), executorid, name, executortype, location, approve, url, colony_prvkey)
    _show(executor, as_json)


@app.command()
def create(
    name: NameOption,
    executortype: TypeOption,
    location: LocationOption = "",
    approve: ApproveOption = False,
    colony: ColonyOption = "",
    url: UrlOption = "",
    colony_prvkey: ColonyKeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Generate a key, register an executor on it (colony owner) and print its id and private key."""
    from colonies import crypto

    colonyname = common.colony_name(colony)
    prvkey = crypto.generate_private_key()
    executorid = crypto.id_from_private_key(prvkey)
    executor = _register(colonyname, executorid, name, executortype, location, approve, url, colony_prvkey)
    if as_json:
        common.print_json({"executor": executor, "prvkey": prvkey})
        return
    common.output.print_plain(
        [f"executor {name} ({state_name(executor.state)}), keep its key secret:", f"executorid: {executorid}", f"prvkey: {prvkey}"]
    )


@app.command("ls")
def list_executors(
    colony: ColonyOption = "",
    executortype: Annotated[str, typer.Option("--type", "-t", help="Only executors of this type.")] = "",
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """The colony's executors, unregistered ones included (a member's key)."""
    colonyname = common.colony_name(colony)
    with common.connect(url, common.member_key(prvkey)) as client:
        executors = client.list_executors(colonyname)
    executors = [e for e in executors if not executortype or e.executortype == executortype]
    if as_json:
        common.print_json(executors)
        return
    if not executors:
        common.nothing("no executors")
        return
    now = time.time()
    listing = common.table("name", "type", "executor id", "state", "location", "last heard from")
    for e in sorted(executors, key=lambda e: e.executorname):
        common.add_row(
            listing, e.executorname, e.executortype, common.short(e.executorid, wide), state_name(e.state),
            e.locationname or common.NONE, common.since(e.lastheardfromtime, now),
        )
    common.show(listing, wide=wide)


@app.command()
def get(name: NameOption, colony: ColonyOption = "", url: UrlOption = "", prvkey: PrvKeyOption = "", as_json: JsonOption = False) -> None:
    """Show an executor (a member's key)."""
    colonyname = common.colony_name(colony)
    with common.connect(url, common.member_key(prvkey)) as client:
        executor = client.get_executor(colonyname, name)
    _show(executor, as_json)


def _owner_command(verb: str, done: str) -> None:
    def command(name: NameOption, colony: ColonyOption = "", url: UrlOption = "", colony_prvkey: ColonyKeyOption = "") -> None:
        colonyname = common.colony_name(colony)
        with common.connect(url, common.colony_key(colony_prvkey)) as client:
            getattr(client, f"{verb}_executor")(colonyname, name)
        common.done(f"executor {name} {done}")

    command.__doc__ = {
        "approve": "Approve an executor: it may then take processes (colony owner).",
        "reject": "Reject an executor: it may not take processes (colony owner).",
        "remove": "Unregister an executor; its running processes go back to the queue (colony owner).",
    }[verb]
    app.command(verb)(command)


_owner_command("approve", "approved")
_owner_command("reject", "rejected")
_owner_command("remove", "removed")


common.chid_command(app, "--executorid", "change_executor_id", "executor")
