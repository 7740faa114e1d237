"""Wire models with the exact JSON field names of the upstream protocol (spec §3).

Inbound fields that real clients may send as `null` are declared nullable and normalised by the
node; outbound lists are always lists (pycolonies rejects `null` for several of them).
Times travel as RFC 3339 strings (see `colonies.timefmt`).
"""
from __future__ import annotations

from typing import Any

import msgspec

from colonies.types import Int64

from colonies.timefmt import ZERO_TIME

# Process states (spec §3.6)
WAITING, RUNNING, SUCCESS, FAILED, CANCELLED = 0, 1, 2, 3, 4
PROCESS_STATES = (WAITING, RUNNING, SUCCESS, FAILED, CANCELLED)

# Executor states (spec §3.3)
PENDING, APPROVED, REJECTED, UNREGISTERED = 0, 1, 2, 3

# Attribute types (spec §3.8)
IN, OUT, ERR, ENV = 0, 1, 2, 3


class Model(msgspec.Struct, kw_only=True):
    """Base: keyword construction, unknown inbound fields ignored (as Go's encoding/json does)."""


class Colony(Model):
    colonyid: str = ""
    name: str = ""


class User(Model):
    colonyname: str = ""
    userid: str = ""
    name: str = ""
    email: str = ""
    phone: str = ""


class Gpu(Model):
    name: str = ""
    mem: str = ""
    count: Int64 = 0
    nodecount: Int64 = 0


class Hardware(Model):
    model: str = ""
    nodes: Int64 = 0
    cpu: str = ""
    cores: Int64 = 0
    mem: str = ""
    storage: str = ""
    gpu: Gpu = msgspec.field(default_factory=Gpu)
    platform: str = ""
    architecture: str = ""
    network: list[str] | None = None


class Software(Model):
    name: str = ""
    type: str = ""
    version: str = ""


class Capabilities(Model):
    hardware: list[Hardware] | None = None
    software: list[Software] | None = None


class ProjectAllocation(Model):
    allocatedcpu: Int64 = 0
    usedcpu: Int64 = 0
    allocatedgpu: Int64 = 0
    usedgpu: Int64 = 0
    allocatedstorage: Int64 = 0
    usedstorage: Int64 = 0


class Allocations(Model):
    projects: dict[str, ProjectAllocation] | None = None


class Executor(Model):
    executorid: str = ""
    executortype: str = ""
    executorname: str = ""
    colonyname: str = ""
    state: Int64 = PENDING
    requirefuncreg: bool = False
    commissiontime: str = ZERO_TIME
    lastheardfromtime: str = ZERO_TIME
    locationname: str = ""
    capabilities: Capabilities = msgspec.field(default_factory=Capabilities)
    allocations: Allocations = msgspec.field(default_factory=Allocations)


class FunctionArg(Model):
    name: str = ""
    type: str = ""
    description: str = ""
    required: bool = False
    enum: list[str] | None = None


class Function(Model):
    functionid: str = ""
    executorname: str = ""
    executortype: str = ""
    colonyname: str = ""
    funcname: str = ""
    description: str = ""
    args: list[FunctionArg] | None = None
    counter: Int64 = 0
    minwaittime: float = 0.0
    maxwaittime: float = 0.0
    minexectime: float = 0.0
    maxexectime: float = 0.0
    avgwaittime: float = 0.0
    avgexectime: float = 0.0
    locationname: str = ""


class Conditions(Model):
    colonyname: str = ""
    executornames: list[str] | None = None
    executortype: str = ""
    locationname: str = ""
    dependencies: list[str] | None = None
    nodes: Int64 = 0
    cpu: str = ""
    processes: Int64 = 0
    processespernode: Int64 = 0
    mem: str = ""
    storage: str = ""
    gpu: Gpu | None = None
    walltime: Int64 = 0


class SnapshotMount(Model):
    snapshotid: str = ""
    label: str = ""
    dir: str = ""
    keepfiles: bool = False
    keepsnapshot: bool = False


class ConflictPolicy(Model):
    keeplocal: bool = False


class OnConflicts(Model):
    onstart: ConflictPolicy = msgspec.field(default_factory=ConflictPolicy)
    onclose: ConflictPolicy = msgspec.field(default_factory=ConflictPolicy)


class SyncDirMount(Model):
    label: str = ""
    dir: str = ""
    keepfiles: bool = False
    onconflicts: OnConflicts = msgspec.field(default_factory=OnConflicts)


class Filesystem(Model):
    mount: str = ""
    snapshots: list[SnapshotMount] | None = None
    dirs: list[SyncDirMount] | None = None


