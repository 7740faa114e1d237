"""Server info, version and statistics (spec §2.1)."""
from __future__ import annotations

from typing import Any

from colonies import __version__ as package_version
from colonies import models
from colonies.messages import GetClusterMsg, GetServerInfoMsg, GetStatisticsMsg, VersionMsg
from colonies.node.rpc import Call, rpc
from colonies.node.stats import statistics as node_statistics


def _build(call: Call) -> tuple[str, str]:
    config = call.node.config
    return config.build_version or package_version, config.build_time


@rpc("versionmsg", VersionMsg)
async def version(call: Call, msg: VersionMsg) -> dict[str, Any]:
    build_version, build_time = _build(call)
    return {"buildversion": build_version, "buildtime": build_time, "msgtype": "versionmsg"}


@rpc("getserverinfomsg", GetServerInfoMsg)
async def server_info(call: Call, msg: GetServerInfoMsg) -> models.ServerInfo:
    build_version, build_time = _build(call)
    config = call.node.config
    backend = models.Backend(type="http", port=call.node.listen_port or config.port, host=config.host, tls=bool(config.tls_cert))
    return models.ServerInfo(buildversion=build_version, buildtime=build_time, backends=[backend])


@rpc("getstatisticsmsg", GetStatisticsMsg)
async def statistics(call: Call, msg: GetStatisticsMsg) -> models.Statistics:
    call.require_server_owner()
    return await node_statistics(call.node, None)


@rpc("getclustermsg", GetClusterMsg)
async def cluster(call: Call, msg: GetClusterMsg) -> dict[str, Any]:
    """One node is its own cluster and leader (no etcd here); federation peers come with `colonies node peers`."""
    call.require_server_owner()
    config = call.node.config
    me = {
        "name": config.node_name or "node",
        "host": config.host,
        "port": 0,
        "peerport": 0,
        "relayport": 0,
        "apiport": call.node.listen_port or config.port,
    }
    return {"nodes": [me], "leader": me}
