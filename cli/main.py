"""The `colonies` command: wiring only; the logic lives in the sibling modules."""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import tempfile
import urllib.parse
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from colonies import dev as dev_ids
from . import blueprint, channel, config, cron, dev_executor, generator, location, output, security, server
from .attribute import app as attribute_app
from .colony import app as colony_app
from .executor import app as executor_app
from .executor_start import start as executor_start
from .user import app as user_app
from .federation import app as federation_app
from .fs import app as fs_app
from .function import app as function_app
from .log import app as log_app
from .node import app as node_app
from .process import app as process_app
from .workflow import app as workflow_app
from .node_config import ConfigError, build_dev_config, describe_start, dev_port_and_source, is_loopback, server_config_and_sources
from .serve import ServedNode, run_node
from .version import build_info

# Locals stay hidden in tracebacks: they may hold private keys from the config.
# context_settings on the root reach every sub-command: `-h` works everywhere.
app = typer.Typer(
    name="colonies",
    help="ColonyOS Colonies in Python: run a node, manage colonies, processes and files.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_show_locals=False,
)
server_app = server.app  # status, stats, alive; `start` below
app.add_typer(server_app, name="server")
app.add_typer(federation_app, name="federation")
app.add_typer(fs_app, name="fs")
app.add_typer(node_app, name="node")
app.add_typer(process_app, name="process")
app.add_typer(colony_app, name="colony")
app.add_typer(user_app, name="user")
executor_app.command("start")(executor_start)
app.add_typer(executor_app, name="executor")
app.add_typer(function_app, name="function")
app.add_typer(workflow_app, name="workflow")
app.add_typer(attribute_app, name="attribute")
app.add_typer(log_app, name="log")
app.add_typer(cron.app, name="cron")
app.add_typer(generator.app, name="generator")
app.add_typer(channel.app, name="channel")
app.add_typer(location.app, name="location")
app.add_typer(blueprint.app, name="blueprint")
app.add_typer(security.app, name="security")
app.command("config")(config.config)

DevPortOption = Annotated[
    int | None,
    typer.Option("--port", "-p", min=0, max=65535, help="HTTP port, 0 picks a free one (default: COLONIES_SERVER_PORT, else 50080)."),
]
ServerPortOption = Annotated[
    int | None,
    typer.Option("--port", "-p", min=0, max=65535, help="HTTP port, 0 picks a free one (overrides the config file and COLONIES_SERVER_PORT)."),
]


def _fail(message: str) -> NoReturn:
    output.error(message)
    raise typer.Exit(code=1)


def _loopback_url(url: str) -> bool:
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018  (raises for a malformed port)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and is_loopback(parts.hostname or "")


def _check_dev_peers(peers: str) -> None:
    """The dev federation trusts a public authority key, so its peers must be on this machine."""
    for url in (u.strip() for u in peers.split(",")):
        if url and not _loopback_url(url):
            _fail(
                f"colonies dev joins loopback peers only (got --peers {url}): "
                "use http(s)://127.x.x.x, [::1] or localhost URLs; the dev authority key is public"
            )


