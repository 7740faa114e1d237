"""`colonies node`: this node in its federation — join, status, peers, leave (docs/federation.md)."""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Annotated, Any, NoReturn

import msgspec
import typer
from rich.table import Table

from colonies import messages

from . import output

app = typer.Typer(help="This node in its federation: join, status, peers, leave.", no_args_is_help=True, pretty_exceptions_show_locals=False)

UrlOption = Annotated[
    str, typer.Option("--url", envvar="COLONIES_NODE_URL", help="The node's API URL (default: from COLONIES_SERVER_HOST/PORT).")
]
KeyOption = Annotated[str, typer.Option("--server-prvkey", envvar="COLONIES_SERVER_PRVKEY", help="The server owner's private key.")]


def _fail(message: str) -> NoReturn:
    output.error(message)
    raise typer.Exit(code=1)


def _url(url: str) -> str:
    if url:
        return url
    scheme = "https" if os.environ.get("COLONIES_SERVER_TLS", os.environ.get("COLONIES_TLS", "false")) == "true" else "http"
    return f"{scheme}://{os.environ.get('COLONIES_SERVER_HOST', '127.0.0.1')}:{os.environ.get('COLONIES_SERVER_PORT', '50080')}"


def _call(url: str, prvkey: str, msg: messages.Msg, timeout: float = 30.0) -> Any:
    from colonies.client import Client
    from colonies.wire import RPCError

    if not prvkey:
        _fail("the server owner's key is needed: --server-prvkey or COLONIES_SERVER_PRVKEY")
    with Client(_url(url), prvkey, timeout=timeout) as client:
        try:
            _, payload = client.rpc(msg, prvkey, timeout)
        except RPCError as err:
            _fail(f"{err.status}: {err.message}")
        except OSError as err:
            _fail(f"cannot reach the node: {err}")
    return msgspec.json.decode(payload)


@app.command()
def status(url: UrlOption = "", server_prvkey: KeyOption = "", as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The node's federation identity and how much work it forwards and runs for peers."""
    reply = _call(url, server_prvkey, messages.NodeStatusMsg(msgtype="nodestatusmsg"))
    if as_json:
        print(json.dumps(reply, indent=2))
        return
    table = Table(show_header=False)
    for key, value in reply.items():
        table.add_row(key, str(value))
    output.out.print(table)


@app.command()
def peers(
    url: UrlOption = "",
    server_prvkey: KeyOption = "",
    colony: Annotated[str, typer.Option("--colony", help="Only this colony.")] = "",
    executortype: Annotated[str, typer.Option("--executortype", help="Only this executor type.")] = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Peers offering executors: node id, API URL, colony, executor type, live, waiting, last seen."""
    reply = _call(url, server_prvkey, messages.NodePeersMsg(msgtype="nodepeersmsg", colonyname=colony, executortype=executortype))
    if as_json:
        print(json.dumps(reply, indent=2))
        return
    table = Table("node id", "API URL", "colony", "executor type", "live", "waiting", "last seen")
    for peer in sorted(reply, key=lambda p: (p["colonyname"], p["executortype"], p["node_id"])):
        table.add_row(peer["node_id"][:16], peer["api_url"], peer["colonyname"], peer["executortype"] or "*", str(peer["live"]), str(peer["waiting"]), str(peer.get("lastseen", "")))
    output.out.print(table)


@app.command()
def leave(
    url: UrlOption = "",
    server_prvkey: KeyOption = "",
    wait: Annotated[int, typer.Option("--wait", min=0, max=3600, help="Seconds to let running forwarded work finish.")] = 60,
) -> None:
    """Stop taking work, hand queued forwarded work back to its origins, finish running work, exit."""
    reply = _call(url, server_prvkey, messages.NodeLeaveMsg(msgtype="nodeleavemsg", wait=wait), timeout=wait + 30)
    output.ready(f"left the federation: {reply['handedback']} processes handed back, {reply['running']} still running")


@app.command()
def join(
    bootstrap: Annotated[str, typer.Option("--bootstrap", help="HOST:PORT[,HOST:PORT] of DHT nodes to join.")],
    config: Annotated[Path | None, typer.Option("--config", exists=True, dir_okay=False, help="Node config (TOML).")] = None,
    dht_port: Annotated[int | None, typer.Option("--dht-port", min=1, max=65535)] = None,
) -> None:
    """Start this node from its config and join the federation through the bootstrap nodes."""
    from .main import _run_node
    from .node_config import ConfigError, build_server_config

    try:
        node_config = build_server_config(str(config) if config else None, host=None, port=None)
    except ConfigError as err:
        _fail(str(err))
    if not node_config.federation_authority_id:
        _fail("the config names no federation (federation_authority_id)")
    node_config = dataclasses.replace(node_config, bootstrap=bootstrap, dht_port=dht_port or node_config.dht_port)
    _run_node(node_config, lambda node: output.ready(f"node at {node.url} joining through {bootstrap}"))
