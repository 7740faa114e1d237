"""The functions of the map-reduce example, run by the python built-in executor:

    colonies executor start --type wordcount --module examples.wordcount --parallel 4
"""
from __future__ import annotations

from colonies.executor import current_process


def count_words(text: str) -> int:
    """Map: the words in one piece of text."""
    return len(text.split())


def total() -> int:
    """Reduce: its `in` holds the outputs of the processes it depends on."""
    return sum(current_process().input)
