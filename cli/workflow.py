"""`colonies workflow`: submit and follow workflows, DAGs of function specs (spec §2.7; upstream
`workflow`)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer

from colonies.models import FunctionSpec, ProcessGraph, WorkflowSpec

from . import common
from .common import ColonyOption, JsonOption, PrvKeyOption, UrlOption, WideOption
from .process import LISTINGS, state_name

app = common.group("Workflows: submit a workflow file, list by state, show, cancel, remove.")

WorkflowIdArgument = Annotated[str, typer.Argument(help="The workflow's (process graph's) id.", show_default=False)]
SHOWN_PROCESSES = 100  # `get` looks up at most this many of a workflow's processes


def load_workflow(path: Path, colonyname: str) -> WorkflowSpec:
    """A workflow file: a JSON list of function specs, or {"colonyname", "functionspecs"}. Specs
    without a colony get the workflow's, and the workflow gets `colonyname` when it names none."""
    document = common.load_json(path, WorkflowSpec | list[FunctionSpec])  # type: ignore[arg-type]
    workflow = document if isinstance(document, WorkflowSpec) else WorkflowSpec(functionspecs=document)
    name = workflow.colonyname or common.colony_name(colonyname)
    specs = []
    for spec in workflow.functionspecs or []:
        if not spec.conditions.colonyname:
            spec = msgspec.structs.replace(spec, conditions=msgspec.structs.replace(spec.conditions, colonyname=name))
        specs.append(spec)
    if not specs:
        common.fail(f"{path}: the workflow has no function specs")
    return WorkflowSpec(colonyname=name, functionspecs=specs)


@app.command()
def submit(
    spec_file: Annotated[Path, typer.Option("--spec", exists=True, dir_okay=False, help="The workflow (JSON).")],
    colony: ColonyOption = "",
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Submit a workflow: a JSON list of function specs whose conditions.dependencies name the
    nodenames they wait for (or an object with colonyname and functionspecs)."""
    workflow = load_workflow(spec_file, colony)
    with common.connect(url, common.member_key(prvkey)) as client:
        graph = client.submit_workflow(workflow)
    if as_json:
        common.print_json(graph)
    else:
        common.done(graph.processgraphid)


def workflow_listing(graphs: list[ProcessGraph], which: str, wide: bool) -> Any:
    now = time.time()
    listing = common.table("workflow id", "initiator", "processes", which)
    for g in graphs:
        moment = {"submitted": g.submissiontime, "started": g.starttime, "ended": g.endtime}[which]
        common.add_row(listing, common.short(g.processgraphid, wide), g.initiatorname, len(g.processids), common.since(moment, now))
    return listing


def _listing_command(name: str, state: int, which: str) -> None:
    def command(
        colony: ColonyOption = "",
        count: Annotated[int, typer.Option("--count", min=1, max=100, help="At most this many.")] = 100,
        url: UrlOption = "",
        prvkey: PrvKeyOption = "",
        as_json: JsonOption = False,
        wide: WideOption = False,
    ) -> None:
        colonyname = common.colony_name(colony)
        with common.connect(url, common.member_key(prvkey)) as client:
            graphs = client.list_processgraphs(colonyname, state, count)
        render = lambda items, wide: workflow_listing(items, which, wide)  # noqa: E731
        common.print_listing(graphs, as_json, wide, render, f"no {state_name(state)} workflows")

    command.__doc__ = f"The colony's {state_name(state)} workflows."
    app.command(name)(command)


for _name, (_state, _which, _) in LISTINGS.items():
    _listing_command(_name, _state, _which)


@app.command()
def get(
    processgraphid: WorkflowIdArgument,
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """Show a workflow and its processes (JSON: the process graph as the wire has it)."""
    with common.connect(url, common.member_key(prvkey)) as client:
        graph = client.get_processgraph(processgraphid)
        if as_json:
            common.print_json(graph)
            return
        processes = [client.get_process(pid) for pid in graph.processids[:SHOWN_PROCESSES]]
    summary = common.details([
        ("workflow id", graph.processgraphid),
        ("state", state_name(graph.state)),
        ("initiator", graph.initiatorname),
        ("submitted", common.when(graph.submissiontime)),
        ("started", common.when(graph.starttime)),
        ("ended", common.when(graph.endtime)),
        ("processes", len(graph.processids)),
    ])
    listing = common.table("node", "process id", "function", "state", "waits for")
    for p in processes:
        common.add_row(
            listing, p.spec.nodename, common.short(p.processid, wide), p.spec.funcname, state_name(p.state),
            ", ".join(p.spec.conditions.dependencies or []),
        )
    more = len(graph.processids) - len(processes)
    common.show(summary, listing, *([f"and {more} more processes"] if more > 0 else []), wide=wide)


common.id_command(app, "cancel", WorkflowIdArgument, "cancel_processgraph", "workflow {id} cancelled",
                  "Cancel a workflow: its waiting and running processes are cancelled.")
common.id_command(app, "remove", WorkflowIdArgument, "remove_processgraph", "workflow {id} removed",
                  "Remove a workflow that is not running, with its processes.")
common.removeall_command(app, "remove_all_processgraphs", "workflows", "Remove the colony's workflows (colony owner).")
