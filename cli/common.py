"""What every client command shares: where the node is, who signs, how failures and results print.

A leaf: it imports no other command module. Precedence for every setting is command-line flag,
then environment (the `COLONIES_*` variables upstream's CLI and pycolonies read), then default.
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import msgspec
import typer
from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from colonies.oneline import one_line
from colonies.timefmt import parse_to_ns

from . import output

if TYPE_CHECKING:
    from colonies.client import Client

T = TypeVar("T")

HELP = {"help_option_names": ["-h", "--help"]}
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 50080
TLS_VARIABLES = ("COLONIES_TLS", "COLONIES_SERVER_TLS")  # the upstream CLI reads the first, pycolonies the second
SHORT_ID = 12
NONE = "—"

PROCESS_STATES = {0: "waiting", 1: "running", 2: "successful", 3: "failed", 4: "cancelled"}
EXECUTOR_STATES = {0: "pending", 1: "approved", 2: "rejected", 3: "unregistered"}


def group(help: str) -> typer.Typer:
    """A command group that accepts -h and never shows locals (they may hold keys) in a traceback."""
    return typer.Typer(help=help, no_args_is_help=True, context_settings=HELP, pretty_exceptions_show_locals=False)


# --- where the node is and who signs ---------------------------------------------------------

UrlOption = Annotated[
    str,
    typer.Option(
        "--url",
        envvar="COLONIES_NODE_URL",
        help="The node's API URL (default: from COLONIES_SERVER_HOST, _PORT and _TLS or COLONIES_TLS).",
    ),
]
PrvKeyOption = Annotated[
    str, typer.Option("--prvkey", envvar="COLONIES_PRVKEY", help="A member's private key (a user's or an executor's).")
]
ColonyOption = Annotated[
    str, typer.Option("--colony", "--colonyname", envvar="COLONIES_COLONY_NAME", help="The colony's name.")
]
ColonyKeyOption = Annotated[
    str,
    typer.Option("--colony-prvkey", "--colonyprvkey", envvar="COLONIES_COLONY_PRVKEY", help="The colony owner's private key."),
]
ServerKeyOption = Annotated[
    str,
    typer.Option("--server-prvkey", "--serverprvkey", envvar="COLONIES_SERVER_PRVKEY", help="The server owner's private key."),
]


def server_url(url: str = "", env: Mapping[str, str] | None = None) -> str:
    """--url when given, else the node COLONIES_SERVER_HOST/PORT name, TLS from either variable."""
    if url:
        return url.rstrip("/")
    environ = os.environ if env is None else env
    tls = any(environ.get(name, "").strip().lower() == "true" for name in TLS_VARIABLES)
    host = environ.get("COLONIES_SERVER_HOST") or DEFAULT_HOST
    port = environ.get("COLONIES_SERVER_PORT") or str(DEFAULT_PORT)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"{'https' if tls else 'http'}://{host}:{port}"


def fail(message: str) -> NoReturn:
    output.error(message)
    raise typer.Exit(code=1)


def required(value: str, what: str, flag: str, variable: str) -> str:
    if not value:
        fail(f"{what} is needed: {flag} or {variable}")
    return value


def member_key(prvkey: str) -> str:
    return required(prvkey, "a member's key", "--prvkey", "COLONIES_PRVKEY")


def colony_key(prvkey: str) -> str:
    return required(prvkey, "the colony owner's key", "--colony-prvkey", "COLONIES_COLONY_PRVKEY")


def server_key(prvkey: str) -> str:
    return required(prvkey, "the server owner's key", "--server-prvkey", "COLONIES_SERVER_PRVKEY")


def colony_name(name: str) -> str:
    return required(name, "the colony", "--colony", "COLONIES_COLONY_NAME")


@contextlib.contextmanager
def failures(target: str) -> Iterator[None]:
    """The node's errors, timeouts and unreachable nodes as one line on stderr and exit code 1."""
    import aiohttp

    from colonies.wire import RPCError

    try:
        yield
    except RPCError as err:
        fail(f"{err.status}: {one_line(err)}")
    except TimeoutError as err:  # before OSError, of which it is a kind
        fail(f"timed out: {one_line(err)}" if str(err) else f"timed out waiting for the node at {target}")
    except (OSError, aiohttp.ClientError) as err:
        fail(f"cannot reach the node at {target}: {one_line(err)}")


