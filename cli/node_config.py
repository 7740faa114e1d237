"""Assemble the NodeConfig that `colonies dev` and `colonies server start` run, without serving.

Precedence, highest first: command-line flag > config file > COLONIES_* environment > default.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import os
import ssl
import tomllib
from collections.abc import Mapping
from pathlib import Path

from colonies import crypto, dev
from colonies.node.config import DEFAULT, DEFAULT_PORT, ConfigKeyError, NodeConfig, load_config_with_sources

from .version import package_version

DEV_PORT_ENV = "COLONIES_SERVER_PORT"
STORE_URL_ENV = "COLONIES_STORE_URL"
LOOPBACK_HOST = "127.0.0.1"


class ConfigError(Exception):
    """A configuration the CLI refuses to start with; the message is shown to the user as is."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _port(raw: str | int, source: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"{source}: port must be a number, got {raw!r}") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"{source}: port must be 0..65535, got {port}")
    return port


def dev_port_and_source(flag: int | None, env: Mapping[str, str]) -> tuple[int, str]:
    """--port, else COLONIES_SERVER_PORT (what `colonies dev` exports), else 50080; and which one."""
    if flag is not None:
        return _port(flag, "--port"), "flag --port"
    raw = env.get(DEV_PORT_ENV, "").strip()
    return (_port(raw, DEV_PORT_ENV), f"env {DEV_PORT_ENV}") if raw else (DEFAULT_PORT, DEFAULT)


def dev_port(flag: int | None, env: Mapping[str, str]) -> int:
    return dev_port_and_source(flag, env)[0]


def _with_build_info(config: NodeConfig) -> NodeConfig:
    if config.build_version:
        return config
    return dataclasses.replace(config, build_version=package_version())


def build_dev_config(
    *,
    data_dir: str,
    host: str = LOOPBACK_HOST,
    port: int | None = None,
    store_url: str | None = None,
    env: Mapping[str, str] | None = None,
    dht_port: int | None = None,
    bootstrap: str = "",
    peers: str = "",
) -> NodeConfig:
    """The config of a throw-away dev node; only loopback hosts, since the dev keys are public.

    With a DHT port, bootstrap nodes or peers the node joins the dev federation (well-known dev
    authority; its own node key is generated into the data dir)."""
    environ = os.environ if env is None else env
    if not is_loopback(host):
        raise ConfigError(
            f"colonies dev binds loopback only (got --host {host}): its keys are public. "
            "Use `colonies server start --config FILE` with your own server key instead."
        )
    config = NodeConfig(
        host=host,
        port=dev_port(port, environ),
        store_url=store_url if store_url is not None else environ.get(STORE_URL_ENV, ""),
        data_dir=data_dir,
        server_id=dev.SERVER_ID,
        dev=True,
        build_version=environ.get("BUILD_VERSION", ""),
        build_time=environ.get("BUILD_TIME", ""),
    )
    if dht_port is not None or bootstrap or peers:
        for address in [a for a in bootstrap.split(",") if a]:
            if not is_loopback(address.rsplit(":", 1)[0].strip("[]")):
                raise ConfigError(f"colonies dev joins loopback peers only (got --bootstrap {address})")
        config = dataclasses.replace(
            config,
            federation_name=dev.FEDERATION_NAME,
            federation_authority_id=dev.FEDERATION_AUTHORITY_ID,
            federation_authority_prvkey=dev.FEDERATION_AUTHORITY_PRVKEY,
            dht_host=host,
            dht_port=dht_port or 0,
            bootstrap=bootstrap,
            federation_peers=peers,
        )
    return _with_build_info(config)


