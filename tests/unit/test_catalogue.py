"""The node serves every message of upstream's catalogue (spec §2), CFS included; docs/protocol.md
lists the same set."""
from __future__ import annotations

from pathlib import Path

from colonies.node import handlers  # noqa: F401  (registers the handlers)
from colonies.node.rpc import ROUTES

PUBSUB_ONLY = {"subscribeprocessmsg", "subscribeprocessesmsg", "subscribechannelmsg"}
SERVED = {
    "versionmsg",
    "getserverinfomsg",
    "getstatisticsmsg",
    "getclustermsg",
    "changeserveridmsg",
    "changecolonyidmsg",
    "changeexecutoridmsg",
    "changeuseridmsg",
    "addcolonymsg",
    "removecolonymsg",
    "getcoloniesmsg",
    "getcolonymsg",
    "getcolonystatsmsg",
    "addusermsg",
    "getusersmsg",
    "getusermsg",
    "getuserbyidmsg",
    "removeusermsg",
    "addlocationmsg",
    "getlocationsmsg",
    "getlocationmsg",
    "removelocationmsg",
    "addexecutormsg",
    "getexecutorsmsg",
    "getexecutormsg",
    "getexecutorbyidmsg",
    "approveexecutormsg",
    "rejectexecutormsg",
    "removeexecutormsg",
    "reportallocationmsg",
    "updateexecutormsg",
    "addfunctionmsg",
    "getfunctionsmsg",
    "removefunctionmsg",
    "submitfuncspecmsg",
    "assignprocessmsg",
    "getprocessmsg",
    "getprocessesmsg",
    "getprocesshistmsg",
    "removeprocessmsg",
    "removeallprocessesmsg",
    "closesuccessfulmsg",
    "closefailedmsg",
    "setoutputmsg",
    "cancelprocessmsg",
    "pauseassignmentsmsg",
    "resumeassignmentsmsg",
    "getpausestatusmsg",
    "submitworkflowspecmsg",
    "getprocessgraphmsg",
    "getprocessgraphsmsg",
    "removeprocessgraphmsg",
    "removeallprocessgraphsmsg",
    "cancelprocessgraphmsg",
    "addchildmsg",
    "addattributemsg",
    "getattributemsg",
    "addlogmsg",
    "addexecutorlogmsg",
    "getlogsmsg",
    "searchlogsmsg",
    "addcronmsg",
    "getcronmsg",
    "getcronsmsg",
    "runcronmsg",
    "removecronmsg",
    "addgeneratormsg",
    "getgeneratormsg",
    "resolvegeneratormsg",
    "getgeneratorsmsg",
    "packgeneratormsg",
    "removegeneratormsg",
    "channelappendmsg",
    "channelreadmsg",
    "subscribechannelmsg",
    "subscribeprocessesmsg",
    "subscribeprocessmsg",
    "addblueprintdefinitionmsg",
    "getblueprintdefinitionmsg",
    "getblueprintdefinitionsmsg",
    "removeblueprintdefinitionmsg",
    "addblueprintmsg",
    "getblueprintmsg",
    "getblueprintsmsg",
    "updateblueprintmsg",
    "removeblueprintmsg",
    "getblueprinthistorymsg",
    "updateblueprintstatusmsg",
    "reconcileblueprintmsg",
}
CFS = {
    "addfilemsg",
    "getfilemsg",
    "getfilesmsg",
    "getfilelabelsmsg",
    "removefilemsg",
    "createsnapshotmsg",
    "getsnapshotmsg",
    "getsnapshotsmsg",
    "removesnapshotmsg",
    "removeallsnapshotmsg",
}
SERVED |= CFS
NOT_YET: set[str] = set()
# ours, no upstream counterpart (docs/protocol.md, after the catalogue)
OURS = {"nodestatusmsg", "nodepeersmsg", "nodeleavemsg", "nodeprocessmsg", "resolvefilesmsg"}
NEVER_SERVED_UPSTREAM = {"getnodemsg", "getnodesmsg", "getnodesbylocationmsg"}


def test_every_upstream_message_has_a_handler():
    missing = {t for t in SERVED - PUBSUB_ONLY if t not in ROUTES}
    assert missing == set()


def test_realtime_messages_are_not_on_the_api_route():
    assert PUBSUB_ONLY.isdisjoint(ROUTES)


def test_messages_upstream_does_not_serve_have_no_handler():
    assert NEVER_SERVED_UPSTREAM.isdisjoint(ROUTES)
    assert NOT_YET.isdisjoint(ROUTES)


def test_protocol_doc_lists_every_served_message():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    for msgtype in SERVED | NOT_YET:
        assert f"| `{msgtype}` |" in doc, msgtype


def test_every_route_is_upstreams_or_a_documented_one_of_ours():
    assert set(ROUTES) - SERVED == OURS
    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    for msgtype in OURS:
        assert f"`{msgtype}`" in doc, msgtype