@contextlib.contextmanager
def connect(url: str, prvkey: str, timeout: float = 60.0) -> Iterator[Client]:
    """A blocking client for the node `url` names (see `server_url`), signing with `prvkey`."""
    from colonies.client import Client

    target = server_url(url)
    with failures(target), Client(target, prvkey, timeout=timeout) as client:
        yield client


def load_json(path: Path, kind: type[T]) -> T:
    """A JSON file decoded as `kind` (unknown fields ignored); a bad file is a one-line error."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=kind)
    except OSError as err:
        fail(f"cannot read {path}: {one_line(err)}")
    except msgspec.MsgspecError as err:
        fail(f"{path}: {one_line(err)}")


def parse_json_value(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        fail(f"{what} is not JSON: {one_line(err)}")


# --- output ----------------------------------------------------------------------------------

JsonOption = Annotated[bool, typer.Option("--json", help="Print the objects as JSON, with the wire's field names.")]
WideOption = Annotated[bool, typer.Option("--wide", "-w", help="Show ids whole (default: their first 12 characters).")]


def print_json(value: Any) -> None:
    """The wire form: our models' field names and types are upstream's, nested objects included."""
    output.print_plain([json.dumps(msgspec.to_builtins(value), indent=2)])


def short(identifier: str, wide: bool) -> str:
    return identifier if wide or len(identifier) <= SHORT_ID else identifier[:SHORT_ID]


def ago(unix_seconds: float, now: float) -> str:
    """"3 s ago", "5 min ago", "2 h ago", "4 days ago"; "in 3 min" for a time ahead."""
    seconds = int(now - unix_seconds)
    ahead = seconds < 0
    seconds = abs(seconds)
    if seconds < 120:
        amount = f"{seconds} s"
    elif seconds < 7200:
        amount = f"{seconds // 60} min"
    elif seconds < 2 * 86400:
        amount = f"{seconds // 3600} h"
    else:
        amount = f"{seconds // 86400} days"
    return f"in {amount}" if ahead else f"{amount} ago"


def _unix(rfc3339: str) -> float | None:
    try:
        ns = parse_to_ns(rfc3339)
    except ValueError:
        return None
    return ns / 1e9 if ns > 0 else None


def since(rfc3339: str, now: float | None = None) -> str:
    """A wire time for a table cell: "3 min ago"; "—" for Go's zero time."""
    unix = _unix(rfc3339)
    return NONE if unix is None else ago(unix, time.time() if now is None else now)


def when(rfc3339: str, now: float | None = None) -> str:
    """A wire time in full: local ISO time and how long ago, "2026-05-01T14:03:07+02:00 (3 min ago)"."""
    unix = _unix(rfc3339)
    if unix is None:
        return NONE
    local = datetime.fromtimestamp(unix).astimezone().isoformat(timespec="seconds")
    return f"{local} ({ago(unix, time.time() if now is None else now)})"


def when_ns(ns: int, now: float | None = None) -> str:
    """when() for Unix nanoseconds (log timestamps)."""
    if ns <= 0:
        return NONE
    local = datetime.fromtimestamp(ns / 1e9).astimezone().isoformat(timespec="seconds")
    return f"{local} ({ago(ns / 1e9, time.time() if now is None else now)})"


def table(*headers: str) -> Table:
    """A listing; cells never cut (long values fold onto more lines on a narrow terminal)."""
    listing = Table()
    for header in headers:
        listing.add_column(header, overflow="fold")
    return listing


def add_row(listing: Table, *cells: object) -> None:
    # Text, not markup: names and values come from other users
    listing.add_row(*(Text(str(cell)) for cell in cells))


def details(rows: Sequence[tuple[str, object]]) -> Table:
    """One object as "field  value" lines."""
    view = Table(show_header=False, box=None)
    view.add_column("field", style="bold", no_wrap=True)
    view.add_column("value", overflow="fold")
    for field, value in rows:
        view.add_row(field, Text(str(value)))
    return view