class FunctionSpec(Model):
    nodename: str = ""
    funcname: str = ""
    args: list[Any] | None = None
    kwargs: dict[str, Any] | None = None
    priority: Int64 = 0
    maxwaittime: Int64 = 0
    maxexectime: Int64 = 0
    maxretries: Int64 = 0
    conditions: Conditions = msgspec.field(default_factory=Conditions)
    label: str = ""
    fs: Filesystem | None = None
    env: dict[str, str] | None = None
    channels: list[str] | None = None

    def normalized(self) -> "FunctionSpec":
        """The spec as stored and returned: lists and maps never null, `["*"]` targets anyone."""
        cond = self.conditions
        names = [n for n in (cond.executornames or []) if n not in ("", "*")]
        conditions = msgspec.structs.replace(
            cond,
            executornames=names,
            dependencies=list(cond.dependencies or []),
            gpu=cond.gpu or Gpu(),
        )
        fs = self.fs or Filesystem()
        return msgspec.structs.replace(
            self,
            args=list(self.args or []),
            kwargs=dict(self.kwargs or {}),
            conditions=conditions,
            fs=Filesystem(mount=fs.mount, snapshots=list(fs.snapshots or []), dirs=list(fs.dirs or [])),
            env=dict(self.env or {}),
            channels=list(self.channels or []),
        )


class WorkflowSpec(Model):
    colonyname: str = ""
    functionspecs: list[FunctionSpec] | None = None


class Attribute(Model):
    attributeid: str = ""
    targetid: str = ""
    targetcolonyname: str = ""
    targetprocessgraphid: str = ""
    state: Int64 = 0
    attributetype: Int64 = 0
    key: str = ""
    value: str = ""


class Process(Model):
    processid: str = ""
    initiatorid: str = ""
    initiatorname: str = ""
    assignedexecutorid: str = ""
    isassigned: bool = False
    state: Int64 = WAITING
    prioritytime: Int64 = 0
    submissiontime: str = ZERO_TIME
    starttime: str = ZERO_TIME
    endtime: str = ZERO_TIME
    waitdeadline: str = ZERO_TIME
    execdeadline: str = ZERO_TIME
    retries: Int64 = 0
    attributes: list[Attribute] = msgspec.field(default_factory=list)
    spec: FunctionSpec = msgspec.field(default_factory=FunctionSpec)
    waitforparents: bool = False
    parents: list[str] = msgspec.field(default_factory=list)
    children: list[str] = msgspec.field(default_factory=list)
    processgraphid: str = ""
    input: list[Any] = msgspec.field(default_factory=list, name="in")
    output: list[Any] = msgspec.field(default_factory=list, name="out")
    errors: list[str] = msgspec.field(default_factory=list)


class Log(Model):
    processid: str = ""
    colonyname: str = ""
    executorname: str = ""
    message: str = ""
    timestamp: Int64 = 0


class Location(Model):
    locationid: str = ""
    name: str = ""
    colonyname: str = ""
    description: str = ""
    long: float = 0.0
    lat: float = 0.0


class Statistics(Model):
    colonies: Int64 = 0
    executors: Int64 = 0
    activeexecutors: Int64 = 0
    unregisteredexecutors: Int64 = 0
    waitingprocesses: Int64 = 0
    runningprocesses: Int64 = 0
    successfulprocesses: Int64 = 0
    failedprocesses: Int64 = 0
    cancelledprocesses: Int64 = 0
    waitingworkflows: Int64 = 0
    runningworkflows: Int64 = 0
    successfulworkflows: Int64 = 0
    failedworkflows: Int64 = 0
    cancelledworkflows: Int64 = 0


class Backend(Model, omit_defaults=True):
    type: str  # type and port are always sent; the optional fields below are left out when unset
    port: Int64
    host: str = ""
    tls: bool = False
    insecure: bool = False


class ServerInfo(Model):
    buildversion: str = ""
    buildtime: str = ""
    backends: list[Backend] = msgspec.field(default_factory=list)


class GraphNodeData(Model):
    label: str = ""


class GraphNodePosition(Model):
    x: Int64 = 0
    y: Int64 = 0


class GraphNodeStyle(Model):
    color: str = ""
    background: str = ""


class GraphNode(Model):
    """A dashboard node of a process graph (upstream's UI layout)."""

    id: str = ""
    data: GraphNodeData = msgspec.field(default_factory=GraphNodeData)
    position: GraphNodePosition = msgspec.field(default_factory=GraphNodePosition)
    type: str = ""
    style: GraphNodeStyle = msgspec.field(default_factory=GraphNodeStyle)


class GraphEdge(Model):
    id: str = ""
    source: str = ""
    target: str = ""
    animated: bool = False