@app.callback()
def root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", envvar="COLONIES_VERBOSE", help="Log at INFO level.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def dev(
    port: DevPortOption = None,
    host: Annotated[str, typer.Option("--host", help="Loopback address to bind.")] = "127.0.0.1",
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", file_okay=False, help="Keep data here (default: a temporary dir, removed on exit)."),
    ] = None,
    store_url: Annotated[
        str | None,
        typer.Option("--store-url", envvar="COLONIES_STORE_URL", help="Database URL (default: SQLite in the data dir)."),
    ] = None,
    dht_port: Annotated[
        int | None, typer.Option("--dht-port", min=1, max=65535, help="Join the dev federation: the node's DHT (UDP) port.")
    ] = None,
    bootstrap: Annotated[
        str, typer.Option("--bootstrap", help="HOST:PORT[,HOST:PORT] of DHT nodes to join (loopback).")
    ] = "",
    peers: Annotated[
        str, typer.Option("--peers", help="API URLs of dev federation peers to ask directly (no DHT needed; loopback).")
    ] = "",
    ipfs: Annotated[
        bool, typer.Option("--ipfs", help="Run an embedded IPFS node (Kubo, loopback only) for CFS; prints COLONIES_IPFS_API.")
    ] = False,
    no_executor: Annotated[
        bool, typer.Option("--no-executor", help="Do not run the dev shell executor (type cli) next to the node.")
    ] = False,
) -> None:
    """Run a dev node on loopback with the well-known dev colony, user and executor.

    Next to it runs a shell executor of type `cli` (`dev-shell`) allowing a few harmless commands
    (echo, date, uname, ...), unless --no-executor. The port comes from --port, else
    COLONIES_SERVER_PORT, else 50080. With --dht-port (and --bootstrap) or --peers the node joins
    the dev federation and forwards work it cannot run.
    """
    _check_dev_peers(peers)
    try:
        port_source = dev_port_and_source(port, os.environ)[1]
        config = build_dev_config(
            data_dir=str(data_dir) if data_dir else "",
            host=host,
            port=port,
            store_url=store_url,
            dht_port=dht_port,
            bootstrap=bootstrap,
            peers=peers,
        )
    except ConfigError as err:
        _fail(str(err))
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            tmp = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="colonies-dev-", ignore_cleanup_errors=True)
            )
            config = dataclasses.replace(config, data_dir=tmp)
        kept = "kept" if data_dir else "removed on exit"
        if ipfs:
            config = dataclasses.replace(config, ipfs_embedded=True)

        def announce(node: ServedNode) -> None:
            env = dev_ids.client_env(config.host, node.port)
            core = getattr(node, "core", None)
            if core is not None and core.ipfs is not None and core.ipfs.embedded is not None:
                env["COLONIES_IPFS_API"] = core.ipfs.embedded.api_multiaddr
            port = f"{node.port}, a free one (--port 0)" if config.port == 0 else f"{node.port} from {port_source}"
            where = f"# port {port}; server id {config.server_id} (the public dev identity)"
            output.print_plain(["# colonies dev: paste these lines into a shell to use this node", where] + output.export_lines(env))
            runs = (
                "no executor runs here (--no-executor)" if no_executor else
                f"executor {dev_ids.SHELL_EXECUTOR_NAME} (type {dev_ids.EXECUTOR_TYPE}) runs {', '.join(dev_executor.commands())}"
            )
            output.ready(
                f"dev node at {node.url}, colony {dev_ids.COLONY_NAME}, {runs}, "
                f"data in {config.data_dir} ({kept}); Ctrl-C stops it"
            )

        run_node(config, announce, companion=None if no_executor else dev_executor.dev_shell)


@server_app.command("start")
def server_start(
    config_file: Annotated[
        Path | None,
        typer.Option("--config", "-c", exists=True, dir_okay=False, help="TOML node config (see configs/)."),
    ] = None,
    port: ServerPortOption = None,
    host: Annotated[str | None, typer.Option("--host", help="Address to bind (overrides the config file and env).")] = None,
    tls_cert: Annotated[
        str | None, typer.Option("--tls-cert", help="PEM certificate (chain) to serve HTTPS with (config tls_cert, COLONIES_TLSCERT).")
    ] = None,
    tls_key: Annotated[
        str | None, typer.Option("--tls-key", help="PEM private key of --tls-cert (config tls_key, COLONIES_TLSKEY).")
    ] = None,
) -> None:
    """Run a node: flags override the TOML config, which overrides COLONIES_* env vars, which override defaults.

    It prints the server id (never a key) and port it uses, and where each came from."""
    try:
        config, sources = server_config_and_sources(config_file, host=host, port=port, tls_cert=tls_cert, tls_key=tls_key)
    except ConfigError as err:
        _fail(str(err))
    output.print_plain(describe_start(config, sources))

    def announce(node: ServedNode) -> None:
        output.ready(f"colonies node at {node.url}, server id {config.server_id}")

    run_node(config, announce)


@app.command()
def version(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the package version and build information."""
    info = build_info()
    if as_json:
        output.print_plain([json.dumps(info)])
        return
    output.print_plain(
        [
            f"colonies {info['version']}",
            f"build version: {info['buildversion']}",
            f"build time:    {info['buildtime']}",
            f"python:        {info['python']} on {info['platform']}",
            f"event loop:    {info['eventloop']}",
        ]
    )
