"""`colonies user`: the users of a colony (spec §2.3; upstream `user`)."""
from __future__ import annotations

from typing import Annotated

import typer

from colonies.models import User

from . import common
from .common import ColonyKeyOption, ColonyOption, JsonOption, PrvKeyOption, UrlOption, WideOption

app = common.group("Users of a colony: add, list, show, remove, change a user's key.")

NameOption = Annotated[str, typer.Option("--name", "-n", help="The user's name in the colony.")]


def _user_view(user: User, as_json: bool) -> None:
    if as_json:
        common.print_json(user)
        return
    rows = [("name", user.name), ("user id", user.userid), ("colony", user.colonyname), ("email", user.email), ("phone", user.phone)]
    common.show(common.details(rows))


@app.command()
def add(
    name: NameOption,
    userid: Annotated[str, typer.Option("--userid", help="The user's id: the id of the user's key (`colonies security id`).")],
    email: Annotated[str, typer.Option("--email", help="Contact e-mail.")] = "",
    phone: Annotated[str, typer.Option("--phone", help="Contact phone number.")] = "",
    colony: ColonyOption = "",
    url: UrlOption = "",
    colony_prvkey: ColonyKeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Add a user to the colony (colony owner)."""
    colonyname = common.colony_name(colony)
    with common.connect(url, common.colony_key(colony_prvkey)) as client:
        user = client.add_user(colonyname, userid, name, email, phone)
    _user_view(user, as_json)


@app.command("ls")
def list_users(
    colony: ColonyOption = "", url: UrlOption = "", prvkey: PrvKeyOption = "", as_json: JsonOption = False, wide: WideOption = False
) -> None:
    """The colony's users (a member's key)."""
    colonyname = common.colony_name(colony)
    with common.connect(url, common.member_key(prvkey)) as client:
        users = client.list_users(colonyname)
    if as_json:
        common.print_json(users)
        return
    if not users:
        common.nothing("no users")
        return
    listing = common.table("name", "user id", "email", "phone")
    for user in sorted(users, key=lambda u: u.name):
        common.add_row(listing, user.name, common.short(user.userid, wide), user.email, user.phone)
    common.show(listing, wide=wide)


@app.command()
def get(name: NameOption, colony: ColonyOption = "", url: UrlOption = "", prvkey: PrvKeyOption = "", as_json: JsonOption = False) -> None:
    """Show a user (a member's key)."""
    colonyname = common.colony_name(colony)
    with common.connect(url, common.member_key(prvkey)) as client:
        user = client.get_user(colonyname, name)
    _user_view(user, as_json)


@app.command()
def remove(name: NameOption, colony: ColonyOption = "", url: UrlOption = "", colony_prvkey: ColonyKeyOption = "") -> None:
    """Remove a user from the colony (colony owner)."""
    colonyname = common.colony_name(colony)
    with common.connect(url, common.colony_key(colony_prvkey)) as client:
        client.remove_user(colonyname, name)
    common.done(f"user {name} removed from colony {colonyname}")


common.chid_command(app, "--userid", "change_user_id", "user")
