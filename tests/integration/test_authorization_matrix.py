"""The authorization matrix (issue 12, scope 6): every msgtype the node serves, sent by every role,
against the table of docs/security.md "Authorization matrix".

Each msgtype gets a fresh world (a colony with every kind of member and object, and another
colony) so that what one call changes cannot decide another's answer. A call is *denied* when the
node answers 403, *allowed* when it answers anything else below 500 (a 400 or 404 after the role
checks passed counts as allowed: the probes then use a value the node refuses after
authorizing, e.g. a malformed new id for the change-id messages). The roles expected to be
denied are asked first, so an allowed call cannot remove what a denied one is checked on.
"""
from __future__ import annotations

import base64
import json
from collections import defaultdict
import re
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from colonies import crypto, dev, wire
from colonies.models import OUT
from colonies.node import handlers  # noqa: F401  (registers every RPC handler)
from colonies.node.rpc import ROUTES
from tests.support.rpc import RPCFailure, call, post_raw

SECURITY_DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
ROLES = ("SO", "CO", "MU", "ME", "AE", "OC", "UE", "RE", "ST")
ALLOW, DENY = "✓", "–"

pytestmark = pytest.mark.one_store


@dataclass
class Key:
    prvkey: str
    id: str

    @staticmethod
    def new() -> "Key":
        prvkey = crypto.generate_private_key()
        return Key(prvkey, crypto.id_from_private_key(prvkey))


