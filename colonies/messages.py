"""Request messages, one Struct per msgtype, with the upstream field names (spec §2).

Every message carries `msgtype`; the node checks it equals the envelope's payloadtype.
Defaults follow Go's zero values, so a field a client leaves out means what it means upstream.
"""
from __future__ import annotations

from typing import Any

import msgspec

from colonies.types import Int64

from colonies.models import (
    Allocations,
    File,
    Attribute,
    Capabilities,
    Colony,
    Executor,
    Function,
    FunctionSpec,
    Generator,
    Location,
    User,
    WorkflowSpec,
)


class Msg(msgspec.Struct, kw_only=True):
    msgtype: str = ""


# --- server -------------------------------------------------------------------------------
class VersionMsg(Msg):
    buildversion: str = ""
    buildtime: str = ""


class GetServerInfoMsg(Msg):
    pass


class GetStatisticsMsg(Msg):
    pass


class GetClusterMsg(Msg):
    pass


# --- colonies -----------------------------------------------------------------------------
class AddColonyMsg(Msg):
    colony: Colony | None = None


class ColonyNameMsg(Msg):
    """Every message whose only argument is a colony name."""

    colonyname: str = ""


class GetColoniesMsg(Msg):
    pass


# --- users --------------------------------------------------------------------------------
class AddUserMsg(Msg):
    user: User | None = None


class UserNameMsg(Msg):
    colonyname: str = ""
    name: str = ""


class GetUserByIdMsg(Msg):
    colonyname: str = ""
    userid: str = ""


# --- locations ----------------------------------------------------------------------------
class AddLocationMsg(Msg):
    location: Location | None = None


# --- executors ----------------------------------------------------------------------------
class AddExecutorMsg(Msg):
    executor: Executor | None = None


class ExecutorNameMsg(Msg):
    colonyname: str = ""
    executorname: str = ""


class GetExecutorByIdMsg(Msg):
    colonyname: str = ""
    executorid: str = ""


class ReportAllocationMsg(Msg):
    colonyname: str = ""
    executorname: str = ""
    allocations: Allocations | None = None


class UpdateExecutorMsg(Msg):
    colonyname: str = ""
    executorname: str = ""
    capabilities: Capabilities | None = None


# --- functions ----------------------------------------------------------------------------
class AddFunctionMsg(Msg):
    fun: Function | None = None


class GetFunctionsMsg(Msg):
    colonyname: str = ""
    executorname: str = ""


class RemoveFunctionMsg(Msg):
    functionid: str = ""


# --- processes ----------------------------------------------------------------------------
class SubmitFuncSpecMsg(Msg):
    spec: FunctionSpec | None = None


class AssignProcessMsg(Msg):
    colonyname: str = ""
    timeout: Int64 = 0
    availablecpu: str = ""
    availablemem: str = ""


class ProcessIdMsg(Msg):
    """get / remove / cancel a process by id."""

    processid: str = ""
    all: bool = False


class GetProcessesMsg(Msg):
    colonyname: str = ""
    count: Int64 = 0
    state: Int64 = 0
    executortype: str = ""
    label: str = ""
    initiator: str = ""


class GetProcessHistMsg(Msg):
    colonyname: str = ""
    executorid: str = ""
    seconds: Int64 = 0
    state: Int64 = 0


class RemoveAllProcessesMsg(Msg):
    colonyname: str = ""
    state: Int64 = 0


class CloseSuccessfulMsg(Msg):
    processid: str = ""
    out: list[Any] | None = None
    # ours (upstream ignores it): the starttime of the run this closes; a request from an
    # earlier run of the process is refused. "" = whichever run is assigned to the caller
    attempt: str = ""


class CloseFailedMsg(Msg):
    processid: str = ""
    errors: list[str] | None = None
    attempt: str = ""  # as in CloseSuccessfulMsg


class SetOutputMsg(Msg):
    processid: str = ""
    out: list[Any] | None = None
    attempt: str = ""  # as in CloseSuccessfulMsg


# --- attributes and logs ------------------------------------------------------------------
class AddAttributeMsg(Msg):
    attribute: Attribute | None = None


class GetAttributeMsg(Msg):
    attributeid: str = ""


class AddLogMsg(Msg):
    processid: str = ""
    message: str = ""


class AddExecutorLogMsg(Msg):
    colonyname: str = ""
    executorname: str = ""
    message: str = ""


class GetLogsMsg(Msg):
    colonyname: str = ""
    processid: str = ""
    executorname: str = ""
    count: Int64 = 0
    since: Int64 = 0
    latest: bool = False


class SearchLogsMsg(Msg):
    colonyname: str = ""
    text: str = ""
    days: Int64 = 0
    count: Int64 = 0


# --- realtime (/pubsub) -------------------------------------------------------------------
class SubscribeProcessMsg(Msg):
    colonyname: str = ""
    processid: str = ""
    executortype: str = ""
    state: Int64 = 0
    timeout: Int64 = 0


