"""The root of the `colonies` command: `-h` everywhere, shell completion, help on every flag."""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from colonies.cli.main import app

runner = CliRunner()


def commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and group under `group` (typer carries its own click: duck-typed)."""
    yield path, group
    if hasattr(group, "commands"):
        for name, command in sorted(group.commands.items()):
            yield from commands(command, (*path, name))


ALL = list(commands(typer.main.get_command(app)))


@pytest.mark.parametrize("path", [path for path, _ in ALL], ids=lambda path: " ".join(path) or "colonies")
def test_dash_h_is_help_on_every_command(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "-h"])
    assert result.exit_code == 0, result.output
    assert "Usage: colonies" in result.output


def test_every_command_and_every_flag_and_argument_has_help() -> None:
    missing = []
    for path, command in ALL:
        name = " ".join(("colonies", *path))
        if not (command.help or command.short_help):
            missing.append(name)
        for param in command.params:
            if param.name != "help" and not getattr(param, "help", None):
                missing.append(f"{name} {'/'.join(param.opts)}")
    assert missing == []


def test_shell_completion_is_offered_and_completes_commands() -> None:
    result = runner.invoke(app, ["--show-completion", "bash"])
    assert result.exit_code == 0 and "_colonies_completion" in result.output, result.output
    completed = subprocess.run(
        [sys.executable, "-m", "colonies.cli"],
        env={"_COLONIES_COMPLETE": "complete_bash", "COMP_WORDS": "colonies serv", "COMP_CWORD": "1", "PATH": ""},
        capture_output=True, text=True, timeout=60,
    )
    assert completed.stdout.split() == ["server"], completed.stdout + completed.stderr
