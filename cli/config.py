"""`colonies config`: the client configuration the other commands use, and where each value came from.

Client commands take a flag first, then these variables, then the default (cli/common.py); this
shows the variables' side. Private keys and secrets are never printed unless asked (`--show-keys`):
a key shows as the id it signs as."""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Annotated

import typer

from colonies import crypto

from . import common, output

NOT_SET = "not set"
# (setting, variable) of the plain values; DEFAULTS holds what a command uses when one is unset
PLAIN = [
    ("colony", "COLONIES_COLONY_NAME"),
    ("executor name", "COLONIES_EXECUTOR_NAME"),
    ("executor type", "COLONIES_EXECUTOR_TYPE"),
    ("user name", "COLONIES_USER_NAME"),
    ("S3 endpoint", "AWS_S3_ENDPOINT"),
    ("S3 bucket", "AWS_S3_BUCKET"),
    ("S3 region", "AWS_S3_REGION"),
    ("S3 TLS", "AWS_S3_TLS"),
    ("IPFS API", "COLONIES_IPFS_API"),
    ("CFS storage", "COLONIES_CFS_STORAGE"),
]
KEYS = [
    ("member key", "COLONIES_PRVKEY"),
    ("colony owner key", "COLONIES_COLONY_PRVKEY"),
    ("server owner key", "COLONIES_SERVER_PRVKEY"),
]
SECRETS = [("S3 access key", "AWS_S3_ACCESSKEY"), ("S3 secret key", "AWS_S3_SECRETKEY")]
DEFAULTS = {"COLONIES_SERVER_HOST": common.DEFAULT_HOST, "COLONIES_SERVER_PORT": str(common.DEFAULT_PORT)}


@dataclass(frozen=True)
class Setting:
    name: str
    value: str
    source: str  # "env VAR", "default" or "not set"


def _env(env: Mapping[str, str], variable: str) -> Setting | None:
    value = env.get(variable, "")
    return Setting("", value, f"env {variable}") if value else None


def _plain(env: Mapping[str, str], name: str, variable: str) -> Setting:
    found = _env(env, variable)
    if found is not None:
        return Setting(name, found.value, found.source)
    if variable in DEFAULTS:
        return Setting(name, DEFAULTS[variable], "default")
    return Setting(name, "", NOT_SET)


def _key(env: Mapping[str, str], name: str, variable: str, show: bool) -> Setting:
    found = _env(env, variable)
    if found is None:
        return Setting(name, "", NOT_SET)
    if show:
        return Setting(name, found.value, found.source)
    try:
        return Setting(name, f"id {crypto.id_from_private_key(found.value.strip())}", found.source)
    except ValueError:
        return Setting(name, "(not a valid private key)", found.source)


def _tls(env: Mapping[str, str]) -> Setting:
    for variable in common.TLS_VARIABLES:
        if env.get(variable, "").strip().lower() == "true":
            return Setting("TLS", "true", f"env {variable}")
    named = [v for v in common.TLS_VARIABLES if env.get(v)]
    return Setting("TLS", "false", f"env {named[0]}" if named else "default")


def effective(env: Mapping[str, str], show_keys: bool = False) -> list[Setting]:
    """Every client setting, its value and where it came from; keys as their ids unless `show_keys`."""
    node = _env(env, "COLONIES_NODE_URL")
    url = Setting("node URL", node.value, node.source) if node else Setting("node URL", common.server_url("", env), "from host, port and TLS")
    settings = [url, _plain(env, "server host", "COLONIES_SERVER_HOST"), _plain(env, "server port", "COLONIES_SERVER_PORT"), _tls(env)]
    settings += [_plain(env, name, variable) for name, variable in PLAIN]
    settings += [_key(env, name, variable, show_keys) for name, variable in KEYS]
    for name, variable in SECRETS:
        found = _env(env, variable)
        value = (found.value if show_keys else "set (hidden)") if found else ""
        settings.append(Setting(name, value, found.source if found else NOT_SET))
    return settings


def config(
    show_keys: Annotated[bool, typer.Option("--show-keys", help="Print private keys and secrets themselves (default: a key's id).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help='Print {setting: {"value": …, "source": …}}.')] = False,
) -> None:
    """The effective client configuration (node, TLS, colony, identities, storage) and where each value came from."""
    settings = effective(os.environ, show_keys)
    if as_json:
        output.print_plain([json.dumps({s.name: {k: v for k, v in asdict(s).items() if k != "name"} for s in settings}, indent=2)])
        return
    listing = common.table("setting", "value", "from")
    for setting in settings:
        common.add_row(listing, setting.name, setting.value or common.NONE, setting.source)
    common.show(listing)
