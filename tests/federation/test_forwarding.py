"""Forwarding between real nodes on loopback: work goes where its executors are, results come back."""
from __future__ import annotations

import asyncio
import collections
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from pycolonies import Colonies

from colonies import crypto, dev
from colonies.client import AsyncClient, func_spec
from colonies.models import FAILED, SUCCESS, WAITING, WorkflowSpec
from colonies.wire import RPCError
from tests.support.nodes import RunningNode, start_node
from tests.support.rpc import call

AUTHORITY = crypto.generate_private_key()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Site:
    name: str
    node: RunningNode


@dataclass
class Federation:
    sites: dict[str, Site]
    colony: str
    owner: str
    user: str

    def url(self, site: str) -> str:
        return self.sites[site].node.url

    def add_executor(self, site: str, executortype: str) -> str:
        key = crypto.generate_private_key()
        name = f"{site}-{executortype}-{crypto.random_id()[:6]}"
        executor = {"executorid": crypto.id_from_private_key(key), "executortype": executortype, "executorname": name, "colonyname": self.colony}
        call(self.url(site), {"msgtype": "addexecutormsg", "executor": executor}, self.owner)
        call(self.url(site), {"msgtype": "approveexecutormsg", "colonyname": self.colony, "executorname": name}, self.owner)
        return key


def start_sites(tmp_path: Path, names: list[str], **overrides: object) -> dict[str, Site]:
    ports = {name: free_port() for name in names}
    sites = {}
    for name in names:
        peers = ",".join(f"http://127.0.0.1:{ports[other]}" for other in names if other != name)
        sites[name] = Site(
            name,
            start_node(
                tmp_path / name,
                port=ports[name],
                federation_authority_id=crypto.id_from_private_key(AUTHORITY),
                federation_authority_prvkey=AUTHORITY,
                federation_peers=peers,
                peer_timeout=2.0,
                **overrides,
            ),
        )
    return sites


