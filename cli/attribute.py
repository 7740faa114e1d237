"""`colonies attribute`: key/value attributes of processes (spec §2.8; upstream `attribute`)."""
from __future__ import annotations

from typing import Annotated

import typer

from colonies.models import ENV, ERR, IN, OUT, Attribute

from . import common
from .common import JsonOption, PrvKeyOption, UrlOption

app = common.group("Attributes of processes: add one (as the running executor), show one.")

TYPES = {IN: "in", OUT: "out", ERR: "err", ENV: "env"}


def _show(attribute: Attribute, as_json: bool) -> None:
    if as_json:
        common.print_json(attribute)
        return
    common.show(common.details([
        ("attribute id", attribute.attributeid),
        ("process id", attribute.targetid),
        ("colony", attribute.targetcolonyname),
        ("workflow", attribute.targetprocessgraphid or common.NONE),
        ("type", TYPES.get(attribute.attributetype, str(attribute.attributetype))),
        ("key", attribute.key),
        ("value", attribute.value),
    ]))


@app.command()
def add(
    processid: Annotated[str, typer.Argument(help="The running process.", show_default=False)],
    key: Annotated[str, typer.Option("--key", help="The attribute's key.")],
    value: Annotated[str, typer.Option("--value", help="The attribute's value.")],
    url: UrlOption = "",
    prvkey: Annotated[str, typer.Option("--prvkey", envvar="COLONIES_PRVKEY", help="The assigned executor's private key.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Attach an output attribute to a running process assigned to the caller."""
    with common.connect(url, common.member_key(prvkey)) as client:
        process = client.get_process(processid)
        attribute = client.add_attribute(process, key, value)
    _show(attribute, as_json)


@app.command()
def get(
    attributeid: Annotated[str, typer.Argument(help="The attribute's id.", show_default=False)],
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Show an attribute."""
    with common.connect(url, common.member_key(prvkey)) as client:
        attribute = client.get_attribute(attributeid)
    _show(attribute, as_json)
