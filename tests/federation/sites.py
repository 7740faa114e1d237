"""Sites of a test federation: real nodes on loopback that know each other, hosting one colony."""
from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from colonies import crypto, dev
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


@contextlib.contextmanager
def running_federation(tmp_path: Path, names: list[str], **overrides: object) -> Iterator[Federation]:
    """Sites `names`, all hosting one colony with one user; stopped on exit."""
    sites = start_sites(tmp_path, names, **overrides)
    try:
        colony, owner, user = host_colony(sites)
        yield Federation(sites, colony, owner, user)
    finally:
        for site in sites.values():
            site.node.stop()
