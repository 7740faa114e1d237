"""A cron: every INTERVAL seconds the node submits a one-process workflow running `echo tick`
on the `colonies dev` shell executor (type `cli`). Prints the first RUNS outputs with the time each
run ended, then removes the cron.

    python examples/cron.py [RUNS] [INTERVAL]      (default: 2 runs, every 1 s)
"""
from __future__ import annotations

import sys
import time

from _env import colony, node_url, prvkey

from colonies.client import Client, func_spec
from colonies.models import WorkflowSpec


def main(runs: int = 2, interval: int = 1) -> int:
    workflow = WorkflowSpec(colonyname=colony(), functionspecs=[func_spec("echo", colony(), "cli", args=["tick"])])
    with Client(node_url(), prvkey()) as client:
        cron = client.add_cron(colony(), f"tick-every-{interval}s-{time.monotonic_ns()}", workflow, interval=interval)
        seen: list[str] = []
        try:
            while len(seen) < runs:
                graphid = client.get_cron(cron.cronid).prevprocessgraphid
                if not graphid or graphid in seen:
                    time.sleep(0.1)
                    continue
                seen.append(graphid)
                [processid] = client.get_processgraph(graphid).processids
                done = client.wait(processid, timeout=30)
                print(f"run {len(seen)}: {' '.join(map(str, done.output or done.errors))} at {done.endtime}", flush=True)
        finally:
            client.remove_cron(cron.cronid)
    return 0


if __name__ == "__main__":
    sys.exit(main(*(int(a) for a in sys.argv[1:3])))
