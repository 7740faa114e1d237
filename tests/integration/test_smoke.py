from colonies import dev
from tests.support.rpc import call


def test_node_answers_version_without_signature(node):
    reply = call(node.url, {"msgtype": "versionmsg"}, None)
    assert reply["msgtype"] == "versionmsg"


def test_fresh_colony_is_listed_for_the_server_owner(node, colony):
    names = [c["name"] for c in call(node.url, {"msgtype": "getcoloniesmsg"}, dev.SERVER_PRVKEY)]
    assert colony.name in names
