"""Go-compatible timestamps: nanoseconds since the epoch <-> RFC 3339 with nanoseconds."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from functools import lru_cache

ZERO_TIME = "0001-01-01T00:00:00Z"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def now_ns() -> int:
    return time.time_ns()


def format_ns(ns: int) -> str:
    """RFC 3339 in UTC with trailing zeros of the fraction trimmed, as Go's RFC3339Nano; 0 → Go zero time."""
    if ns <= 0:
        return ZERO_TIME
    seconds, fraction = divmod(ns, 1_000_000_000)
    text = _second(seconds)
    if fraction:
        text += "." + f"{fraction:09d}".rstrip("0")
    return text + "Z"


@lru_cache(maxsize=4096)
def _second(seconds: int) -> str:
    """The date and time of a second (the times of a process's life share few seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def parse_to_ns(text: str) -> int:
    """Parse an RFC 3339 timestamp (any fraction length, Z or offset); the Go zero time → 0."""
    if not text or text.startswith("0001-01-01"):
        return 0
    try:
        return _parse(text)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"Invalid RFC 3339 timestamp {text!r}") from None


def _parse(text: str) -> int:
    body = text.strip()
    fraction_ns = 0
    tz = ""
    if body.endswith("Z") or body.endswith("z"):
        body, tz = body[:-1], "+00:00"
    else:
        tz, body = body[-6:], body[:-6]
    if "." in body:
        body, frac = body.split(".", 1)
        fraction_ns = int(frac[:9].ljust(9, "0"))
    parsed = datetime.fromisoformat(body + tz)
    return int((parsed - _EPOCH).total_seconds()) * 1_000_000_000 + fraction_ns