@dataclass
class World:
    """One colony with a member of each role and one object of each kind, and another colony."""

    url: str
    colony: str = field(default_factory=lambda: f"matrix-{secrets.token_hex(5)}")
    keys: dict[str, Key] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def as_(self, role: str, msg: dict[str, Any]) -> Any:
        return call(self.url, msg, self.keys[role].prvkey)

    def spec(self, executortype: str = "nobody", **extra: Any) -> dict[str, Any]:
        return {
            "funcname": "f",
            "maxexectime": -1,
            "maxwaittime": -1,
            "maxretries": -1,
            "conditions": {"colonyname": self.colony, "executortype": executortype},
            **extra,
        }

    def workflow(self) -> str:
        return json.dumps({"colonyname": self.colony, "functionspecs": [self.spec(nodename="a")]})

    def definition(self, kind: str) -> dict[str, Any]:
        names = {"kind": kind, "listKind": f"{kind}List", "singular": kind.lower(), "plural": f"{kind.lower()}s"}
        spec = {"group": "example.io", "version": "v1", "names": names, "scope": "Namespaced",
                "handler": {"executorType": "reconciler", "functionName": "reconcile"}}
        return {"kind": "BlueprintDefinition", "metadata": {"name": f"{kind.lower()}s", "colonyname": self.colony}, "spec": spec}

    def blueprint(self, name: str, replicas: int = 1) -> dict[str, Any]:
        return {"kind": "Database", "metadata": {"name": name, "colonyname": self.colony}, "spec": {"replicas": replicas}}

    def file(self, name: str) -> dict[str, Any]:
        s3 = {"server": "127.0.0.1", "port": 9000, "tls": False, "accesskey": "AK", "secretkey": "SK", "region": "",
              "encryptionkey": "", "encryptionalg": "", "object": f"obj-{name}", "bucket": "b"}
        return {"colonyname": self.colony, "label": "/lab", "name": name, "size": 1, "sequencenr": 1, "checksum": "c0ffee",
                "checksumalg": "SHA256", "ref": {"protocol": "s3", "s3object": s3}}

    def add_executor(self, role: str, name: str, executortype: str, *, approve: bool = True) -> None:
        key = self.keys[role] = Key.new()
        executor = {"executorid": key.id, "executortype": executortype, "executorname": name, "colonyname": self.colony}
        self.as_("CO", {"msgtype": "addexecutormsg", "executor": executor})
        if approve:
            self.as_("CO", {"msgtype": "approveexecutormsg", "colonyname": self.colony, "executorname": name})

    def build(self) -> "World":
        self.keys.update(SO=Key(dev.SERVER_PRVKEY, dev.SERVER_ID), CO=Key.new(), MU=Key.new(), OC=Key.new(), ST=Key.new())
        c = self.colony
        self.as_("SO", {"msgtype": "addcolonymsg", "colony": {"colonyid": self.keys["CO"].id, "name": c}})
        other, other_owner = f"{c}-other", Key.new()
        self.ids["other"] = other
        self.as_("SO", {"msgtype": "addcolonymsg", "colony": {"colonyid": other_owner.id, "name": other}})
        user = {"colonyname": other, "userid": self.keys["OC"].id, "name": "outsider", "email": "", "phone": ""}
        call(self.url, {"msgtype": "addusermsg", "user": user}, other_owner.prvkey)
        user = {"colonyname": c, "userid": self.keys["MU"].id, "name": "user", "email": "", "phone": ""}
        self.as_("CO", {"msgtype": "addusermsg", "user": user})
        self.add_executor("ME", "member", "test")
        self.add_executor("AE", "assigned", "solo")
        self.add_executor("UE", "pending", "test", approve=False)
        self.add_executor("RE", "rejected", "test")
        self.as_("CO", {"msgtype": "rejectexecutormsg", "colonyname": c, "executorname": "rejected"})
        # the running process P (of the assigned executor) and a waiting one W
        self.ids["P"] = self.as_("MU", {"msgtype": "submitfuncspecmsg", "spec": self.spec("solo", channels=["ch"])})["processid"]
        self.as_("AE", {"msgtype": "assignprocessmsg", "colonyname": c, "timeout": 5})
        self.ids["W"] = self.as_("MU", {"msgtype": "submitfuncspecmsg", "spec": self.spec()})["processid"]
        attribute = {"targetid": self.ids["P"], "targetcolonyname": c, "key": "k", "value": "v", "attributetype": OUT}
        self.ids["attribute"] = self.as_("AE", {"msgtype": "addattributemsg", "attribute": attribute})["attributeid"]
        self.as_("AE", {"msgtype": "addlogmsg", "processid": self.ids["P"], "message": "m"})
        fun = {"executorname": "member", "executortype": "test", "colonyname": c, "funcname": "f"}
        self.ids["function"] = self.as_("ME", {"msgtype": "addfunctionmsg", "fun": fun})["functionid"]
        self.as_("CO", {"msgtype": "addlocationmsg", "location": {"name": "loc", "colonyname": c}})
        cron = {"colonyname": c, "name": "cron", "interval": 3600, "workflowspec": self.workflow()}
        self.ids["cron"] = self.as_("MU", {"msgtype": "addcronmsg", "cron": cron})["cronid"]
        generator = {"colonyname": c, "name": "gen", "workflowspec": self.workflow(), "trigger": 1000, "timeout": -1}
        self.ids["generator"] = self.as_("MU", {"msgtype": "addgeneratormsg", "generator": generator})["generatorid"]
        self.ids["file"] = self.as_("MU", {"msgtype": "addfilemsg", "file": self.file("f")})["fileid"]
        snapshot = {"msgtype": "createsnapshotmsg", "colonyname": c, "label": "/lab", "name": "snap"}
        self.ids["snapshot"] = self.as_("MU", snapshot)["snapshotid"]
        self.as_("CO", {"msgtype": "addblueprintdefinitionmsg", "blueprintdefinition": self.definition("Database")})
        self.ids["blueprint"] = self.as_("MU", {"msgtype": "addblueprintmsg", "blueprint": self.blueprint("bp")})["blueprintid"]
        # a workflow whose root the assigned executor runs too (children are added by it)
        spec = {"colonyname": c, "functionspecs": [self.spec("solo", nodename="a")]}
        graph = self.as_("MU", {"msgtype": "submitworkflowspecmsg", "spec": spec})
        self.ids["graph"], self.ids["graph_process"] = graph["processgraphid"], graph["rootprocessids"][0]
        assert self.as_("AE", {"msgtype": "assignprocessmsg", "colonyname": c, "timeout": 5})["processid"] == self.ids["graph_process"]
        return self


