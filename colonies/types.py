"""Constrained wire types: values a Go server would refuse are refused at decoding (400)."""
from __future__ import annotations

from typing import Annotated

import msgspec

Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