def _is_id(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def resolve_server_id(config: NodeConfig) -> str:
    """server_id, or the id of server_prvkey; both given must agree."""
    server_id = config.server_id.strip().lower()
    if config.server_prvkey:
        try:
            derived = crypto.id_from_private_key(config.server_prvkey.strip())
        except ValueError:
            raise ConfigError("server_prvkey is not a valid private key (64 hex characters)") from None
        if server_id and server_id != derived:
            raise ConfigError("server_id does not match the id of server_prvkey; set only one of them")
        return derived
    if not server_id:
        raise ConfigError(
            "no server id: set server_id or server_prvkey in the config file "
            "(or COLONIES_SERVER_ID / COLONIES_SERVER_PRVKEY); `colonies dev` needs none"
        )
    if not _is_id(server_id):
        raise ConfigError("server_id must be 64 hex characters (the colonies id of the server owner)")
    return server_id


def _check_tls(config: NodeConfig) -> None:
    if bool(config.tls_cert) != bool(config.tls_key):
        raise ConfigError("TLS needs both tls_cert and tls_key")
    for name in ("tls_cert", "tls_key"):
        path = getattr(config, name)
        if path and not Path(path).is_file():
            raise ConfigError(f"{name}: no such file: {path}")
    if config.tls_cert:
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(config.tls_cert, config.tls_key)
        except (ssl.SSLError, OSError) as err:
            raise ConfigError(f"cannot use tls_cert and tls_key: {err}") from None


def _check_public_keys(config: NodeConfig) -> None:
    # The dev identities are published; a node owned by them must not be reachable off-host.
    if is_loopback(config.host):
        return
    if config.dev:
        raise ConfigError(f"dev = true binds loopback only (host is {config.host})")
    if config.server_id == dev.SERVER_ID:
        raise ConfigError(f"the public dev server id may only be used on loopback (host is {config.host})")


def server_config_and_sources(
    path: str | os.PathLike[str] | None,
    *,
    host: str | None = None,
    port: int | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[NodeConfig, dict[str, str]]:
    """Flags over the TOML file (optional) over COLONIES_* env over defaults, validated for a
    production start; with where each field came from ("flag --port", "config PATH", "env VAR", "default")."""
    try:
        config, sources = load_config_with_sources(path, None if env is None else dict(env))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    except ConfigKeyError as err:
        raise ConfigError(str(err)) from None
    except (TypeError, ValueError) as err:
        raise ConfigError(f"invalid configuration value: {err}") from None
    if host is not None:
        config, sources["host"] = dataclasses.replace(config, host=host), "flag --host"
    if port is not None:
        sources["port"] = "flag --port"
    if tls_cert is not None:
        config, sources["tls_cert"] = dataclasses.replace(config, tls_cert=tls_cert), "flag --tls-cert"
    if tls_key is not None:
        config, sources["tls_key"] = dataclasses.replace(config, tls_key=tls_key), "flag --tls-key"
    config = dataclasses.replace(
        config,
        port=_port(port if port is not None else config.port, "--port" if port is not None else "port"),
        server_id=resolve_server_id(config),
    )
    if not config.host:
        raise ConfigError("host must not be empty")
    _check_tls(config)
    _check_public_keys(config)
    return _with_build_info(config), sources


def build_server_config(
    path: str | os.PathLike[str] | None,
    *,
    host: str | None = None,
    port: int | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    env: Mapping[str, str] | None = None,
) -> NodeConfig:
    return server_config_and_sources(path, host=host, port=port, tls_cert=tls_cert, tls_key=tls_key, env=env)[0]


def identity_source(sources: Mapping[str, str]) -> str:
    """Where the server id came from: its own source, or the private key's when it was derived."""
    if sources.get("server_id", DEFAULT) != DEFAULT:
        return f"{sources['server_id']} (server_id)"
    return f"{sources.get('server_prvkey', DEFAULT)} (server_prvkey)"


def describe_start(config: NodeConfig, sources: Mapping[str, str]) -> list[str]:
    """What a starting node says about itself: identity (the id, never a key) and port, with their sources."""
    return [
        f"server id {config.server_id} from {identity_source(sources)}",
        f"port {config.port} from {sources.get('port', DEFAULT)}, host {config.host} from {sources.get('host', DEFAULT)}",
    ]


def ensure_data_dir(config: NodeConfig) -> None:
    """Create data_dir when the embedded SQLite store will live there."""
    if not config.store_url and config.data_dir:
        Path(config.data_dir).mkdir(parents=True, exist_ok=True)