class ProcessGraph(Model):
    processgraphid: str = ""
    initiatorid: str = ""
    initiatorname: str = ""
    colonyname: str = ""
    rootprocessids: list[str] = msgspec.field(default_factory=list)
    state: Int64 = WAITING
    submissiontime: str = ZERO_TIME
    starttime: str = ZERO_TIME
    endtime: str = ZERO_TIME
    processids: list[str] = msgspec.field(default_factory=list)
    nodes: list[GraphNode] = msgspec.field(default_factory=list)
    edges: list[GraphEdge] = msgspec.field(default_factory=list)


class Cron(Model):
    cronid: str = ""
    initiatorid: str = ""
    initiatorname: str = ""
    colonyname: str = ""
    name: str = ""
    cronexpression: str = ""
    interval: Int64 = 0
    random: bool = False
    nextrun: str = ZERO_TIME
    lastrun: str = ZERO_TIME
    workflowspec: str = ""  # a WorkflowSpec as a JSON string, as upstream
    prevprocessgraphid: str = ""
    waitforprevprocessgraph: bool = False
    checkerperiod: Int64 = 0


class Generator(Model):
    generatorid: str = ""
    initiatorid: str = ""
    initiatorname: str = ""
    colonyname: str = ""
    name: str = ""
    workflowspec: str = ""  # a WorkflowSpec as a JSON string, as upstream
    trigger: Int64 = 0
    timeout: Int64 = 0
    firstpack: str = ZERO_TIME
    lastrun: str = ZERO_TIME
    queuesize: Int64 = 0
    checkerperiod: Int64 = 0


class ChannelEntry(Model, omit_defaults=True):
    """One message of a process channel (upstream MsgEntry); payload is base64 on the wire."""

    sequence: Int64
    timestamp: str
    senderid: str
    payload: str  # always sent, "" when empty; inreplyto, type and error are left out when unset
    inreplyto: Int64 = 0
    type: str = ""
    error: str = ""


# --- CFS (the meta-filesystem; ../shared/spec/cfs.md §1.1) --------------------------------
# Inbound strings may be JSON null (pycolonies sends null for unset ones): read as "".
class S3Object(Model):
    server: str | None = ""
    port: Int64 = 0
    tls: bool = False
    accesskey: str | None = ""
    secretkey: str | None = ""
    region: str | None = ""
    encryptionkey: str | None = ""
    encryptionalg: str | None = ""
    object: str | None = ""
    bucket: str | None = ""


class IpfsObject(Model):
    """Where a revision's bytes are in IPFS (ours, docs/cfs.md): the CID and the multiaddrs of IPFS
    nodes known to hold it."""

    cid: str | None = ""
    size: Int64 = 0
    providers: list[str] | None = None


class Reference(Model, omit_defaults=True):
    """`s3object` is always present in the node's replies (pycolonies indexes it); `ipfsobject`
    only on files with a CID, so upstream clients see the fields they know."""

    protocol: str | None = ""
    s3object: S3Object | None = None
    ipfsobject: IpfsObject | None = None


class File(Model):
    fileid: str | None = ""
    colonyname: str | None = ""
    label: str | None = ""
    name: str | None = ""
    size: Int64 = 0
    sequencenr: Int64 = 0
    checksum: str | None = ""
    checksumalg: str | None = ""
    ref: Reference | None = None
    added: str | None = ZERO_TIME


class FileData(Model):
    name: str = ""
    checksum: str = ""
    size: Int64 = 0
    s3filename: str = ""
    # ours: a file with a CID carries it (replies of other files keep upstream's four fields)
    ipfsobject: IpfsObject | None = None


class PlainFileData(Model):
    """`FileData` as the node sends it for a file without a CID: upstream's four fields only."""

    name: str = ""
    checksum: str = ""
    size: Int64 = 0
    s3filename: str = ""


class FileLocation(Model, omit_defaults=True):
    """One place a file's bytes are (ours, `resolvefilesmsg`): an S3 object (`endpoint` as
    host:port, `bucket`, `object`, `tls`, `region`) or a CID with provider multiaddrs."""

    protocol: str = ""
    endpoint: str = ""
    bucket: str = ""
    object: str = ""
    tls: bool = False
    region: str = ""
    cid: str = ""
    providers: list[str] | None = None


class ResolvedFile(Model):
    fileid: str = ""
    label: str = ""
    name: str = ""
    size: Int64 = 0
    checksum: str = ""
    checksumalg: str = ""
    sequencenr: Int64 = 0
    added: str = ZERO_TIME
    locations: list[FileLocation] = msgspec.field(default_factory=list)


class Label(Model):
    name: str = ""
    files: Int64 = 0


class Snapshot(Model):
    snapshotid: str = ""
    colonyname: str = ""
    label: str = ""
    name: str = ""
    fileids: list[str] | None = None
    added: str = ZERO_TIME