class SubscribeProcessesMsg(Msg):
    colonyname: str = ""
    executortype: str = ""
    state: Int64 = 0
    timeout: Int64 = 0


# --- workflows ----------------------------------------------------------------------------
class SubmitWorkflowSpecMsg(Msg):
    spec: WorkflowSpec | None = None


class ProcessGraphIdMsg(Msg):
    """get / remove / cancel a process graph by id."""

    processgraphid: str = ""
    all: bool = False


class GetProcessGraphsMsg(Msg):
    colonyname: str = ""
    count: Int64 = 0
    state: Int64 = 0


class RemoveAllProcessGraphsMsg(Msg):
    colonyname: str = ""
    state: Int64 = 0


class AddChildMsg(Msg):
    processgraphid: str = ""
    parentprocessid: str = ""
    childprocessid: str = ""
    insert: bool = False
    spec: FunctionSpec | None = None


# --- crons --------------------------------------------------------------------------------
class AddCronMsg(Msg):
    cron: dict[str, Any] | None = None  # decoded by the handler: pycolonies sends a misspelt key


class CronIdMsg(Msg):
    cronid: str = ""
    all: bool = False


class GetCronsMsg(Msg):
    colonyname: str = ""
    count: Int64 = 0


# --- generators ---------------------------------------------------------------------------
class AddGeneratorMsg(Msg):
    generator: Generator | None = None


class GeneratorIdMsg(Msg):
    generatorid: str = ""
    all: bool = False


class ResolveGeneratorMsg(Msg):
    colonyname: str = ""
    generatorname: str = ""


class GetGeneratorsMsg(Msg):
    colonyname: str = ""
    count: Int64 = 0


class PackGeneratorMsg(Msg):
    generatorid: str = ""
    arg: str = ""


# --- channels -----------------------------------------------------------------------------
class ChannelAppendMsg(Msg):
    processid: str = ""
    name: str = ""
    sequence: Int64 = 0
    inreplyto: Int64 = 0
    payload: str | list[int] | None = None  # Go []byte: base64 text or an array of bytes
    payloadtype: str = ""


class ChannelReadMsg(Msg):
    processid: str = ""
    name: str = ""
    afterseq: Int64 = 0
    limit: Int64 = 0


class SubscribeChannelMsg(Msg):
    processid: str = ""
    name: str = ""
    afterseq: Int64 = 0
    timeout: Int64 = 0


# --- locations and identities -------------------------------------------------------------
class LocationNameMsg(Msg):
    colonyname: str = ""
    name: str = ""


class ChangeServerIdMsg(Msg):
    serverid: str = ""


class ChangeColonyIdMsg(Msg):
    colonyname: str = ""
    colonyid: str = ""


class ChangeExecutorIdMsg(Msg):
    colonyname: str = ""
    executorid: str = ""


class ChangeUserIdMsg(Msg):
    colonyname: str = ""
    userid: str = ""


# --- this node in its federation (ours; upstream has no federation) ------------------------
class NodeStatusMsg(Msg):
    pass


class NodePeersMsg(Msg):
    colonyname: str = ""
    executortype: str = ""


class NodeProcessMsg(Msg):
    processid: str = ""


class NodeLeaveMsg(Msg):
    wait: Int64 = 60  # seconds to let running forwarded work finish


# --- CFS (../shared/spec/cfs.md §1.3; null strings read as "") ----------------------------
class AddFileMsg(Msg):
    file: File | None = None


class GetFileMsg(Msg):
    colonyname: str | None = ""
    fileid: str | None = ""
    label: str | None = ""
    name: str | None = ""
    latest: bool = False


class GetFilesMsg(Msg):
    colonyname: str | None = ""
    label: str | None = ""


class GetFileLabelsMsg(Msg):
    colonyname: str | None = ""
    name: str | None = ""
    exact: bool = False


class RemoveFileMsg(Msg):
    colonyname: str | None = ""
    fileid: str | None = ""
    label: str | None = ""
    name: str | None = ""


class CreateSnapshotMsg(Msg):
    colonyname: str | None = ""
    label: str | None = ""
    name: str | None = ""


class GetSnapshotMsg(Msg):
    colonyname: str | None = ""
    snapshotid: str | None = ""
    name: str | None = ""


class GetSnapshotsMsg(Msg):
    colonyname: str | None = ""


class RemoveSnapshotMsg(Msg):
    colonyname: str | None = ""
    snapshotid: str | None = ""
    name: str | None = ""


class RemoveAllSnapshotsMsg(Msg):
    colonyname: str | None = ""


class ResolveFilesMsg(Msg):
    """Ours: where the bytes of every file under `label` (and its sub-labels), or of snapshot
    `snapshotid`, are. `count` caps the reply (default and maximum 10,000); page with `offset`."""

    colonyname: str | None = ""
    label: str | None = ""
    snapshotid: str | None = ""
    offset: Int64 = 0
    count: Int64 = 0