def show(*renderables: RenderableType, wide: bool = False) -> None:
    """Print to stdout. Off a terminal, or with --wide, at the width the content needs (rich
    would otherwise fit tables to 80 columns and fold the ids); the terminal wraps long lines."""
    console = output.out
    if wide or not console.is_terminal:
        unbounded = console.options.update(width=10_000)
        width = max([Measurement.get(console, unbounded, r).maximum for r in renderables] + [1])
        console = Console(soft_wrap=True, highlight=False, width=width)
    for renderable in renderables:
        console.print(renderable)


def done(message: str) -> None:
    """What an action did, one plain line on stdout."""
    output.print_plain([message])


def nothing(message: str) -> None:
    """An empty listing: a line on stderr, so stdout stays empty for scripts."""
    output.err.print(message)


def jsonish(value: Any) -> str:
    """A value (args, output, kwargs) compactly in a cell."""
    return json.dumps(value, separators=(",", ":")) if value not in (None, [], {}) else ""


def print_listing(items: list[Any], as_json: bool, wide: bool, render: Callable[[list[Any], bool], RenderableType], empty: str) -> None:
    """A list command's output: the wire objects with --json, else `render`'s table (or `empty`)."""
    if as_json:
        print_json(items)
    elif not items:
        nothing(empty)
    else:
        show(render(items, wide), wide=wide)


# --- command shapes several groups share -------------------------------------------------------
# The commands are built at import; their annotations are set as objects because this module's
# own annotations are strings (`from __future__ import annotations`) that typer would resolve here.

REMOVABLE = {"all": -1, "waiting": 0, "successful": 2, "failed": 3, "cancelled": 4}
StateOption = Annotated[
    str, typer.Option("--state", help="Which: all, waiting, successful, failed or cancelled (running ones stay).")
]


def _command(app: typer.Typer, name: str, help: str, body: Callable[..., None], annotations: dict[str, Any]) -> None:
    body.__annotations__ = annotations | {"return": None}
    body.__doc__ = help
    app.command(name)(body)


def id_command(app: typer.Typer, name: str, argument: Any, method: str, done: str, help: str) -> None:
    """`NAME ID`: the client's `method` on ID with a member's key, then `done` ("… {id} removed")."""

    def command(target: str, url: str = "", prvkey: str = "") -> None:
        with connect(url, member_key(prvkey)) as client:
            getattr(client, method)(target)
        output.print_plain([done.format(id=target)])

    _command(app, name, help, command, {"target": argument, "url": UrlOption, "prvkey": PrvKeyOption})


def removeall_command(app: typer.Typer, method: str, what: str, help: str) -> None:
    """`removeall [--state S]` with the colony owner's key: the client's `method`(colony, state)."""

    def command(state: str = "all", colony: str = "", url: str = "", colony_prvkey: str = "") -> None:
        if state not in REMOVABLE:
            fail(f"--state must be one of {', '.join(REMOVABLE)} (got {state})")
        colonyname = colony_name(colony)
        with connect(url, colony_key(colony_prvkey)) as client:
            getattr(client, method)(colonyname, REMOVABLE[state])
        which = "" if state == "all" else f"{state} "
        output.print_plain([f"removed the {which}{what} of colony {colonyname}"])

    annotations = {"state": StateOption, "colony": ColonyOption, "url": UrlOption, "colony_prvkey": ColonyKeyOption}
    _command(app, "removeall", help, command, annotations)


def chid_command(app: typer.Typer, flag: str, method: str, who: str) -> None:
    """`chid --<flag> NEW`: move the calling user or executor to a new key, signed with the current one."""

    def command(new_id: str, colony: str = "", url: str = "", prvkey: str = "") -> None:
        colonyname = colony_name(colony)
        with connect(url, member_key(prvkey)) as client:
            getattr(client, method)(colonyname, new_id)
        output.print_plain([f"{who} id changed to {new_id}"])

    annotations = {
        "new_id": Annotated[str, typer.Option(flag, help=f"The {who}'s new id (64 hex characters).")],
        "colony": ColonyOption,
        "url": UrlOption,
        "prvkey": Annotated[str, typer.Option("--prvkey", envvar="COLONIES_PRVKEY", help=f"The {who}'s current private key.")],
    }
    _command(app, "chid", f"Move the calling {who} to a new key (signed with the current one).", command, annotations)
