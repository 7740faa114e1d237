"""Functions for the python executor's tests (`--module tests.support.builtin_functions`)."""
from __future__ import annotations

import asyncio

from colonies.executor import current_process


def add(a: int, b: int) -> int:
    return a + b


def greet(name: str, greeting: str = "hello", punctuation: str = "!") -> str:
    return f"{greeting} {name}{punctuation}"


async def slow_echo(value: str) -> list[str]:
    await asyncio.sleep(0)
    return [value, current_process().processid]


def boom(why: str) -> None:
    raise ValueError(why)


def _hidden() -> str:
    return "never registered"


def shout_files() -> int:
    """Upper-cases the files of the spec's fs dir /in/{processid} into /out/{processid}."""
    from colonies.builtin.python import local_dir

    source, target = local_dir("/in/{processid}"), local_dir("/out/{processid}")
    target.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in source.iterdir() if not p.name.startswith("."))
    for name in names:
        (target / name).write_text((source / name).read_text().upper())
    return len(names)
