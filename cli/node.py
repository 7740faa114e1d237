"""`colonies node`: this node in its federation — join, status, peers, leave (docs/federation.md)."""
from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from colonies import messages

from . import common, output
from .common import UrlOption, fail as _fail, show

app = common.group("This node in its federation: join, status, peers, leave.")

KeyOption = Annotated[str, typer.Option("--server-prvkey", envvar="COLONIES_SERVER_PRVKEY", help="The server owner's private key.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the node's raw reply as JSON.")]

NONE = common.NONE
# cli/fs.py takes these from here
HELP = common.HELP
_url = common.server_url


def _call(url: str, prvkey: str, msg: messages.Msg, timeout: float = 30.0) -> Any:
    key = common.server_key(prvkey)
    with common.connect(url, key, timeout=timeout) as client:
        _, payload = client.rpc(msg, key, timeout)
    return msgspec.json.decode(payload)


# --- rendering (pure: reply and clock in, rich renderables out) ----------------------------

def _text(value: Any) -> str:
    return NONE if value is None else str(value)


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def _utc(unix_seconds: float) -> str:
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _remaining(seconds: int) -> str:
    if seconds >= 86400:
        return f"in {_count(seconds // 86400, 'day')}"  # whole days, rounded down
    if seconds >= 3600:
        return f"in {seconds // 3600} h"
    if seconds > 0:
        return "in less than an hour"
    return f"expired {_count(-seconds // 86400, 'day')} ago" if seconds <= -86400 else "expired"


def expiry(expires: Any, now: float) -> str:
    """"2026-12-31T00:00:00Z (in 30 days)"."""
    if not isinstance(expires, int | float) or isinstance(expires, bool) or expires <= 0:
        return NONE
    return f"{_utc(expires)} ({_remaining(int(expires - now))})"


def ago(unix_seconds: Any, now: float, zero: str = NONE) -> str:
    """"3 s ago" / "5 min ago" / "2 h ago" / "4 days ago"; `zero` for 0 (unknown or never)."""
    if not isinstance(unix_seconds, int | float) or isinstance(unix_seconds, bool):
        return NONE
    if unix_seconds <= 0:
        return zero
    seconds = max(0, int(now - unix_seconds))  # a peer's clock may run ahead of ours
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def _add_row(table: Table, *cells: str) -> None:
    # Text, not markup: colony names, types and URLs come from peers
    table.add_row(*(Text(cell) for cell in cells))


def _yes_no(value: Any) -> str:
    return NONE if not isinstance(value, bool) else ("yes" if value else "no")


def _id_column(table: Table, header: str) -> None:
    # fold, never cut: a node id must survive a narrow terminal whole
    table.add_column(header, overflow="fold")


def _short_column(table: Table, header: str, numeric: bool = False) -> None:
    # no_wrap: a narrow terminal then folds the id and URL columns rather than these
    table.add_column(header, no_wrap=True, justify="right" if numeric else "left")


def status_summary(reply: Mapping[str, Any], now: float) -> Table:
    table = Table(show_header=False, box=None)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    rows = [
        ("node id", _text(reply.get("nodeid"))),
        ("federation", _text(reply.get("federation"))),
        ("API URL", _text(reply.get("apiurl"))),
        ("DHT address", _text(reply.get("dhtaddress") or None)),
        ("certificate expires", expiry(reply.get("certexpires"), now)),
        ("leaving", _yes_no(reply.get("leaving"))),
        ("forwarded out", _text(reply.get("forwardedout"))),
        ("forwarded in", _text(reply.get("forwardedin"))),
    ]
    for row in rows:
        _add_row(table, *row)
    return table


def status_peers(peers: Mapping[str, Mapping[str, Any]], now: float) -> Table:
    table = Table()
    _id_column(table, "node id")
    table.add_column("API URL", overflow="fold")
    _short_column(table, "reachable")
    _short_column(table, "last heard")
    for header in ("waiting", "running", "held"):
        _short_column(table, header, numeric=True)
    for node_id in sorted(peers):
        peer = peers[node_id]
        _add_row(
            table,
            node_id,
            _text(peer.get("apiurl")),
            _yes_no(peer.get("reachable")),
            ago(peer.get("lastheard"), now, zero="never"),
            _text(peer.get("waiting")),
            _text(peer.get("running")),
            _text(peer.get("forwardedin")),
        )
    return table


def status_unforwardable(entries: list[Mapping[str, Any]]) -> Table:
    table = Table()
    table.add_column("colony", overflow="fold")
    table.add_column("executor type", overflow="fold")
    _short_column(table, "waiting", numeric=True)
    for entry in sorted(entries, key=lambda e: (str(e.get("colonyname", "")), str(e.get("executortype", "")))):
        _add_row(table, _text(entry.get("colonyname")), _text(entry.get("executortype")), _text(entry.get("waiting")))
    return table