def host_colony(sites: dict[str, Site]) -> tuple[str, str, str]:
    """The same colony (same id) with the same user at every site."""
    owner, user = crypto.generate_private_key(), crypto.generate_private_key()
    colony = f"fed-{crypto.random_id()[:8]}"
    for site in sites.values():
        call(site.node.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": crypto.id_from_private_key(owner), "name": colony}}, dev.SERVER_PRVKEY)
        member = {"colonyname": colony, "userid": crypto.id_from_private_key(user), "name": "alice", "email": "", "phone": ""}
        call(site.node.url, {"msgtype": "addusermsg", "user": member}, owner)
    return colony, owner, user


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[Federation]:
    sites = start_sites(tmp_path, ["a", "b", "c"])
    try:
        colony, owner, user = host_colony(sites)
        yield Federation(sites, colony, owner, user)
    finally:
        for site in sites.values():
            site.node.stop()


async def work(url: str, colony: str, key: str, stop: asyncio.Event, closed: collections.Counter[str]) -> None:
    """An executor loop: assign, close with the site's answer, until told to stop."""
    async with AsyncClient(url, key) as client:
        while not stop.is_set():
            try:
                process = await client.assign(colony, 1)
            except RPCError as err:
                assert err.status == 404, err
                continue
            closed[process.processid] += 1
            await client.close(process, [f"{process.spec.funcname}@{url}", *process.input])


async def test_processes_run_where_their_executor_type_lives_and_results_come_back(federation):
    b_cpu = federation.add_executor("b", "cpu")
    c_gpu = federation.add_executor("c", "gpu")
    stop = asyncio.Event()
    closed: collections.Counter[str] = collections.Counter()
    workers = [
        asyncio.ensure_future(work(federation.url("b"), federation.colony, b_cpu, stop, closed)),
        asyncio.ensure_future(work(federation.url("c"), federation.colony, c_gpu, stop, closed)),
    ]
    try:
        async with AsyncClient(federation.url("a"), federation.user) as a:
            total = 500
            submitted = []
            for start in range(0, total, 50):
                submitted += await asyncio.gather(
                    *(
                        a.submit(func_spec("cpu-job" if i % 2 else "gpu-job", federation.colony, "cpu" if i % 2 else "gpu"))
                        for i in range(start, start + 50)
                    )
                )
            deadline = asyncio.get_running_loop().time() + 120
            while asyncio.get_running_loop().time() < deadline:
                stats = await a.colony_stats(federation.colony)
                if stats.successfulprocesses == total:
                    break
                await asyncio.sleep(0.2)
        assert len(closed) == total and set(closed.values()) == {1}
        # the unmodified SDK sees every output at the origin, and wait() returns for a finished one
        origin = Colonies("127.0.0.1", federation.sites["a"].node.port)
        for process in submitted:
            seen = await asyncio.to_thread(origin.get_process, process.processid, federation.user)
            site = "b" if seen.spec.conditions.executortype == "cpu" else "c"
            assert seen.state == SUCCESS
            assert seen.output == [f"{seen.spec.funcname}@{federation.url(site)}"]
            assert seen.assignedexecutorid == federation.sites[site].node.node.core.federation.identity.node_id
        waited = await asyncio.to_thread(origin.wait, origin.get_process(submitted[0].processid, federation.user), 5, federation.user)
        assert waited.state == SUCCESS
    finally:
        stop.set()
        await asyncio.gather(*workers)


def test_pycolonies_sees_a_forwarded_process_finish_at_the_origin(federation):
    b_cpu = federation.add_executor("b", "cpu")
    origin = Colonies("127.0.0.1", federation.sites["a"].node.port)
    remote = Colonies("127.0.0.1", federation.sites["b"].node.port)
    spec = func_spec("hello", federation.colony, "cpu")
    from model import Conditions, FuncSpec

    process = origin.submit_func_spec(
        FuncSpec(funcname="hello", args=["world"], maxexectime=-1, conditions=Conditions(colonyname=federation.colony, executortype="cpu")),
        federation.user,
    )
    assigned = remote.assign(federation.colony, 10, b_cpu)
    assert assigned.spec.args == ["world"]
    remote.close(assigned.processid, ["hi from b"], b_cpu)
    finished = origin.wait(process, 10, federation.user)
    assert finished.state == SUCCESS and finished.output == ["hi from b"]
    assert spec.funcname == "hello"


async def test_a_three_step_workflow_crosses_three_sites_with_its_data(federation):
    a_local = federation.add_executor("a", "local")
    b_cpu = federation.add_executor("b", "cpu")
    c_gpu = federation.add_executor("c", "gpu")
    stop = asyncio.Event()
    closed: collections.Counter[str] = collections.Counter()
    workers = [
        asyncio.ensure_future(work(federation.url(site), federation.colony, key, stop, closed))
        for site, key in (("a", a_local), ("b", b_cpu), ("c", c_gpu))
    ]
    try:
        workflow = WorkflowSpec(
            colonyname=federation.colony,
            functionspecs=[
                func_spec("step1", federation.colony, "local"),
                func_spec("step2", federation.colony, "cpu", dependencies=["step1"]),
                func_spec("step3", federation.colony, "gpu", dependencies=["step2"]),
            ],
        )
        async with AsyncClient(federation.url("a"), federation.user) as a:
            graph = await a.submit_workflow(workflow)
            for _ in range(200):
                current = await a.get_processgraph(graph.processgraphid)
                if current.state in (SUCCESS, FAILED):
                    break
                await asyncio.sleep(0.1)
            assert current.state == SUCCESS
            last = [p for p in [await a.get_process(pid) for pid in current.processids] if p.spec.nodename == "step3"][0]
            assert last.output == [
                f"step3@{federation.url('c')}",
                f"step2@{federation.url('b')}",
                f"step1@{federation.url('a')}",
            ]
    finally:
        stop.set()
        await asyncio.gather(*workers)


async def test_nothing_is_forwarded_while_a_local_executor_is_live(federation):
    a_cpu = federation.add_executor("a", "cpu")
    federation.add_executor("b", "cpu")
    async with AsyncClient(federation.url("a"), a_cpu) as local, AsyncClient(federation.url("a"), federation.user) as a:
        with pytest.raises(RPCError):
            await local.assign(federation.colony, -1)  # makes this executor live
        process = await a.submit(func_spec("job", federation.colony, "cpu"))
        await asyncio.sleep(0.5)
        assert (await a.get_process(process)).state == WAITING
        assert (await local.assign(federation.colony, 2)).processid == process.processid
