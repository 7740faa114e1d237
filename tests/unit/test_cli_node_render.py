"""`colonies node` output from fake replies (no node), its help, and `colonies dev`'s loopback-only peers."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from colonies.cli import main as cli_main
from colonies.cli import node as cli_node
from colonies.cli.main import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
NOW = 1_798_675_200  # 2026-12-31T00:00:00Z
DAY = 86400
A, B, C = "a" * 64, "b" * 63 + "1", "c" * 63 + "2"
ENV = {"COLONIES_SERVER_PRVKEY": "1" * 64}


def status_reply(now: float) -> dict[str, Any]:
    return {
        "nodeid": A,
        "federation": "dev",
        "apiurl": "http://127.0.0.1:50080",
        "dhtaddress": "127.0.0.1:4000",
        "certexpires": int(now) + 30 * DAY + 60,
        "leaving": False,
        "forwardedout": 3,
        "forwardedin": 2,
        "peers": {
            B: {"apiurl": "http://127.0.0.1:50081", "waiting": 2, "running": 1, "forwardedin": 0, "reachable": True, "lastheard": int(now) - 3},
            C: {"apiurl": "http://127.0.0.1:50082", "waiting": 0, "running": 0, "forwardedin": 2, "reachable": False, "lastheard": 0},
        },
        "unforwardable": [{"colonyname": "dev", "executortype": "gpu", "waiting": 7}],
    }


def peers_reply(now: float) -> list[dict[str, Any]]:
    entry = {"node_id": B, "api_url": "http://127.0.0.1:50081", "colonyname": "dev", "live": 1, "waiting": 0, "running": 0}
    return [entry | {"executortype": "cpu", "lastseen": int(now) - 3}, entry | {"executortype": "", "lastseen": 0}]


def render(*renderables: Any, width: int) -> str:
    console = Console(width=width, force_terminal=True, color_system=None)
    with console.capture() as captured:
        for renderable in renderables:
            console.print(renderable)
    return captured.get()


def fake_node(monkeypatch: pytest.MonkeyPatch, reply: Any) -> list[str]:
    sent: list[str] = []

    def call(url: str, prvkey: str, msg: Any, timeout: float = 30.0) -> Any:
        sent.append(msg.msgtype)
        return reply

    monkeypatch.setattr(cli_node, "_call", call)
    return sent


# --- pure formatting ----------------------------------------------------------------------

def test_expiry_is_an_iso_utc_date_with_the_days_left() -> None:
    assert cli_node.expiry(NOW, NOW - 30 * DAY) == "2026-12-31T00:00:00Z (in 30 days)"
    assert cli_node.expiry(NOW, NOW - DAY - 5) == "2026-12-31T00:00:00Z (in 1 day)"
    assert cli_node.expiry(NOW, NOW - 5 * 3600) == "2026-12-31T00:00:00Z (in 5 h)"
    assert cli_node.expiry(NOW, NOW - 60) == "2026-12-31T00:00:00Z (in less than an hour)"
    assert cli_node.expiry(NOW, NOW + 10) == "2026-12-31T00:00:00Z (expired)"
    assert cli_node.expiry(NOW, NOW + 3 * DAY) == "2026-12-31T00:00:00Z (expired 3 days ago)"
    assert cli_node.expiry(None, NOW) == cli_node.expiry(0, NOW) == "—"


def test_relative_times() -> None:
    assert cli_node.ago(NOW - 3, NOW) == "3 s ago"
    assert cli_node.ago(NOW - 300, NOW) == "5 min ago"
    assert cli_node.ago(NOW - 3 * 3600, NOW) == "3 h ago"
    assert cli_node.ago(NOW - 4 * DAY, NOW) == "4 days ago"
    assert cli_node.ago(NOW + 5, NOW) == "0 s ago"  # the peer's clock runs ahead
    assert cli_node.ago(0, NOW) == "—" and cli_node.ago(0, NOW, zero="never") == "never"
    assert cli_node.ago(None, NOW) == "—"


# --- node status ------------------------------------------------------------------------

def test_status_shows_expiry_peers_and_unforwardable_types(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = fake_node(monkeypatch, status_reply(time.time()))
    result = runner.invoke(app, ["node", "status"], env=ENV)
    assert result.exit_code == 0, result.output
    assert sent == ["nodestatusmsg"]
    lines = result.output.splitlines()
    assert any(A in line for line in lines)  # whole ids, one line each, although not a terminal
    peer_b = next(line for line in lines if B in line)
    assert "http://127.0.0.1:50081" in peer_b and "yes" in peer_b and "s ago" in peer_b
    peer_c = next(line for line in lines if C in line)
    assert "no" in peer_c and "never" in peer_c
    assert "(in 30 days)" in result.output
    assert [cell.strip() for cell in next(line for line in lines if "gpu" in line).split("│")[1:4]] == ["dev", "gpu", "7"]


def test_status_json_is_the_raw_reply(monkeypatch: pytest.MonkeyPatch) -> None:
    reply = status_reply(NOW)
    fake_node(monkeypatch, reply)
    result = runner.invoke(app, ["node", "status", "--json"], env=ENV)
    assert result.exit_code == 0 and json.loads(result.output) == reply


def test_status_tolerates_a_reply_without_the_newer_fields() -> None:
    old = {"nodeid": A, "certexpires": NOW, "forwardedout": 1, "forwardedin": 0, "peers": {B: {"forwardedout": 1, "forwardedin": 0}}}
    text = render(*cli_node.status_view(old, NOW - 2 * DAY), width=200)
    assert A in text and B in text and "(in 2 days)" in text
    assert "unforwardable" not in text  # unknown, so not claimed to be empty
    assert "peers: none" in render(*cli_node.status_view({}, NOW), width=80)
    assert "unforwardable: none" in render(*cli_node.status_view({"unforwardable": []}, NOW), width=80)


def test_ids_fold_but_are_never_cut_on_a_narrow_terminal() -> None:
    views = {"status": cli_node.status_view(status_reply(NOW), NOW), "peers": [cli_node.peers_table(peers_reply(NOW), NOW)]}
    for name, view in views.items():
        text = render(*view, width=80)
        assert max(len(line) for line in text.splitlines()) <= 80, name
        assert "…" not in text, name
        first_column = "".join(line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│"))
        assert B in first_column, name


def test_peer_strings_are_not_rich_markup() -> None:
    reply = [{"node_id": B, "api_url": "http://127.0.0.1:1", "colonyname": "[bold]dev[/]", "executortype": "[red]x", "live": 1, "waiting": 0, "running": 0, "lastseen": 0}]
    text = render(cli_node.peers_table(reply, NOW), width=200)
    assert "[bold]dev[/]" in text and "[red]x" in text


# --- node peers -------------------------------------------------------------------------

def test_peers_table_shows_relative_last_seen_and_star_for_the_colony_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = fake_node(monkeypatch, peers_reply(time.time()))
    result = runner.invoke(app, ["node", "peers"], env=ENV)
    assert result.exit_code == 0, result.output
    assert sent == ["nodepeersmsg"]
    rows = [line for line in result.output.splitlines() if B in line]
    assert len(rows) == 2
    star, cpu = rows  # sorted by colony, type: "" first
    assert "│ *" in star and "—" in star
    assert "│ cpu" in cpu and "s ago" in cpu


def test_peers_json_and_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    reply = peers_reply(NOW)
    fake_node(monkeypatch, reply)
    assert json.loads(runner.invoke(app, ["node", "peers", "--json"], env=ENV).output) == reply
    fake_node(monkeypatch, [])
    result = runner.invoke(app, ["node", "peers"], env=ENV)
    assert result.exit_code == 0 and "no peers" in result.output


def test_leave_tolerates_missing_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_node(monkeypatch, {"handedback": 2})
    result = runner.invoke(app, ["node", "leave", "--wait", "0"], env=ENV)
    assert result.exit_code == 0 and "2 processes handed back, — still running" in result.output


# --- help -------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [[], ["status"], ["peers"], ["leave"], ["join"]])
def test_dash_h_is_help(command: list[str]) -> None:
    short = runner.invoke(app, ["node", *command, "-h"])
    assert short.exit_code == 0, short.output
    assert "Usage: colonies node" in short.output
    assert short.output == runner.invoke(app, ["node", *command, "--help"]).output


def test_every_node_option_has_help() -> None:
    group = typer.main.get_command(cli_node.app)
    commands = getattr(group, "commands")
    assert set(commands) == {"status", "peers", "leave", "join"}
    for name, command in commands.items():
        for param in command.params:
            if param.param_type_name == "option":
                assert getattr(param, "help", None), f"node {name} {param.opts}"


# --- colonies dev: loopback peers only ----------------------------------------------------

@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Configs `colonies dev` would run; no node is started."""
    for name in list(os.environ):
        if name.startswith("COLONIES_"):
            monkeypatch.delenv(name)
    configs: list[Any] = []
    monkeypatch.setattr(cli_main, "run_node", lambda config, on_ready, companion=None: configs.append(config))
    return configs