def status_view(reply: Mapping[str, Any], now: float) -> list[RenderableType]:
    """What `node status` prints: the summary, then peers and unforwardable types."""
    view: list[RenderableType] = [status_summary(reply, now)]
    peers = reply.get("peers")
    if isinstance(peers, Mapping) and peers:
        view += ["peers (waiting, running: our processes there; held: theirs here)", status_peers(peers, now)]
    else:
        view.append("peers: none")
    unforwardable = reply.get("unforwardable")
    if isinstance(unforwardable, list) and unforwardable:
        view += ["unforwardable: waiting here, no live executor anywhere runs the type", status_unforwardable(unforwardable)]
    elif unforwardable is not None:  # an engine without the field says nothing about it
        view.append("unforwardable: none")
    return view


def peers_table(reply: list[Mapping[str, Any]], now: float) -> Table:
    table = Table()
    _id_column(table, "node id")
    table.add_column("API URL", overflow="fold")
    table.add_column("colony", overflow="fold")
    table.add_column("executor type", overflow="fold")
    for header in ("live", "waiting", "running"):
        _short_column(table, header, numeric=True)
    _short_column(table, "last seen")
    for peer in sorted(reply, key=lambda p: (str(p.get("colonyname", "")), str(p.get("executortype", "")), str(p.get("node_id", "")))):
        _add_row(
            table,
            _text(peer.get("node_id")),
            _text(peer.get("api_url")),
            _text(peer.get("colonyname")),
            peer.get("executortype") or "*",  # "" is the colony-level entry
            _text(peer.get("live")),
            _text(peer.get("waiting")),
            _text(peer.get("running")),
            ago(peer.get("lastseen"), now),
        )
    return table


def _print_json(reply: Any) -> None:
    output.print_plain([json.dumps(reply, indent=2)])


# --- commands ---------------------------------------------------------------------------

@app.command()
def status(url: UrlOption = "", server_prvkey: KeyOption = "", as_json: JsonOption = False) -> None:
    """The node's federation identity, certificate expiry, work per peer and types nobody runs."""
    reply = _call(url, server_prvkey, messages.NodeStatusMsg(msgtype="nodestatusmsg"))
    if as_json:
        _print_json(reply)
        return
    show(*status_view(reply, time.time()))


@app.command()
def peers(
    url: UrlOption = "",
    server_prvkey: KeyOption = "",
    colony: Annotated[str, typer.Option("--colony", help="Only this colony.")] = "",
    executortype: Annotated[str, typer.Option("--executortype", help="Only this executor type.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Other nodes offering executors: node id, API URL, colony, executor type, live, waiting, running, last seen."""
    reply = _call(url, server_prvkey, messages.NodePeersMsg(msgtype="nodepeersmsg", colonyname=colony, executortype=executortype))
    if as_json:
        _print_json(reply)
        return
    if not reply:
        output.print_plain(["no peers offer executors for this colony and type"])
        return
    show(peers_table(reply, time.time()))


@app.command()
def leave(
    url: UrlOption = "",
    server_prvkey: KeyOption = "",
    wait: Annotated[int, typer.Option("--wait", min=0, max=3600, help="Seconds to let running forwarded work finish.")] = 60,
) -> None:
    """Stop taking work, hand queued forwarded work back to its origins, finish running work, exit."""
    reply = _call(url, server_prvkey, messages.NodeLeaveMsg(msgtype="nodeleavemsg", wait=wait), timeout=wait + 30)
    output.ready(f"left the federation: {_text(reply.get('handedback'))} processes handed back, {_text(reply.get('running'))} still running")


@app.command()
def join(
    bootstrap: Annotated[str, typer.Option("--bootstrap", help="HOST:PORT[,HOST:PORT] of DHT nodes to join.")],
    config: Annotated[Path | None, typer.Option("--config", exists=True, dir_okay=False, help="Node config (TOML).")] = None,
    dht_port: Annotated[int | None, typer.Option("--dht-port", min=1, max=65535, help="UDP port of this node's DHT (default: from the config).")] = None,
) -> None:
    """Start this node from its config and join the federation through the bootstrap nodes."""
    from .node_config import ConfigError, describe_start, server_config_and_sources
    from .serve import run_node

    try:
        node_config, sources = server_config_and_sources(str(config) if config else None, host=None, port=None)
    except ConfigError as err:
        _fail(str(err))
    if not node_config.federation_authority_id:
        _fail("the config names no federation (federation_authority_id)")
    node_config = dataclasses.replace(node_config, bootstrap=bootstrap, dht_port=dht_port or node_config.dht_port)
    output.print_plain(describe_start(node_config, sources))
    run_node(node_config, lambda node: output.ready(f"node at {node.url} joining through {bootstrap}"))
