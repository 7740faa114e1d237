"""Small SQL functions spelled differently per dialect."""
from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Boolean


class text_contains(FunctionElement[bool]):
    """`needle` occurs in `haystack` (plain substring; no LIKE wildcards, and cheap to plan)."""

    type = Boolean()
    inherit_cache = True
    name = "text_contains"


@compiles(text_contains)
def _default(element: text_contains, compiler: Any, **kw: Any) -> str:
    haystack, needle = list(element.clauses)
    return f"(position({compiler.process(needle, **kw)} in {compiler.process(haystack, **kw)}) > 0)"


@compiles(text_contains, "sqlite")
def _sqlite(element: text_contains, compiler: Any, **kw: Any) -> str:
    haystack, needle = list(element.clauses)
    return f"(instr({compiler.process(haystack, **kw)}, {compiler.process(needle, **kw)}) > 0)"


@compiles(text_contains, "postgresql")
def _postgresql(element: text_contains, compiler: Any, **kw: Any) -> str:
    haystack, needle = list(element.clauses)
    return f"(strpos({compiler.process(haystack, **kw)}, {compiler.process(needle, **kw)}) > 0)"
