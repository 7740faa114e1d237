"""Node configuration: TOML keys, nested CFS tables and COLONIES_* overrides."""
from __future__ import annotations

from pathlib import Path

from colonies.node.config import load_config


def test_cfs_keys_read_as_nested_tables_beside_or_inside_node(tmp_path: Path) -> None:
    beside = tmp_path / "beside.toml"
    beside.write_text('port = 50123\n[cfs]\nstorage = "ipfs"\nipfs.api = "/ip4/127.0.0.1/tcp/5001"\nipfs.timeout = 5\n')
    config = load_config(beside, env={})
    assert (config.port, config.cfs_storage, config.ipfs_api, config.ipfs_timeout) == (50123, "ipfs", "/ip4/127.0.0.1/tcp/5001", 5.0)

    inside = tmp_path / "inside.toml"
    inside.write_text('[node]\nport = 50124\n[node.cfs.ipfs]\nembedded = true\nswarm = "/ip4/127.0.0.1/tcp/4101"\n')
    config = load_config(inside, env={})
    assert (config.port, config.ipfs_embedded, config.ipfs_swarm, config.cfs_storage) == (50124, True, "/ip4/127.0.0.1/tcp/4101", "s3")


def test_environment_overrides_the_cfs_keys(tmp_path: Path) -> None:
    env = {"COLONIES_CFS_STORAGE": "ipfs", "COLONIES_IPFS_EMBEDDED": "true", "COLONIES_IPFS_TIMEOUT": "2.5"}
    config = load_config(None, env=env)
    assert (config.cfs_storage, config.ipfs_embedded, config.ipfs_timeout) == ("ipfs", True, 2.5)


def test_strict_mode_is_off_by_default_and_read_from_a_security_table_or_the_environment(tmp_path: Path) -> None:
    assert load_config(env={}).security_strict is False
    path = tmp_path / "node.toml"
    path.write_text("[node]\nport = 50125\n[security]\nstrict = true\n")
    config = load_config(path, env={})
    assert (config.port, config.security_strict) == (50125, True)
    inside = tmp_path / "inside.toml"
    inside.write_text("[node]\nport = 50126\n[node.security]\nstrict = true\n")
    assert load_config(inside, env={}).security_strict is True
    assert load_config(env={"COLONIES_SECURITY_STRICT": "true"}).security_strict is True
