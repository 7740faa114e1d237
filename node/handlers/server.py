"""Server info, version and statistics (spec §2.1)."""
from __future__ import annotations

from typing import Any

from colonies import __version__ as package_version
from colonies import models
from colonies.messages import GetClusterMsg, GetServerInfoMsg, GetStatisticsMsg, VersionMsg
from colonies.node.rpc import Call, rpc
from colonies.node.store import processes as pq
from colonies.node.store import directory as dq
from colonies.node.store import workflows as wq


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
    counts = await call.node.db.read(lambda conn: pq.count_by_state(conn, None))
    graphs = await call.node.db.read(lambda conn: wq.count_by_state(conn, None))
    executors = await call.node.db.read(dq.all_executors)
    return models.Statistics(
        colonies=len(call.node.directory.colonies),
        executors=sum(1 for e in executors if e.state != models.UNREGISTERED),
        activeexecutors=sum(1 for e in executors if e.state == models.APPROVED),
        unregisteredexecutors=sum(1 for e in executors if e.state == models.UNREGISTERED),
        waitingprocesses=counts.get(models.WAITING, 0),
        runningprocesses=counts.get(models.RUNNING, 0),
        successfulprocesses=counts.get(models.SUCCESS, 0),
        failedprocesses=counts.get(models.FAILED, 0),
        cancelledprocesses=counts.get(models.CANCELLED, 0),
        waitingworkflows=graphs.get(models.WAITING, 0),
        runningworkflows=graphs.get(models.RUNNING, 0),
        successfulworkflows=graphs.get(models.SUCCESS, 0),
        failedworkflows=graphs.get(models.FAILED, 0),
        cancelledworkflows=graphs.get(models.CANCELLED, 0),
    )


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
