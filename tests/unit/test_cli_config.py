"""CLI config assembly, the serve loop (with a fake node) and the typer app; no server is started."""
from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from colonies import crypto, dev
from colonies.cli import serve as serve_mod
from colonies.cli.main import app
from colonies.cli.node_config import (
    ConfigError,
    build_dev_config,
    build_server_config,
    describe_start,
    dev_port,
    identity_source,
    is_loopback,
    resolve_server_id,
    server_config_and_sources,
)
from colonies.cli.output import export_lines
from colonies.cli.version import package_version
from colonies.node.config import DEFAULT_PORT, ConfigKeyError, NodeConfig, load_config, load_config_with_sources

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
OWNER_KEY = "1" * 64


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("COLONIES_") or name in ("BUILD_VERSION", "BUILD_TIME"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(text)
    return path


# --- load_config -------------------------------------------------------------------------------

def test_load_config_reads_node_table_and_coerces(tmp_path: Path) -> None:
    path = write(tmp_path, '[node]\nport = 6000\ntimeout_check_interval = 2\ndev = true\n')
    config = load_config(path, env={})
    assert config.port == 6000
    assert config.timeout_check_interval == 2.0 and isinstance(config.timeout_check_interval, float)
    assert config.dev is True
    assert config.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("toml", "key", "suggestion"),
    [
        ("[node]\nprot = 6000\n", "prot", "port"),
        ("store_ulr = ''\n", "store_ulr", "store_url"),
        ("[node]\nport = 1\n[cfs]\nstorag = 's3'\n", "cfs.storag", "cfs.storage"),
        ("[node.cfs.ipfs]\napii = ''\n", "cfs.ipfs.apii", "cfs.ipfs.api"),
        ("colour = 'blue'\n[node]\nport = 1\n", "colour", None),
        ("[cfs]\nstorage = 's3'\nbucket = 'x'\n", "cfs.bucket", None),
    ],
)
def test_an_unknown_key_is_an_error_naming_it_and_the_closest_valid_key(
    tmp_path: Path, toml: str, key: str, suggestion: str | None
) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(ConfigKeyError) as raised:
        load_config(path, env={})
    message = str(raised.value)
    assert f"unknown config key {key!r}" in message and str(path) in message
    assert (f"did you mean {suggestion!r}?" in message) if suggestion else "did you mean" not in message
    with pytest.raises(ConfigError, match=f"unknown config key {key!r}"):
        build_server_config(path, env={"COLONIES_SERVER_ID": dev.ID})


def test_a_node_key_that_is_not_a_table_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigKeyError, match=r"node must be a table"):
        load_config(write(tmp_path, "node = 1\n"), env={})


def test_a_value_of_the_wrong_type_names_its_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="port must be an int, got 'x'"):
        load_config(write(tmp_path, 'port = "x"\n'), env={})
    with pytest.raises(ValueError, match="host must be a string, got 5"):
        load_config(write(tmp_path, "host = 5\n"), env={})
    for toml, message in [("port = 1.5", "port must be an int"), ("dev = 1", "dev must be a bool"), ("port = true", "port must be an int")]:
        with pytest.raises(ValueError, match=message):
            load_config(write(tmp_path, toml + "\n"), env={})
    assert load_config(write(tmp_path, "cleanup_interval = 5\n"), env={}).cleanup_interval == 5.0
    with pytest.raises(ValueError, match="port must be an int, got 'x'"):
        load_config(None, env={"COLONIES_SERVER_PORT": "x"})


def test_load_config_reads_top_level_keys(tmp_path: Path) -> None:
    path = write(tmp_path, 'host = "127.0.0.2"\nport = 6001\n')
    config = load_config(path, env={})
    assert (config.host, config.port) == ("127.0.0.2", 6001)


