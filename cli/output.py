"""What the CLI prints: plain lines for things users paste, rich for messages."""
from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping

from rich.console import Console
from rich.markup import escape

# soft_wrap keeps long hex ids on one line so they can be copied.
out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


def export_lines(env: Mapping[str, str]) -> list[str]:
    return [f"export {name}={shlex.quote(value)}" for name, value in env.items()]


def print_plain(lines: list[str]) -> None:
    # print(), not rich: the lines must reach pipes and terminals byte-for-byte.
    for line in lines:
        print(line)
    sys.stdout.flush()


def ready(message: str) -> None:
    out.print(f"[bold green]ready[/] {escape(message)}")
    sys.stdout.flush()


def error(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
