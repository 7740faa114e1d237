from colonies import dev
from tests.support.rpc import call


def test_node_answers_version_without_signature(node):
    reply = call(node.url, {"msgtype": "versionmsg"}, None)
    assert reply["msgtype"] == "versionmsg"


def test_fresh_colony_is_listed_for_the_server_owner(node, colony):
    names = [c["name"] for c in call(node.url, {"msgtype": "getcoloniesmsg"}, dev.SERVER_PRVKEY)]
    assert colony.name in names


async def test_a_dev_node_has_its_colony_and_executor_before_it_listens(tmp_path, store_url):
    from colonies.node.config import NodeConfig
    from colonies.node.server import Node

    config = NodeConfig(dev=True, host="127.0.0.1", port=0, data_dir=str(tmp_path), store_url=store_url, server_id=dev.SERVER_ID)
    node = Node(config)
    await node.start()
    try:
        assert node.core.directory.colony(dev.COLONY_NAME) is not None
        assert node.core.directory.executor(dev.COLONY_NAME, dev.EXECUTOR_NAME) is not None
    finally:
        await node.stop()