def test_the_file_overrides_env_which_fills_what_the_file_leaves(tmp_path: Path) -> None:
    path = write(tmp_path, '[node]\nport = 6000\ndata_dir = "/a"\nallow_executor_reregister = false\n')
    env = {
        "COLONIES_SERVER_PORT": "6002",
        "COLONIES_DATA_DIR": "",
        "COLONIES_ALLOW_EXECUTOR_REREGISTER": "true",
        "COLONIES_STALE_EXECUTOR_DURATION": "30",
    }
    config, sources = load_config_with_sources(path, env=env)
    assert config.port == 6000
    assert config.data_dir == "/a"
    assert config.allow_executor_reregister is False
    assert config.stale_executor_duration == 30
    assert sources["port"] == sources["data_dir"] == f"config {path}"
    assert sources["stale_executor_duration"] == "env COLONIES_STALE_EXECUTOR_DURATION"
    assert sources["cleanup_interval"] == "default"


def test_an_identity_in_the_file_takes_no_key_from_the_environment(tmp_path: Path) -> None:
    """The dev exports in the shell must not pair COLONIES_SERVER_PRVKEY with the file's server_id."""
    path = write(tmp_path, f'server_id = "{dev.ID}"\n')
    env = {"COLONIES_SERVER_PRVKEY": dev.SERVER_PRVKEY, "COLONIES_SERVER_ID": dev.SERVER_ID}
    config, sources = server_config_and_sources(path, env=env)
    assert (config.server_id, config.server_prvkey) == (dev.ID, "")
    assert identity_source(sources) == f"config {path} (server_id)"
    from_env, env_sources = server_config_and_sources(None, env={"COLONIES_SERVER_PRVKEY": OWNER_KEY})
    assert from_env.server_id == crypto.id_from_private_key(OWNER_KEY)
    assert identity_source(env_sources) == "env COLONIES_SERVER_PRVKEY (server_prvkey)"


def test_load_config_defaults_without_file() -> None:
    config = load_config(None, env={})
    assert config == NodeConfig()
    assert config.resolved_store_url() == "sqlite:///colonies.db"


# --- server start config -----------------------------------------------------------------------

def test_server_config_precedence_flag_file_env_default(tmp_path: Path) -> None:
    env = {"COLONIES_SERVER_PORT": "6001", "COLONIES_SERVER_HOST_BIND": "127.0.0.4", "COLONIES_SERVER_ID": dev.ID}
    from_default, sources = server_config_and_sources(None, env={"COLONIES_SERVER_ID": dev.ID})
    assert (from_default.host, from_default.port, sources["port"]) == ("127.0.0.1", DEFAULT_PORT, "default")
    from_env, sources = server_config_and_sources(None, env=env)
    assert (from_env.host, from_env.port) == ("127.0.0.4", 6001)
    assert (sources["host"], sources["port"]) == ("env COLONIES_SERVER_HOST_BIND", "env COLONIES_SERVER_PORT")
    path = write(tmp_path, '[node]\nhost = "127.0.0.3"\nport = 6000\n')
    from_file, sources = server_config_and_sources(path, env=env)
    assert (from_file.host, from_file.port, sources["port"]) == ("127.0.0.3", 6000, f"config {path}")
    from_flags, sources = server_config_and_sources(path, host="127.0.0.5", port=6002, env=env)
    assert (from_flags.host, from_flags.port) == ("127.0.0.5", 6002)
    assert (sources["host"], sources["port"]) == ("flag --host", "flag --port")
    assert from_flags.server_id == dev.ID


def test_a_starting_node_describes_its_identity_and_port_but_never_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, f'server_prvkey = "{OWNER_KEY}"\nport = 50123\n')
    config, sources = server_config_and_sources(path, env={"COLONIES_SERVER_PORT": "50080"})
    lines = describe_start(config, sources)
    assert lines[0] == f"server id {crypto.id_from_private_key(OWNER_KEY)} from config {path} (server_prvkey)"
    assert lines[1] == f"port 50123 from config {path}, host 127.0.0.1 from default"
    assert OWNER_KEY not in "".join(lines)


