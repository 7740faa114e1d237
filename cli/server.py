"""`colonies server`: how a node is doing (status, stats, alive), its owner (chid); `server start` runs one (cli/main.py)."""
from __future__ import annotations

import urllib.error
import urllib.request
from typing import Annotated

import typer

from colonies.models import Statistics

from . import common
from .common import JsonOption, ServerKeyOption, UrlOption

app = common.group("Run a Colonies server (node) and look at one: start, status, stats, alive, chid.")


@app.command()
def status(url: UrlOption = "", as_json: JsonOption = False) -> None:
    """The node's version, build and the backends it serves (no key needed)."""
    with common.connect(url, "") as client:
        version = client.version()
        info = client.server_info()
    if as_json:
        common.print_json({"version": version, "serverinfo": info})
        return
    backends = ", ".join(f"{b.type} {b.host or '*'}:{b.port}{' (TLS)' if b.tls else ''}" for b in info.backends)
    common.show(
        common.details(
            [
                ("node", common.server_url(url)),
                ("build version", info.buildversion or version.buildversion),
                ("build time", info.buildtime or version.buildtime or common.NONE),
                ("backends", backends or common.NONE),
            ]
        )
    )


def _stats_rows(stats: Statistics) -> list[tuple[str, object]]:
    return [
        ("colonies", stats.colonies),
        ("executors", f"{stats.executors} ({stats.activeexecutors} active, {stats.unregisteredexecutors} unregistered)"),
        ("processes", f"{stats.waitingprocesses} waiting, {stats.runningprocesses} running, {stats.successfulprocesses} successful, {stats.failedprocesses} failed, {stats.cancelledprocesses} cancelled"),
        ("workflows", f"{stats.waitingworkflows} waiting, {stats.runningworkflows} running, {stats.successfulworkflows} successful, {stats.failedworkflows} failed, {stats.cancelledworkflows} cancelled"),
    ]


@app.command()
def stats(url: UrlOption = "", server_prvkey: ServerKeyOption = "", as_json: JsonOption = False) -> None:
    """Colonies, executors, processes and workflows on the whole node (server owner)."""
    with common.connect(url, common.server_key(server_prvkey)) as client:
        statistics = client.statistics()
    if as_json:
        common.print_json(statistics)
        return
    common.show(common.details(_stats_rows(statistics)))


@app.command()
def alive(
    url: UrlOption = "",
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, max=300, help="Seconds to wait for an answer.")] = 5.0,
) -> None:
    """Exit 0 when the node answers its health check, else print why and exit 1."""
    target = common.server_url(url)
    try:
        with urllib.request.urlopen(f"{target}/health", timeout=timeout) as reply:
            healthy = reply.status == 200
    except urllib.error.HTTPError as err:
        common.fail(f"the node at {target} is not healthy: {err.code}")
    except (OSError, ValueError) as err:
        common.fail(f"the node at {target} does not answer: {err}")
    if not healthy:
        common.fail(f"the node at {target} is not healthy")
    common.done(f"the node at {target} is alive")


@app.command()
def chid(
    serverid: Annotated[str, typer.Option("--serverid", help="The new server owner's id (64 hex characters).")],
    url: UrlOption = "",
    server_prvkey: ServerKeyOption = "",
) -> None:
    """Hand the node to a new server owner (signed by the current one)."""
    with common.connect(url, common.server_key(server_prvkey)) as client:
        client.change_server_id(serverid)
    common.done(f"server id changed to {serverid}")
    common.nothing("change server_id in the node's config too: a configured id is written back at every start")
