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
