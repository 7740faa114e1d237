"""`colonies channel`: a process's channels, as the node serves them (spec §2.11, §4.8): append, read.

Only the process's initiator and its assigned executor may use them, and only channels its spec
declares."""
from __future__ import annotations

import base64
from typing import Annotated, Any

import typer

from colonies import crypto
from colonies.models import ChannelEntry

from . import common
from .common import JsonOption, PrvKeyOption, UrlOption, WideOption

app = common.group("Process channels: append a message, read the messages.")

ProcessIdArgument = Annotated[str, typer.Argument(help="The process's id.", show_default=False)]
ChannelOption = Annotated[str, typer.Option("--name", "-n", help="The channel's name (declared in the process's spec).")]
TYPES = {"data": "", "end": "end", "error": "error"}


def _text(entry: ChannelEntry) -> str:
    raw = base64.b64decode(entry.payload) if entry.payload else b""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return f"({len(raw)} bytes)"


@app.command()
def append(
    processid: ProcessIdArgument,
    name: ChannelOption,
    payload: Annotated[str, typer.Option("--payload", "-m", help="The message (text).")] = "",
    kind: Annotated[str, typer.Option("--type", help="data, end (no more messages) or error.")] = "data",
    sequence: Annotated[int, typer.Option("--sequence", min=0, help="Your message number (default: after your last one in the channel).")] = 0,
    inreplyto: Annotated[int, typer.Option("--inreplyto", min=0, help="The sequence of the message this answers.")] = 0,
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
) -> None:
    """Append a message to a process's channel (its initiator or assigned executor)."""
    if kind not in TYPES:
        common.fail(f"--type must be one of {', '.join(TYPES)} (got {kind})")
    key = common.member_key(prvkey)
    with common.connect(url, key) as client:
        if not sequence:
            mine = crypto.id_from_private_key(key)
            sequence = 1 + max((e.sequence for e in client.channel_read(processid, name) if e.senderid == mine), default=0)
        client.channel_append(processid, name, sequence, payload.encode(), payloadtype=TYPES[kind], inreplyto=inreplyto)
    common.done(f"appended message {sequence} to channel {name}")


def channel_listing(entries: list[ChannelEntry], wide: bool) -> Any:
    listing = common.table("sequence", "sender", "time", "type", "in reply to", "message")
    for entry in entries:
        common.add_row(
            listing,
            entry.sequence,
            common.short(entry.senderid, wide),
            common.since(entry.timestamp),
            entry.type or "data",
            entry.inreplyto or "",
            entry.error or _text(entry),
        )
    return listing


@app.command()
def read(
    processid: ProcessIdArgument,
    name: ChannelOption,
    after: Annotated[int, typer.Option("--after", min=0, help="Only messages after this log index.")] = 0,
    limit: Annotated[int, typer.Option("--limit", min=0, help="At most this many (0: all).")] = 0,
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """Read a process's channel, oldest first (payloads base64 in --json, as on the wire)."""
    with common.connect(url, common.member_key(prvkey)) as client:
        entries = client.channel_read(processid, name, after, limit)
    common.print_listing(entries, as_json, wide, channel_listing, f"no messages in channel {name}")