def _probes() -> dict[str, Callable[[World], dict[str, Any]]]:
    """One request per msgtype, aimed at the world's objects."""
    P, W = (lambda w: w.ids["P"]), (lambda w: w.ids["W"])
    colony = lambda w: {"colonyname": w.colony}  # noqa: E731
    executor = lambda name: lambda w: {"colonyname": w.colony, "executorname": name}  # noqa: E731
    new_id = "not-an-id"  # refused by validation, after the role checks
    return {
        "addattributemsg": lambda w: {"attribute": {"targetid": P(w), "targetcolonyname": w.colony, "key": "k2", "value": "v", "attributetype": OUT}},
        "getattributemsg": lambda w: {"attributeid": w.ids["attribute"]},
        "addblueprintdefinitionmsg": lambda w: {"blueprintdefinition": w.definition("Cache")},
        "getblueprintdefinitionmsg": lambda w: {"colonyname": w.colony, "name": "databases"},
        "getblueprintdefinitionsmsg": colony,
        "removeblueprintdefinitionmsg": lambda w: {"namespace": w.colony, "name": "databases"},
        "addblueprintmsg": lambda w: {"blueprint": w.blueprint("bp2")},
        "getblueprintmsg": lambda w: {"namespace": w.colony, "name": "bp"},
        "getblueprintsmsg": lambda w: {"namespace": w.colony},
        "updateblueprintmsg": lambda w: {"blueprint": w.blueprint("bp", replicas=2)},
        "removeblueprintmsg": lambda w: {"namespace": w.colony, "name": "bp"},
        "getblueprinthistorymsg": lambda w: {"blueprintid": w.ids["blueprint"], "limit": 5},
        "updateblueprintstatusmsg": lambda w: {"colonyname": w.colony, "blueprintname": "bp", "status": {"ready": True}},
        "reconcileblueprintmsg": lambda w: {"namespace": w.colony, "name": "bp"},
        "channelappendmsg": lambda w: {"processid": P(w), "name": "ch", "sequence": 1, "payload": base64.b64encode(b"hi").decode(), "payloadtype": "data"},
        "channelreadmsg": lambda w: {"processid": P(w), "name": "ch", "afterseq": 0, "limit": 10},
        "addcolonymsg": lambda w: {"colony": {"colonyid": Key.new().id, "name": f"{w.colony}-new"}},
        "removecolonymsg": colony,
        "getcoloniesmsg": lambda w: {},
        "getcolonymsg": colony,
        "getcolonystatsmsg": colony,
        "addcronmsg": lambda w: {"cron": {"colonyname": w.colony, "name": "cron2", "interval": 3600, "workflowspec": w.workflow()}},
        "getcronmsg": lambda w: {"cronid": w.ids["cron"]},
        "getcronsmsg": lambda w: {"colonyname": w.colony, "count": 10},
        "runcronmsg": lambda w: {"cronid": w.ids["cron"]},
        "removecronmsg": lambda w: {"cronid": w.ids["cron"]},
        "addexecutormsg": lambda w: {"executor": {"executorid": Key.new().id, "executortype": "test", "executorname": "new", "colonyname": w.colony}},
        "getexecutorsmsg": colony,
        "getexecutormsg": executor("member"),
        "getexecutorbyidmsg": lambda w: {"colonyname": w.colony, "executorid": w.keys["ME"].id},
        "approveexecutormsg": executor("pending"),
        "rejectexecutormsg": executor("pending"),
        "removeexecutormsg": executor("pending"),
        "reportallocationmsg": lambda w: {**executor("member")(w), "allocations": {"projects": {}}},
        "updateexecutormsg": lambda w: {**executor("member")(w), "capabilities": {}},
        "nodestatusmsg": lambda w: {},
        "nodepeersmsg": lambda w: {"colonyname": w.colony, "executortype": "test"},
        "nodeprocessmsg": lambda w: {"processid": P(w)},
        "nodeleavemsg": lambda w: {"wait": 0},
        "addfilemsg": lambda w: {"file": w.file("g")},
        "getfilemsg": lambda w: {"colonyname": w.colony, "fileid": w.ids["file"]},
        "getfilesmsg": lambda w: {"colonyname": w.colony, "label": "/lab"},
        "getfilelabelsmsg": colony,
        "removefilemsg": lambda w: {"colonyname": w.colony, "fileid": w.ids["file"]},
        # a new name each time: a taken one is a 500, as upstream (cfs/files.py)
        "createsnapshotmsg": lambda w: {"colonyname": w.colony, "label": "/lab", "name": f"snap-{secrets.token_hex(4)}"},
        "getsnapshotmsg": lambda w: {"colonyname": w.colony, "snapshotid": w.ids["snapshot"]},
        "getsnapshotsmsg": colony,
        "removesnapshotmsg": lambda w: {"colonyname": w.colony, "snapshotid": w.ids["snapshot"]},
        "removeallsnapshotmsg": colony,
        "resolvefilesmsg": lambda w: {"colonyname": w.colony, "label": "/lab", "count": 10},
        "addfunctionmsg": lambda w: {"fun": {"executorname": "member", "executortype": "test", "colonyname": w.colony, "funcname": "g"}},
        "getfunctionsmsg": executor("member"),
        "removefunctionmsg": lambda w: {"functionid": w.ids["function"]},
        "addgeneratormsg": lambda w: {"generator": {"colonyname": w.colony, "name": "gen2", "workflowspec": w.workflow(), "trigger": 1000, "timeout": -1}},
        "getgeneratormsg": lambda w: {"generatorid": w.ids["generator"]},
        "resolvegeneratormsg": lambda w: {"colonyname": w.colony, "generatorname": "gen"},
        "getgeneratorsmsg": lambda w: {"colonyname": w.colony, "count": 10},
        "packgeneratormsg": lambda w: {"generatorid": w.ids["generator"], "arg": "x"},
        "removegeneratormsg": lambda w: {"generatorid": w.ids["generator"]},
        "changeserveridmsg": lambda w: {"serverid": new_id},
        "changecolonyidmsg": lambda w: {"colonyname": w.colony, "colonyid": new_id},
        "changeexecutoridmsg": lambda w: {"colonyname": w.colony, "executorid": new_id},
        "changeuseridmsg": lambda w: {"colonyname": w.colony, "userid": new_id},
        "addlocationmsg": lambda w: {"location": {"name": "loc2", "colonyname": w.colony}},
        "getlocationsmsg": colony,
        "getlocationmsg": lambda w: {"colonyname": w.colony, "name": "loc"},
        "removelocationmsg": lambda w: {"colonyname": w.colony, "name": "loc"},
        "addlogmsg": lambda w: {"processid": P(w), "message": "m"},
        "addexecutorlogmsg": lambda w: {**executor("member")(w), "message": "m"},
        "getlogsmsg": lambda w: {"colonyname": w.colony, "processid": P(w), "count": 10},
        "searchlogsmsg": lambda w: {"colonyname": w.colony, "text": "m", "days": 1, "count": 10},
        "submitfuncspecmsg": lambda w: {"spec": w.spec()},
        "assignprocessmsg": lambda w: {"colonyname": w.colony, "timeout": -1},
        "closesuccessfulmsg": lambda w: {"processid": P(w), "out": []},
        "closefailedmsg": lambda w: {"processid": P(w), "errors": []},
        "setoutputmsg": lambda w: {"processid": P(w), "out": [1]},
        "getprocessmsg": lambda w: {"processid": P(w)},
        "getprocessesmsg": lambda w: {"colonyname": w.colony, "count": 10, "state": 0},
        "getprocesshistmsg": lambda w: {"colonyname": w.colony, "seconds": 60, "state": 0},
        "removeprocessmsg": lambda w: {"processid": W(w)},
        "removeallprocessesmsg": lambda w: {"colonyname": w.colony, "state": -1},
        "cancelprocessmsg": lambda w: {"processid": W(w)},
        "pauseassignmentsmsg": colony,
        "resumeassignmentsmsg": colony,
        "getpausestatusmsg": colony,
        "versionmsg": lambda w: {},
        "getserverinfomsg": lambda w: {},
        "getstatisticsmsg": lambda w: {},
        "getclustermsg": lambda w: {},
        "addusermsg": lambda w: {"user": {"colonyname": w.colony, "userid": Key.new().id, "name": "new", "email": "", "phone": ""}},
        "getusersmsg": colony,
        "getusermsg": lambda w: {"colonyname": w.colony, "name": "user"},
        "getuserbyidmsg": lambda w: {"colonyname": w.colony, "userid": w.keys["MU"].id},
        "removeusermsg": lambda w: {"colonyname": w.colony, "name": "user"},
        "submitworkflowspecmsg": lambda w: {"spec": {"colonyname": w.colony, "functionspecs": [w.spec(nodename="b")]}},
        "getprocessgraphmsg": lambda w: {"processgraphid": w.ids["graph"]},
        "getprocessgraphsmsg": lambda w: {"colonyname": w.colony, "count": 10, "state": 0},
        "removeprocessgraphmsg": lambda w: {"processgraphid": w.ids["graph"]},
        "removeallprocessgraphsmsg": lambda w: {"colonyname": w.colony, "state": -1},
        "cancelprocessgraphmsg": lambda w: {"processgraphid": w.ids["graph"]},
        "addchildmsg": lambda w: {
            "processgraphid": w.ids["graph"],
            "parentprocessid": w.ids["graph_process"],
            "childprocessid": "",
            "insert": False,
            "spec": w.spec(nodename="child"),
        },
    }


