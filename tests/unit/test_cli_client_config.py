"""`colonies config`: the client settings the commands use, where each came from, keys hidden."""
from __future__ import annotations

import json

from colonies import dev
from colonies.cli.config import effective
from tests.support.cli import ok, run


def by_name(env: dict[str, str], show_keys: bool = False) -> dict[str, tuple[str, str]]:
    return {s.name: (s.value, s.source) for s in effective(env, show_keys)}


def test_defaults_when_nothing_is_set() -> None:
    settings = by_name({})
    assert settings["node URL"] == ("http://127.0.0.1:50080", "from host, port and TLS")
    assert settings["server port"] == ("50080", "default") and settings["TLS"] == ("false", "default")
    assert settings["member key"] == ("", "not set")


def test_the_dev_exports_with_keys_shown_as_ids() -> None:
    env = dev.client_env("127.0.0.1", 50123) | {"AWS_S3_SECRETKEY": "s3cret", "COLONIES_TLS": "true"}
    settings = by_name(env)
    assert settings["node URL"][0] == "https://127.0.0.1:50123"
    assert settings["server port"] == ("50123", "env COLONIES_SERVER_PORT")
    assert settings["TLS"] == ("true", "env COLONIES_TLS")
    assert settings["colony"] == (dev.COLONY_NAME, "env COLONIES_COLONY_NAME")
    assert settings["member key"] == (f"id {dev.ID}", "env COLONIES_PRVKEY")
    assert settings["server owner key"] == (f"id {dev.SERVER_ID}", "env COLONIES_SERVER_PRVKEY")
    assert settings["S3 secret key"] == ("set (hidden)", "env AWS_S3_SECRETKEY")
    assert by_name(env, show_keys=True)["member key"][0] == dev.PRVKEY
    assert by_name({"COLONIES_NODE_URL": "http://127.0.0.1:1"})["node URL"] == ("http://127.0.0.1:1", "env COLONIES_NODE_URL")


def test_the_command_never_prints_a_key_unless_asked() -> None:
    env = dev.client_env("127.0.0.1", 50123)
    shown = ok(env, "config").stdout
    assert dev.ID in shown and "env COLONIES_PRVKEY" in shown
    assert dev.PRVKEY not in shown and dev.COLONY_PRVKEY not in shown and dev.SERVER_PRVKEY not in shown
    as_json = json.loads(ok(env, "config", "--json").stdout)
    assert as_json["server port"] == {"value": "50123", "source": "env COLONIES_SERVER_PORT"}
    assert dev.PRVKEY in ok(env, "config", "--show-keys").stdout


def test_config_as_a_subprocess() -> None:
    shown = run(dev.client_env("127.0.0.1", 50124), "config", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["node URL"]["value"] == "http://127.0.0.1:50124"
    assert dev.PRVKEY not in shown.stdout
