"""A map-reduce workflow: one `count_words` process per line of a text, then one `total` that
depends on all of them and adds their outputs up. Prints the total.

    python examples/map_reduce.py [FILE]      (default: this file's docstring)
"""
from __future__ import annotations

import sys
from pathlib import Path

from _env import colony, node_url, prvkey

from colonies.client import Client, func_spec
from colonies.models import SUCCESS, WorkflowSpec

TYPE = "wordcount"


def workflow(lines: list[str]) -> WorkflowSpec:
    maps = [func_spec("count_words", colony(), TYPE, args=[line], nodename=f"map-{i}") for i, line in enumerate(lines)]
    reduce = func_spec("total", colony(), TYPE, nodename="reduce", dependencies=[m.nodename for m in maps])
    return WorkflowSpec(colonyname=colony(), functionspecs=[*maps, reduce])


def main() -> int:
    text = Path(sys.argv[1]).read_text() if len(sys.argv) > 1 else (__doc__ or "")
    lines = [line for line in text.splitlines() if line.strip()]
    with Client(node_url(), prvkey()) as client:
        graph = client.submit_workflow(workflow(lines))
        processes = [client.get_process(pid) for pid in client.get_processgraph(graph.processgraphid).processids]
        last = next(p for p in processes if p.spec.nodename == "reduce")
        done = client.wait(last, timeout=60)
    if done.state != SUCCESS:
        print(done.errors, file=sys.stderr)
        return 1
    print(f"{len(lines)} lines, {done.output[0]} words")
    return 0


if __name__ == "__main__":
    sys.exit(main())