PROBES = _probes()


def documented_matrix() -> dict[str, dict[str, bool]]:
    """msgtype → role → allowed, from the table under "Authorization matrix" in docs/security.md."""
    text = SECURITY_DOC.read_text()
    section = text.split("## Authorization matrix", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, dict[str, bool]] = {}
    for line in section.splitlines():
        match = re.match(r"\|\s*`(\w+)`\s*\|(.*)\|\s*$", line)
        if match:
            cells = [cell.strip() for cell in match.group(2).split("|")]
            assert len(cells) == len(ROLES) and set(cells) <= {ALLOW, DENY}, line
            rows[match.group(1)] = {role: cell == ALLOW for role, cell in zip(ROLES, cells)}
    return rows


def answer(world: World, role: str, msgtype: str) -> int:
    msg = {"msgtype": msgtype, **PROBES[msgtype](world)}
    status, envelope = post_raw(world.url, wire.build_request(msg, world.keys[role].prvkey))
    assert status < 500, f"{msgtype} as {role}: {status} {envelope['payload']}"
    return status


def observed_row(url: str, msgtype: str, expected: dict[str, bool], roles: tuple[str, ...] = ROLES) -> dict[str, bool]:
    """Role → allowed for `msgtype` in a fresh world (roles expected denied asked first)."""
    world = World(url).build()
    try:
        return {role: answer(world, role, msgtype) != 403 for role in sorted(roles, key=lambda role: expected[role])}
    finally:
        for colony in (world.colony, world.ids["other"]):
            try:
                call(url, {"msgtype": "removecolonymsg", "colonyname": colony}, dev.SERVER_PRVKEY)
            except RPCFailure:
                pass  # removed by the probe itself


