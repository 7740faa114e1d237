"""`colonies server start` and `colonies dev` as a user runs them: a real node, as a subprocess and
through CliRunner, with the dev exports in the environment."""
from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from colonies import crypto, dev
from colonies.cli.main import app
from tests.federation.sites import free_port
from tests.support.env import clean_env

OWNER_KEY = "2" * 64
PASSWORD = "s3cretpw"
BAD_STORES = [
    f"postgresql+asyncpg://colonies:{PASSWORD}@127.0.0.1:1/colonies",  # nothing listens there
    f"mysql://colonies:{PASSWORD}@127.0.0.1/colonies",
    f"postgresql://colonies:{PASSWORD}@127.0.0.1:notaport/colonies",
    f"postgresql://colonies:p@{PASSWORD}@127.0.0.1:1/colonies",
    "sqlite:////nonexistent/dir/colonies.db",
    "not a url",
]


def dev_shell(port: int = 50080) -> dict[str, str]:
    """A shell where the user pasted `colonies dev`'s exports."""
    return clean_env() | dev.client_env("127.0.0.1", port)


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "colonies.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )


def lines_until_ready(process: subprocess.Popen[str]) -> list[str]:
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("ready"):
            return lines
    raise AssertionError(f"the node exited before it was ready: {lines}")


def test_server_start_binds_the_config_port_and_says_where_port_and_identity_came_from(tmp_path: Path) -> None:
    port, env_port = free_port(), free_port()
    config = tmp_path / "node.toml"
    config.write_text(f'[node]\nport = {port}\nserver_prvkey = "{OWNER_KEY}"\ndata_dir = "{tmp_path / "data"}"\n')
    process = start(["server", "start", "--config", str(config)], dev_shell(env_port))
    try:
        lines = lines_until_ready(process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as reply:
            assert reply.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    server_id = crypto.id_from_private_key(OWNER_KEY)
    assert f"server id {server_id} from config {config} (server_prvkey)" in lines
    assert f"port {port} from config {config}, host 127.0.0.1 from default" in lines
    assert lines[-1] == f"ready colonies node at http://127.0.0.1:{port}, server id {server_id}"
    shown = "\n".join(lines) + rest
    assert OWNER_KEY not in shown and dev.SERVER_PRVKEY not in shown
    assert process.returncode == 0


def test_server_start_with_a_misspelt_key_names_it_and_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text(f'[node]\nprot = 50123\nserver_id = "{dev.ID}"\n')
    process = start(["server", "start", "--config", str(config)], dev_shell())
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert out.strip() == f"error: {config}: unknown config key 'prot' (did you mean 'port'?)"


@pytest.mark.parametrize("url", BAD_STORES)
def test_a_bad_or_unreachable_store_url_is_one_line_without_the_password(tmp_path: Path, url: str) -> None:
    result = CliRunner().invoke(app, ["dev", "--port", "0", "--data-dir", str(tmp_path), "--store-url", url], env=dev_shell())
    assert result.exit_code == 1, result.output
    message = result.stderr.strip()
    assert message.startswith("error: cannot run the node: ") and "\n" not in message, message
    assert PASSWORD not in result.output + result.stderr and "Traceback" not in result.output


def test_server_start_with_an_unreachable_store_in_its_config_exits_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text(f'[node]\nport = 0\nserver_id = "{dev.ID}"\nstore_url = "{BAD_STORES[0]}"\n')
    process = start(["server", "start", "--config", str(config)], dev_shell())
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    last = out.strip().splitlines()[-1]
    assert last.startswith("error: cannot run the node: cannot open the store at postgresql+asyncpg://colonies:***@127.0.0.1:1/colonies")
    assert PASSWORD not in out and "Traceback" not in out
