"""Every `colonies …` command line in docs/ and the README names a command and flags that exist."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

from colonies.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
ROOT_COMMAND = typer.main.get_command(app)


def command_lines() -> list[tuple[str, str]]:
    """(page, line) for inline `colonies WORD …` spans and `colonies …` lines in code blocks."""
    found = []
    for page in PAGES:
        text = page.read_text()
        name = page.relative_to(ROOT).as_posix()
        found += [(name, span) for span in re.findall(r"`(colonies [a-z][^`]*)`", text)]
        for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
            found += [(name, line.strip()) for line in block.splitlines() if re.match(r"^\s*(\$ )?colonies [a-z]", line)]
    return found


def resolve(words: list[str]) -> tuple[Any, list[str]]:
    """The deepest command the words name, and the words after it."""
    command, rest = ROOT_COMMAND, words
    while rest and rest[0] in getattr(command, "commands", {}):
        command, rest = command.commands[rest[0]], rest[1:]
    return command, rest


@pytest.mark.parametrize(("page", "line"), command_lines())
def test_a_documented_command_and_its_flags_exist(page: str, line: str) -> None:
    words = line.removeprefix("$ ").split()[1:]
    command, rest = resolve(words)
    assert command is not ROOT_COMMAND, f"{page}: `{line}` names no command"
    if hasattr(command, "commands") and rest:  # a group: a flag, a placeholder (COMMAND, …) or a choice a|b follows
        assert rest[0].startswith("-") or rest[0].isupper() or rest[0] == "…" or "|" in rest[0], f"{page}: `{line}`: no command {rest[0]!r}"
    known = {opt for param in command.params for opt in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]} | {"-h", "--help"}
    for flag in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", " ".join(rest)):
        assert flag in known, f"{page}: `{line}`: {' '.join(('colonies', *words[: len(words) - len(rest)]))} has no {flag}"
