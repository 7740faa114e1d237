"""`colonies security`: make a key, show the id of one (upstream `security generate` / `id`)."""
from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from colonies import crypto

from . import common, output

app = common.group("Keys: generate a private key and its id, show the id of a key.")


@app.command()
def generate(as_json: Annotated[bool, typer.Option("--json", help='Print {"prvkey": …, "id": …}.')] = False) -> None:
    """Generate a private key and print it with its id (keep the key secret; the id is public)."""
    prvkey = crypto.generate_private_key()
    identity = crypto.id_from_private_key(prvkey)
    if as_json:
        output.print_plain([json.dumps({"prvkey": prvkey, "id": identity})])
    else:
        output.print_plain([f"prvkey: {prvkey}", f"id:     {identity}"])


@app.command("id")
def show_id(
    prvkey: Annotated[
        str, typer.Option("--prvkey", envvar="COLONIES_PRVKEY", help="The private key ('-' reads it from stdin).")
    ] = "",
) -> None:
    """Print the id of a private key (the key itself is never printed)."""
    key = sys.stdin.readline().strip() if prvkey == "-" else prvkey.strip()
    common.required(key, "a private key", "--prvkey", "COLONIES_PRVKEY")
    try:
        output.print_plain([crypto.id_from_private_key(key)])
    except ValueError:
        common.fail("not a private key: 64 hex characters expected")