@pytest.mark.parametrize(
    "peers",
    [
        "http://10.0.0.2:50081",
        "http://127.0.0.1:50081,https://example.org:50081",
        "http://127.0.0.1@example.org:50081",  # userinfo: the host is example.org
        "http://[::ffff:127.0.0.1]:50081",
        "http://0.0.0.0:50081",
        "ftp://127.0.0.1:50081",
        "127.0.0.1:50081",
        "http://127.0.0.1:99999",
    ],
)
def test_dev_refuses_non_loopback_peers(started: list[Any], peers: str) -> None:
    result = runner.invoke(app, ["dev", "--port", "0", "--peers", peers])
    assert result.exit_code == 1
    assert started == []
    message = result.stderr.strip()
    assert message.startswith("error: colonies dev joins loopback peers only (got --peers ") and "\n" not in message


@pytest.mark.parametrize("bootstrap", ["10.0.0.2:4000", "example.org:4000", "127.0.0.1:4000,192.0.2.1:4000"])
def test_dev_refuses_non_loopback_bootstrap(started: list[Any], bootstrap: str) -> None:
    result = runner.invoke(app, ["dev", "--port", "0", "--dht-port", "4000", "--bootstrap", bootstrap])
    assert result.exit_code == 1 and started == []
    assert "loopback" in result.stderr and "\n" not in result.stderr.strip()


