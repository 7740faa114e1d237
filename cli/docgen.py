"""docs/cli.md, generated from the typer app: `python -m colonies.cli.docgen > docs/cli.md`.

Every command, argument and option comes from the commands themselves (their docstrings and
help texts); what --help cannot say in a screen lives in cli/docnotes.py, next to the command it
belongs to. tests/unit/test_cli_docgen.py fails when docs/cli.md differs from this output."""
from __future__ import annotations

import enum
import os
import sys
from collections.abc import Iterator
from typing import Any

import typer

from .docnotes import INTRO, NOTES
from .main import app

REGENERATE = "python -m colonies.cli.docgen > docs/cli.md"
NONE = "—"


def _cell(text: str) -> str:
    """One markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _default(param: Any) -> str:
    if param.required:
        return "required"
    value = param.default
    if isinstance(value, enum.Enum):
        value = value.value
    if getattr(param, "is_flag", False) and isinstance(value, bool):
        if param.secondary_opts:
            return f"`{(param.opts if value else param.secondary_opts)[0]}`"
        return "off" if not value else "on"
    if value is None or value == "" or value == [] or value == ():
        return NONE
    if isinstance(value, list | tuple):
        return ", ".join(f"`{v}`" for v in value)
    return f"`{os.fspath(value) if isinstance(value, os.PathLike) else value}`"


def _name(param: Any) -> str:
    names = ", ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
    return f"{names} (repeatable)" if getattr(param, "multiple", False) else names


def _usage(path: tuple[str, ...], command: Any) -> str:
    words = ["colonies", *path]
    if any(p.param_type_name == "option" and not p.hidden for p in command.params):
        words.append("[OPTIONS]")
    if hasattr(command, "commands"):
        words.append("COMMAND [ARGS]...")
    for param in command.params:
        if param.param_type_name == "argument":
            shown = param.name.upper() + ("..." if param.nargs == -1 else "")
            words.append(shown if param.required else f"[{shown}]")
    return " ".join(words)


def _params(command: Any) -> list[str]:
    rows = []
    for param in command.params:
        if getattr(param, "hidden", False) or param.name == "help":
            continue
        kind = "argument" if param.param_type_name == "argument" else "option"
        name = f"`{param.name.upper()}`" if kind == "argument" else _name(param)
        envvar = param.envvar if isinstance(param.envvar, list | tuple) else [param.envvar] if param.envvar else []
        env = ", ".join(f"`{e}`" for e in envvar) or NONE
        rows.append(f"| {name} | {env} | {_default(param)} | {_cell(param.help or '')} |")
    if not rows:
        return []
    return ["| Option | Env | Default | Meaning |", "|---|---|---|---|", *rows, ""]


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every visible command and group, depth first, in the order the app lists them."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        if not getattr(sub, "hidden", False):
            yield from walk(sub, (*path, name))


def _section(path: tuple[str, ...], command: Any) -> list[str]:
    depth = min(max(len(path), 1), 3) + 1  # the root and groups ##, commands ###, deeper ####
    lines = [f"{'#' * depth} `{' '.join(('colonies', *path))}`", ""]
    if command.help:
        lines += [command.help.strip(), ""]
    lines += ["```", _usage(path, command), "```", ""]
    lines += _params(command)
    subcommands = getattr(command, "commands", {})
    if subcommands:
        lines += ["| Command | What it does |", "|---|---|"]
        lines += [f"| `{name}` | {_cell(sub.get_short_help_str(limit=200))} |" for name, sub in subcommands.items() if not sub.hidden]
        lines.append("")
    note = NOTES.get(" ".join(path))
    if note:
        lines += [note.strip(), ""]
    return lines


def generate() -> str:
    root = typer.main.get_command(app)
    lines = [INTRO.strip().format(regenerate=REGENERATE), ""]
    for path, command in walk(root):
        lines += _section(path, command)
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    sys.stdout.write(generate())


if __name__ == "__main__":
    main()
