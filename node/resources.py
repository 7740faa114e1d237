"""Parsing Kubernetes-style cpu and memory quantities ("500m", "2", "1Gi", "953Mi", "1G")."""
from __future__ import annotations

import math

UNLIMITED = 1 << 62
# Larger quantities are refused: they could not be compared with anything real anyway.
MAX_QUANTITY = 1 << 50

_MEM_UNITS = {
    "": 1,
    "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50,
}


class QuantityError(ValueError):
    pass


def cpu_millicores(text: str, *, empty: int = 0) -> int:
    """'500m' → 500, '2' → 2000 (upstream reads a bare number as 0; we read it as cores)."""
    value = text.strip()
    if not value:
        return empty
    try:
        number = float(value[:-1]) if value.endswith("m") else float(value) * 1000
    except ValueError:
        raise QuantityError(f"Invalid cpu quantity {text!r}") from None
    return _bounded(number, text, "cpu")


def mem_mebibytes(text: str, *, empty: int = 0) -> int:
    """'1Gi' → 1024, '1G' → 953, '512Mi' → 512, bytes otherwise."""
    value = text.strip()
    if not value:
        return empty
    for suffix in ("Ki", "Mi", "Gi", "Ti", "Pi", "k", "K", "M", "G", "T", "P"):
        if value.endswith(suffix):
            number, unit = value[: -len(suffix)], suffix
            break
    else:
        number, unit = value, ""
    try:
        mebibytes = float(number) * _MEM_UNITS[unit] / 2**20
    except ValueError:
        raise QuantityError(f"Invalid memory quantity {text!r}") from None
    return _bounded(mebibytes, text, "memory")


def _bounded(number: float, text: str, kind: str) -> int:
    if not math.isfinite(number) or number < 0 or number > MAX_QUANTITY:
        raise QuantityError(f"Invalid {kind} quantity {text!r}: must be a finite, non-negative amount")
    return int(number)
