"""`colonies location`: named places executors and processes can be pinned to (spec §2.3)."""
from __future__ import annotations

from typing import Annotated, Any

import typer

from colonies.models import Location

from . import common
from .common import ColonyKeyOption, ColonyOption, JsonOption, PrvKeyOption, UrlOption, WideOption

app = common.group("Locations: add, list, show, remove the colony's named places.")

NameOption = Annotated[str, typer.Option("--name", "-n", help="The location's name.")]


def _location_view(location: Location, as_json: bool) -> None:
    if as_json:
        common.print_json(location)
        return
    common.show(
        common.details(
            [
                ("name", location.name),
                ("location id", location.locationid),
                ("colony", location.colonyname),
                ("description", location.description or common.NONE),
                ("longitude, latitude", f"{location.long}, {location.lat}"),
            ]
        )
    )


@app.command()
def add(
    name: NameOption,
    description: Annotated[str, typer.Option("--description", help="What the place is.")] = "",
    long: Annotated[float, typer.Option("--long", min=-180, max=180, help="Longitude in degrees.")] = 0.0,
    lat: Annotated[float, typer.Option("--lat", min=-90, max=90, help="Latitude in degrees.")] = 0.0,
    colony: ColonyOption = "",
    url: UrlOption = "",
    colony_prvkey: ColonyKeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Add a location to the colony (colony owner)."""
    colonyname = common.colony_name(colony)
    with common.connect(url, common.colony_key(colony_prvkey)) as client:
        location = client.add_location(colonyname, name, description=description, long=long, lat=lat)
    _location_view(location, as_json)


def location_listing(locations: list[Location], wide: bool) -> Any:
    listing = common.table("name", "location id", "description", "long", "lat")
    for location in sorted(locations, key=lambda loc: loc.name):
        common.add_row(listing, location.name, common.short(location.locationid, wide), location.description, location.long, location.lat)
    return listing


@app.command("ls")
def list_locations(
    colony: ColonyOption = "", url: UrlOption = "", prvkey: PrvKeyOption = "", as_json: JsonOption = False, wide: WideOption = False
) -> None:
    """The colony's locations (a member's key)."""
    colonyname = common.colony_name(colony)
    with common.connect(url, common.member_key(prvkey)) as client:
        locations = client.list_locations(colonyname)
    common.print_listing(locations, as_json, wide, location_listing, f"no locations in colony {colonyname}")


@app.command()
def get(name: NameOption, colony: ColonyOption = "", url: UrlOption = "", prvkey: PrvKeyOption = "", as_json: JsonOption = False) -> None:
    """Show a location (a member's key)."""
    colonyname = common.colony_name(colony)
    with common.connect(url, common.member_key(prvkey)) as client:
        location = client.get_location(colonyname, name)
    _location_view(location, as_json)


@app.command()
def remove(name: NameOption, colony: ColonyOption = "", url: UrlOption = "", colony_prvkey: ColonyKeyOption = "") -> None:
    """Remove a location (colony owner)."""
    colonyname = common.colony_name(colony)
    with common.connect(url, common.colony_key(colony_prvkey)) as client:
        client.remove_location(colonyname, name)
    common.done(f"location {name} removed")
