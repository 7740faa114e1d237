"""An error as one line of text, for messages that reach users and logs."""
from __future__ import annotations


def one_line(err: BaseException, limit: int | None = None) -> str:
    """The error's text with its whitespace folded (its type name if it has none), cut to `limit`
    characters with "..." when longer."""
    text = " ".join(str(err).split()) or type(err).__name__
    if limit is not None and len(text) > limit:
        return text[: limit - 3] + "..."
    return text