def test_every_served_msgtype_has_a_probe_and_a_row_in_the_matrix():
    documented = documented_matrix()
    served = set(ROUTES)
    assert sorted(served - set(documented)) == [], "msgtypes without a row in docs/security.md"
    assert sorted(set(documented) - served) == [], "rows in docs/security.md for msgtypes the node does not serve"
    assert sorted(served - set(PROBES)) == [], "msgtypes without a probe"


def test_no_stranger_and_no_other_colonys_member_is_allowed_anything_colony_scoped():
    for msgtype, row in documented_matrix().items():
        if msgtype in ("versionmsg", "getserverinfomsg"):
            continue
        assert not row["ST"] and not row["OC"], msgtype


@pytest.mark.parametrize("msgtype", sorted(PROBES))
def test_each_role_is_allowed_or_denied_as_the_matrix_says(node, msgtype):
    expected = documented_matrix().get(msgtype)
    assert expected is not None, f"{msgtype} has no row in docs/security.md"
    observed = observed_row(node.url, msgtype, expected)
    wrong = {role: ("allowed" if observed[role] else "denied") for role in ROLES if observed[role] != expected[role]}
    assert wrong == {}, f"{msgtype}: {wrong}"


@pytest.fixture(scope="module")
def world(node) -> Iterator[World]:
    built = World(node.url).build()
    yield built
    for colony in (built.colony, built.ids["other"]):
        call(node.url, {"msgtype": "removecolonymsg", "colonyname": colony}, dev.SERVER_PRVKEY)


def refusal(world: World, role: str, msg: dict[str, Any]) -> tuple[int, str]:
    status, envelope = post_raw(world.url, wire.build_request(msg, world.keys[role].prvkey))
    return status, envelope["payload"]["message"] if envelope["error"] else ""


def _naming_a_colony() -> list[str]:
    """The msgtypes whose probe names the colony (the others name ids only)."""
    sample = World("", colony="SAMPLE-COLONY", keys=defaultdict(lambda: Key("", "")), ids=defaultdict(str))
    return sorted(msgtype for msgtype, probe in PROBES.items() if sample.colony in json.dumps(probe(sample)))


NAMING_A_COLONY = _naming_a_colony()


@pytest.mark.parametrize("msgtype", NAMING_A_COLONY)
@pytest.mark.parametrize("role", ["ST", "OC"])
def test_an_outsider_cannot_tell_an_existing_colony_name_from_others(world, msgtype, role):
    """Issue 12, item 8: the same status and message for a colony that does not exist."""
    unknown = replace(world, colony=f"nowhere-{secrets.token_hex(5)}")
    on_existing = refusal(world, role, {"msgtype": msgtype, **PROBES[msgtype](world)})
    on_unknown = refusal(unknown, role, {"msgtype": msgtype, **PROBES[msgtype](unknown)})
    assert on_existing[0] == 403
    assert (on_unknown[0], on_unknown[1].replace(unknown.colony, world.colony)) == on_existing