def test_dev_accepts_loopback_peers(started: list[Any]) -> None:
    peers = "http://127.0.0.1:50081, https://127.0.0.2:50082,http://[::1]:50083,http://LOCALHOST:50084,"
    result = runner.invoke(app, ["dev", "--port", "0", "--peers", peers, "--bootstrap", "localhost:4000,[::1]:4001"])
    assert result.exit_code == 0, result.output
    assert [c.federation_peers for c in started] == [peers]


# --- the docs name what exists --------------------------------------------------------------

def section(path: Path, heading: str) -> str:
    text = path.read_text()
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end >= 0 else len(text)]


def test_benchmarks_doc_federation_flags_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("bench_federation", ROOT / "benchmarks" / "federation.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)  # dataclasses look their module up there
    spec.loader.exec_module(bench)
    known = {opt for action in bench.build_parser()._actions for opt in action.option_strings}
    text = section(ROOT / "docs" / "benchmarks.md", "## Federation and DHT")
    spans = re.findall(r"`([^`]*)`", text[: text.index("benchmarks/dht.py")], re.S)
    named = {flag for span in spans if not span.startswith("colonies ") for flag in re.findall(r"--[a-z][a-z-]*", span)}
    assert named and named <= known
    source = (ROOT / "benchmarks" / "federation.py").read_text()
    for key in (span for span in spans if re.fullmatch(r"[a-z]+(_[a-z]+)+", span)):  # figures it prints
        assert f'"{key}"' in source, key
