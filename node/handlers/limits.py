"""How much one reply may hold (docs/protocol.md, "Bounded replies and bulk removals"): replies
without a count of their own are cut at a fixed maximum. Bulk removals: node/domain/removals.py."""
from __future__ import annotations

# getprocesshistmsg, getblueprinthistorymsg: the newest entries
MAX_HISTORY = 1000
# getfunctionsmsg, getlocationsmsg, getblueprintdefinitionsmsg, getblueprintsmsg
MAX_LIST = 10_000