def test_server_config_derives_id_from_private_key(tmp_path: Path) -> None:
    path = write(tmp_path, f'[node]\nserver_prvkey = "{OWNER_KEY}"\n')
    assert build_server_config(path, env={}).server_id == crypto.id_from_private_key(OWNER_KEY)
    env = {"COLONIES_SERVER_PRVKEY": dev.SERVER_PRVKEY}
    assert build_server_config(None, env=env).server_id == dev.SERVER_ID


def test_server_config_fills_build_version(tmp_path: Path) -> None:
    path = write(tmp_path, f'server_id = "{dev.ID}"\n')
    assert build_server_config(path, env={}).build_version == package_version()
    assert build_server_config(path, env={"BUILD_VERSION": "v9"}).build_version == "v9"


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ("", {}, "no server id"),
        ('server_id = "abc"', {}, "64 hex"),
        ('server_prvkey = "zz"', {}, "not a valid private key"),
        (f'server_id = "{dev.ID}"\nserver_prvkey = "{OWNER_KEY}"', {}, "does not match"),
        (f'server_id = "{dev.ID}"\ntls_cert = "/x.pem"', {}, "both tls_cert and tls_key"),
        (f'server_id = "{dev.ID}"\ntls_cert = "/no/c.pem"\ntls_key = "/no/k.pem"', {}, "no such file"),
        (f'server_id = "{dev.ID}"\nport = "x"', {}, "invalid configuration value: port must be an int"),
        (f'server_id = "{dev.ID}"', {"COLONIES_SERVER_PORT": "70000"}, "0..65535"),
        (f'server_id = "{dev.SERVER_ID}"\nhost = "10.1.2.3"', {}, "public dev server id"),
        (f'server_id = "{dev.ID}"\nhost = "10.1.2.3"\ndev = true', {}, "loopback only"),
        ("port = ", {}, "invalid TOML"),
    ],
)
def test_server_config_refuses(tmp_path: Path, toml: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_server_config(write(tmp_path, toml), env=env)


def test_server_config_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        build_server_config(tmp_path / "missing.toml", env={})


def test_resolve_server_id_normalises_case() -> None:
    assert resolve_server_id(NodeConfig(server_id=dev.ID.upper())) == dev.ID


# --- shipped configs ---------------------------------------------------------------------------

def test_dev_toml_is_a_loopback_dev_node() -> None:
    config = build_server_config(CONFIGS / "dev.toml", env={})
    assert config.host == "127.0.0.1"
    assert config.server_id == dev.SERVER_ID
    assert config.dev is True
    assert config.store_url == "" and config.data_dir == "./data"


def test_production_toml_needs_an_identity_and_has_no_unknown_keys() -> None:
    with pytest.raises(ConfigError, match="no server id"):
        build_server_config(CONFIGS / "production.toml", env={})
    config = build_server_config(CONFIGS / "production.toml", env={"COLONIES_SERVER_ID": dev.ID})
    assert config.host == "127.0.0.1"
    assert config.dev is False


def test_configs_never_bind_all_interfaces() -> None:
    for path in CONFIGS.glob("*.toml"):
        assert "0.0.0.0" not in path.read_text(), path


# --- dev config --------------------------------------------------------------------------------

def test_dev_port_precedence() -> None:
    assert dev_port(None, {}) == DEFAULT_PORT == 50080
    assert dev_port(None, {"COLONIES_SERVER_PORT": "50100"}) == 50100
    assert dev_port(50200, {"COLONIES_SERVER_PORT": "50100"}) == 50200
    assert dev_port(0, {}) == 0
    with pytest.raises(ConfigError):
        dev_port(None, {"COLONIES_SERVER_PORT": "x"})


def test_build_dev_config() -> None:
    config = build_dev_config(data_dir="/tmp/d", env={})
    assert (config.host, config.port, config.store_url) == ("127.0.0.1", 50080, "")
    assert config.server_id == dev.SERVER_ID and config.dev is True
    assert config.data_dir == "/tmp/d"
    env = {"COLONIES_STORE_URL": "sqlite:///env.db", "COLONIES_SERVER_PORT": "50111"}
    from_env = build_dev_config(data_dir="", env=env)
    assert (from_env.port, from_env.store_url) == (50111, "sqlite:///env.db")
    from_flags = build_dev_config(data_dir="", port=1, store_url="sqlite:///flag.db", env=env)
    assert (from_flags.port, from_flags.store_url) == (1, "sqlite:///flag.db")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.1", "example.org", ""])
def test_dev_refuses_non_loopback(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(ConfigError, match="loopback only"):
        build_dev_config(data_dir="", host=host, env={})


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_dev_accepts_loopback(host: str) -> None:
    assert build_dev_config(data_dir="", host=host, env={}).host == host


def test_export_lines_are_shell_safe() -> None:
    lines = export_lines(dev.client_env("127.0.0.1", 50123))
    assert "export COLONIES_SERVER_PORT=50123" in lines
    assert f"export COLONIES_PRVKEY={dev.PRVKEY}" in lines
    assert export_lines({"X": "a b'c"}) == ["export X=" + shlex.quote("a b'c")]


# --- serve loop with a fake node ---------------------------------------------------------------

@dataclass
class FakeNode:
    config: NodeConfig
    port: int = 4242
    calls: list[str] = field(default_factory=list)
    stop_after_start: bool = False

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    async def start(self) -> None:
        self.calls.append("start")
        if self.stop_after_start:
            asyncio.get_running_loop().call_later(0.05, signal.raise_signal, signal.SIGTERM)

    async def stop(self) -> None:
        self.calls.append("stop")


@pytest.mark.parametrize("is_dev", [True, False])
async def test_serve_starts_announces_and_stops(is_dev: bool) -> None:
    nodes: list[FakeNode] = []
    stop = asyncio.Event()

    def factory(config: NodeConfig) -> FakeNode:
        nodes.append(FakeNode(config))
        return nodes[-1]

    def on_ready(node: serve_mod.ServedNode) -> None:
        nodes[0].calls.append("ready")
        stop.set()

    await serve_mod.serve(NodeConfig(dev=is_dev), on_ready, stop=stop, node_factory=factory)
    assert nodes[0].calls == ["start", "ready", "stop"]


async def test_serve_stops_node_when_announcing_fails() -> None:
    node = FakeNode(NodeConfig())

    def on_ready(_: serve_mod.ServedNode) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await serve_mod.serve(NodeConfig(), on_ready, node_factory=lambda _: node)
    assert node.calls == ["start", "stop"]


async def test_serve_stops_on_sigterm() -> None:
    node = FakeNode(NodeConfig(), stop_after_start=True)
    await asyncio.wait_for(serve_mod.serve(NodeConfig(), lambda _: None, node_factory=lambda _: node), 5)
    assert node.calls == ["start", "stop"]
    # the handler is removed again: the default disposition is back
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


# --- typer app ---------------------------------------------------------------------------------

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"colonies {package_version()}"
    as_json = json.loads(runner.invoke(app, ["version", "--json"]).output)
    assert as_json["version"] == package_version()
    assert {"buildversion", "buildtime", "python", "eventloop"} <= as_json.keys()


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    for name in ("dev", "server", "version"):
        assert name in result.output
    for args in (["dev", "--help"], ["server", "start", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "--port" in result.output, result.output


def test_cli_refuses_bad_configs() -> None:
    result = runner.invoke(app, ["dev", "--host", "0.0.0.0"])
    assert result.exit_code == 1 and "loopback only" in result.output
    result = runner.invoke(app, ["server", "start"])
    assert result.exit_code == 1 and "no server id" in result.output


def _fake_factory(made: list[FakeNode]) -> serve_mod.NodeFactory:
    def factory(config: NodeConfig) -> FakeNode:
        made.append(FakeNode(config, stop_after_start=True))
        return made[-1]

    return factory


def test_cli_dev_prints_exports_and_removes_temp_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[FakeNode] = []
    monkeypatch.setattr(serve_mod, "_default_factory", _fake_factory(made))
    result = runner.invoke(app, ["dev", "--port", "0", "--no-executor"])  # a fake node: nothing to run against
    assert result.exit_code == 0, result.output
    config = made[0].config
    assert config.dev and config.port == 0 and config.server_id == dev.SERVER_ID
    assert made[0].calls == ["start", "stop"]
    assert "export COLONIES_SERVER_PORT=4242" in result.output.splitlines()
    assert "ready" in result.output and "http://127.0.0.1:4242" in result.output
    assert not Path(config.data_dir).exists()


def test_cli_dev_keeps_given_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    made: list[FakeNode] = []
    monkeypatch.setattr(serve_mod, "_default_factory", _fake_factory(made))
    data_dir = tmp_path / "new" / "data"
    result = runner.invoke(app, ["dev", "--no-executor", "--data-dir", str(data_dir)], env={"COLONIES_SERVER_PORT": "50999"})
    assert result.exit_code == 0, result.output
    assert made[0].config.port == 50999
    assert made[0].config.data_dir == str(data_dir) and data_dir.is_dir()


def test_cli_server_start_uses_config_and_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    made: list[FakeNode] = []
    monkeypatch.setattr(serve_mod, "_default_factory", _fake_factory(made))
    path = write(tmp_path, f'[node]\nport = 6000\nserver_prvkey = "{OWNER_KEY}"\ndata_dir = "{tmp_path / "d"}"\n')
    result = runner.invoke(app, ["server", "start", "--config", str(path), "--port", "0"])
    assert result.exit_code == 0, result.output
    config = made[0].config
    assert config.port == 0 and config.server_id == crypto.id_from_private_key(OWNER_KEY)
    assert made[0].calls == ["start", "stop"]
    assert (tmp_path / "d").is_dir()
    assert OWNER_KEY not in result.output


def test_cli_server_start_binds_the_config_port_over_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    made: list[FakeNode] = []
    monkeypatch.setattr(serve_mod, "_default_factory", _fake_factory(made))
    path = write(tmp_path, f'[node]\nport = 50123\nserver_prvkey = "{OWNER_KEY}"\ndata_dir = "{tmp_path / "d"}"\n')
    env = dict(dev.client_env("127.0.0.1", 50080))  # the dev exports pasted into the shell
    result = runner.invoke(app, ["server", "start", "--config", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert made[0].config.port == 50123
    assert made[0].config.server_id == crypto.id_from_private_key(OWNER_KEY) != dev.SERVER_ID
    assert f"port 50123 from config {path}" in result.output
    assert f"server id {made[0].config.server_id} from config {path} (server_prvkey)" in result.output
    assert OWNER_KEY not in result.output and dev.SERVER_PRVKEY not in result.output


def test_cli_server_start_names_an_unknown_key(tmp_path: Path) -> None:
    path = write(tmp_path, f'[node]\nprot = 50123\nserver_id = "{dev.ID}"\n')
    result = runner.invoke(app, ["server", "start", "--config", str(path)])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {path}: unknown config key 'prot' (did you mean 'port'?)"


def test_cli_dev_says_where_its_port_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[FakeNode] = []
    monkeypatch.setattr(serve_mod, "_default_factory", _fake_factory(made))
    result = runner.invoke(app, ["dev", "--no-executor"], env={"COLONIES_SERVER_PORT": "50999"})
    assert result.exit_code == 0, result.output
    assert made[0].config.port == 50999  # the fake node says it bound 4242
    assert "# port 4242 from env COLONIES_SERVER_PORT" in result.output
    result = runner.invoke(app, ["dev", "--no-executor", "--port", "0"], env={"COLONIES_SERVER_PORT": "50999"})
    assert made[1].config.port == 0 and "# port 4242, a free one (--port 0)" in result.output
    result = runner.invoke(app, ["dev", "--no-executor", "--port", "4242"], env={"COLONIES_SERVER_PORT": "50999"})
    assert "# port 4242 from flag --port" in result.output
