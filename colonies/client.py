"""Client SDK: `AsyncClient` (asyncio, aiohttp) and `Client`, a blocking facade for scripts.

Every RPC is one signed envelope POSTed to `{url}/api` (spec §1.2); error replies raise
`colonies.wire.RPCError` carrying the node's HTTP status and message. Methods taking a process id
also accept a `Process`. `prvkey=` overrides the client's key for one call.
"""
from __future__ import annotations

import asyncio
import math
import os
import ssl
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Iterable, Iterator
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiohttp
import msgspec

from colonies import messages, models, wire
from colonies.models import (
    CANCELLED,
    FAILED,
    OUT,
    RUNNING,
    SUCCESS,
    Attribute,
    Colony,
    Executor,
    Function,
    FunctionSpec,
    Log,
    Process,
    ServerInfo,
    Statistics,
    User,
)
from colonies.wire import RPCError

__all__ = ["AsyncClient", "Client", "RPCError", "Version", "func_spec", "ProcessRef"]

ProcessRef = str | Process
T = TypeVar("T")
P = ParamSpec("P")

# Seconds added to a long-poll's own timeout before the HTTP request itself gives up.
LONG_POLL_MARGIN = 10.0
RESOLVE_PAGE = 10_000  # files per resolvefilesmsg page (the node's maximum)
TERMINAL_STATES = (SUCCESS, FAILED, CANCELLED)

_HEADERS = {"Content-Type": "application/json"}

# HTTPS: the node's certificate is verified against the system's CAs, or against the CA file
# COLONIES_TLS_CA names; COLONIES_SKIP_TLS_VERIFY=true turns checking off (tests, never production)
TLS_CA_VARIABLE = "COLONIES_TLS_CA"
SKIP_VERIFY_VARIABLE = "COLONIES_SKIP_TLS_VERIFY"


def tls_context(verify: bool | None = None, cafile: str | None = None) -> ssl.SSLContext | bool:
    """What aiohttp's `ssl=` takes: False (no checks), a context trusting `cafile`, or True (system
    CAs). None means "from the environment"."""
    if verify is None:
        verify = os.environ.get(SKIP_VERIFY_VARIABLE, "").strip().lower() not in ("1", "true", "yes")
    if not verify:
        return False
    cafile = cafile or os.environ.get(TLS_CA_VARIABLE) or None
    return ssl.create_default_context(cafile=cafile) if cafile else True


class Version(msgspec.Struct, kw_only=True):
    buildversion: str = ""
    buildtime: str = ""


class _PauseStatus(msgspec.Struct, kw_only=True):
    colonyname: str = ""
    ispaused: bool = False


def func_spec(
    funcname: str,
    colonyname: str,
    executortype: str,
    *,
    args: list[Any] | None = None,
    kwargs: dict[str, Any] | None = None,
    executornames: list[str] | None = None,
    priority: int = 0,
    maxwaittime: int = -1,
    maxexectime: int = -1,
    maxretries: int = -1,
    label: str = "",
    nodename: str = "",
    cpu: str = "",
    mem: str = "",
    env: dict[str, str] | None = None,
    channels: list[str] | None = None,
    dependencies: list[str] | None = None,
) -> FunctionSpec:
    """A FunctionSpec with safe defaults: upstream treats maxexectime=0 as already expired (§4.3)."""
    return FunctionSpec(
        nodename=nodename or funcname,
        funcname=funcname,
        args=list(args or []),
        kwargs=dict(kwargs or {}),
        priority=priority,
        maxwaittime=maxwaittime,
        maxexectime=maxexectime,
        maxretries=maxretries,
        conditions=models.Conditions(
            colonyname=colonyname,
            executortype=executortype,
            executornames=list(executornames or []),
            cpu=cpu,
            mem=mem,
            dependencies=list(dependencies or []),
        ),
        label=label,
        env=dict(env or {}),
        channels=list(channels or []),
    )


def _pid(process: ProcessRef) -> str:
    return process.processid if isinstance(process, Process) else process


def _attempt(process: ProcessRef) -> str:
    """The run a close or an output is for: a node refuses it once the process runs again (a
    stale request of an earlier run). Known only from a Process, e.g. the one assign returned."""
    if isinstance(process, Process) and process.state == RUNNING:
        return process.starttime
    return ""


def _ws_url(url: str) -> str:
    if url.startswith("https://"):
        return "wss://" + url[len("https://"):] + "/pubsub"
    if url.startswith("http://"):
        return "ws://" + url[len("http://"):] + "/pubsub"
    return url + "/pubsub"


def _decode_ws(msg: aiohttp.WSMessage) -> Process:
    data = msg.data.encode() if isinstance(msg.data, str) else msg.data
    _, payload = wire.decode_reply(data)
    return msgspec.json.decode(payload, type=Process)


class AsyncClient:
    """Async Colonies client. Use `async with AsyncClient(url, prvkey) as c:` or call `aclose()`.

    One aiohttp session with a keep-alive pool of `max_connections` is shared by all calls; a
    session passed in is used as is and not closed by the client. HTTPS certificates are verified
    (`verify=False` or COLONIES_SKIP_TLS_VERIFY=true opts out; `cafile` or COLONIES_TLS_CA trusts a
    private CA), see `tls_context`.
    """

    def __init__(
        self,
        url: str,
        prvkey: str | None = None,
        session: aiohttp.ClientSession | None = None,
        *,
        max_connections: int = 100,
        timeout: float = 60.0,
        verify: bool | None = None,
        cafile: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.prvkey = prvkey
        self._api = self.url + "/api"
        self._session = session
        self._own_session = session is None
        self._max_connections = max_connections
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._ssl = tls_context(verify, cafile)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session (if the client created it). `close()` is the process RPC."""
        if self._own_session and self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def _http(self) -> aiohttp.ClientSession:
        # Created lazily so the session belongs to the loop that first uses it.
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0, ssl=self._ssl)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
            self._own_session = True
        return self._session

    def _key(self, msgtype: str, prvkey: str | None) -> str | None:
        key = prvkey or self.prvkey
        if key is None and msgtype not in wire.UNSIGNED_MSGTYPES:
            raise ValueError(f"{msgtype} must be signed: give the client or the call a private key")
        return key

    # --- transport ------------------------------------------------------------------------
    async def rpc(
        self, msg: messages.Msg, prvkey: str | None = None, timeout: float | None = None
    ) -> tuple[str, bytes]:
        """Send one message; returns (payloadtype, payload JSON) or raises RPCError.

        `timeout` (seconds) replaces the client's default HTTP timeout for this call."""
        body = wire.build_request(msg, self._key(msg.msgtype, prvkey))
        # Always explicit: aiohttp reads timeout=None as "no timeout at all".
        request_timeout = aiohttp.ClientTimeout(total=timeout) if timeout is not None else self._timeout
        async with self._http().post(self._api, data=body, headers=_HEADERS, timeout=request_timeout) as resp:
            raw = await resp.read()
            status = resp.status
        if not raw:
            # Upstream answers some membership failures with an empty 200 (spec §1.3 quirk).
            raise RPCError(status if status >= 400 else 403, f"Empty reply to {msg.msgtype} (access denied?)")
        try:
            return wire.decode_reply(raw)
        except wire.WireError as err:
            if status >= 400:
                raise RPCError(status, raw[:500].decode(errors="replace")) from None
            raise RPCError(err.status, err.message) from None

    async def _call(self, msg: messages.Msg, kind: type[T], prvkey: str | None, timeout: float | None = None) -> T:
        _, payload = await self.rpc(msg, prvkey, timeout)
        return msgspec.json.decode(payload, type=kind)

    async def _call_list(self, msg: messages.Msg, kind: type[T], prvkey: str | None) -> list[T]:
        _, payload = await self.rpc(msg, prvkey)
        return msgspec.json.decode(payload, type=list[kind] | None) or []  # type: ignore[valid-type]

    async def _call_empty(self, msg: messages.Msg, prvkey: str | None) -> None:
        await self.rpc(msg, prvkey)

    # --- server (§2.1) --------------------------------------------------------------------
    async def version(self) -> Version:
        return await self._call(messages.VersionMsg(msgtype="versionmsg"), Version, None)

    async def server_info(self) -> ServerInfo:
        return await self._call(messages.GetServerInfoMsg(msgtype="getserverinfomsg"), ServerInfo, None)

    async def statistics(self, prvkey: str | None = None) -> Statistics:
        return await self._call(messages.GetStatisticsMsg(msgtype="getstatisticsmsg"), Statistics, prvkey)

    # --- colonies (§2.2) ------------------------------------------------------------------
    async def add_colony(self, colonyid: str, name: str, prvkey: str | None = None) -> Colony:
        msg = messages.AddColonyMsg(msgtype="addcolonymsg", colony=Colony(colonyid=colonyid, name=name))
        return await self._call(msg, Colony, prvkey)

    async def remove_colony(self, colonyname: str, prvkey: str | None = None) -> None:
        await self._call_empty(messages.ColonyNameMsg(msgtype="removecolonymsg", colonyname=colonyname), prvkey)

    async def list_colonies(self, prvkey: str | None = None) -> list[Colony]:
        return await self._call_list(messages.GetColoniesMsg(msgtype="getcoloniesmsg"), Colony, prvkey)

    async def get_colony(self, colonyname: str, prvkey: str | None = None) -> Colony:
        msg = messages.ColonyNameMsg(msgtype="getcolonymsg", colonyname=colonyname)
        return await self._call(msg, Colony, prvkey)

    async def colony_stats(self, colonyname: str, prvkey: str | None = None) -> Statistics:
        msg = messages.ColonyNameMsg(msgtype="getcolonystatsmsg", colonyname=colonyname)
        return await self._call(msg, Statistics, prvkey)

    # --- users (§2.3) ---------------------------------------------------------------------
    async def add_user(
        self,
        colonyname: str,
        userid: str,
        name: str,
        email: str = "",
        phone: str = "",
        prvkey: str | None = None,
    ) -> User:
        user = User(colonyname=colonyname, userid=userid, name=name, email=email, phone=phone)
        return await self._call(messages.AddUserMsg(msgtype="addusermsg", user=user), User, prvkey)

    async def list_users(self, colonyname: str, prvkey: str | None = None) -> list[User]:
        msg = messages.ColonyNameMsg(msgtype="getusersmsg", colonyname=colonyname)
        return await self._call_list(msg, User, prvkey)

    async def get_user(self, colonyname: str, name: str, prvkey: str | None = None) -> User:
        msg = messages.UserNameMsg(msgtype="getusermsg", colonyname=colonyname, name=name)
        return await self._call(msg, User, prvkey)

    async def get_user_by_id(self, colonyname: str, userid: str, prvkey: str | None = None) -> User:
        msg = messages.GetUserByIdMsg(msgtype="getuserbyidmsg", colonyname=colonyname, userid=userid)
        return await self._call(msg, User, prvkey)

    async def remove_user(self, colonyname: str, name: str, prvkey: str | None = None) -> None:
        msg = messages.UserNameMsg(msgtype="removeusermsg", colonyname=colonyname, name=name)
        await self._call_empty(msg, prvkey)

    # --- executors (§2.4) -----------------------------------------------------------------
    async def add_executor(
        self,
        colonyname: str,
        executorid: str,
        executorname: str,
        executortype: str,
        prvkey: str | None = None,
        *,
        locationname: str = "",
        capabilities: models.Capabilities | None = None,
    ) -> Executor:
        """Register an executor (signed by the colony owner); it starts PENDING until approved."""
        executor = Executor(
            executorid=executorid,
            executortype=executortype,
            executorname=executorname,
            colonyname=colonyname,
            locationname=locationname,
            capabilities=capabilities or models.Capabilities(),
        )
        return await self._call(messages.AddExecutorMsg(msgtype="addexecutormsg", executor=executor), Executor, prvkey)

    async def list_executors(self, colonyname: str, prvkey: str | None = None) -> list[Executor]:
        msg = messages.ColonyNameMsg(msgtype="getexecutorsmsg", colonyname=colonyname)
        return await self._call_list(msg, Executor, prvkey)

    async def get_executor(self, colonyname: str, executorname: str, prvkey: str | None = None) -> Executor:
        msg = messages.ExecutorNameMsg(msgtype="getexecutormsg", colonyname=colonyname, executorname=executorname)
        return await self._call(msg, Executor, prvkey)

    async def get_executor_by_id(self, colonyname: str, executorid: str, prvkey: str | None = None) -> Executor:
        msg = messages.GetExecutorByIdMsg(msgtype="getexecutorbyidmsg", colonyname=colonyname, executorid=executorid)
        return await self._call(msg, Executor, prvkey)

    async def _executor_op(self, msgtype: str, colonyname: str, executorname: str, prvkey: str | None) -> None:
        msg = messages.ExecutorNameMsg(msgtype=msgtype, colonyname=colonyname, executorname=executorname)
        await self._call_empty(msg, prvkey)

    async def approve_executor(self, colonyname: str, executorname: str, prvkey: str | None = None) -> None:
        await self._executor_op("approveexecutormsg", colonyname, executorname, prvkey)

    async def reject_executor(self, colonyname: str, executorname: str, prvkey: str | None = None) -> None:
        await self._executor_op("rejectexecutormsg", colonyname, executorname, prvkey)

    async def remove_executor(self, colonyname: str, executorname: str, prvkey: str | None = None) -> None:
        await self._executor_op("removeexecutormsg", colonyname, executorname, prvkey)

    async def report_allocations(
        self, colonyname: str, executorname: str, allocations: models.Allocations, prvkey: str | None = None
    ) -> None:
        msg = messages.ReportAllocationMsg(
            msgtype="reportallocationmsg", colonyname=colonyname, executorname=executorname, allocations=allocations
        )
        await self._call_empty(msg, prvkey)

    async def update_capabilities(
        self, colonyname: str, executorname: str, capabilities: models.Capabilities, prvkey: str | None = None
    ) -> None:
        msg = messages.UpdateExecutorMsg(
            msgtype="updateexecutormsg", colonyname=colonyname, executorname=executorname, capabilities=capabilities
        )
        await self._call_empty(msg, prvkey)

    # --- functions (§2.5) -----------------------------------------------------------------
    async def add_function(
        self,
        colonyname: str,
        executorname: str,
        executortype: str,
        funcname: str,
        prvkey: str | None = None,
        *,
        description: str = "",
        args: list[models.FunctionArg] | None = None,
    ) -> Function:
        fun = Function(
            executorname=executorname,
            executortype=executortype,
            colonyname=colonyname,
            funcname=funcname,
            description=description,
            args=args,
        )
        return await self._call(messages.AddFunctionMsg(msgtype="addfunctionmsg", fun=fun), Function, prvkey)

    async def list_functions(self, colonyname: str, executorname: str = "", prvkey: str | None = None) -> list[Function]:
        msg = messages.GetFunctionsMsg(msgtype="getfunctionsmsg", colonyname=colonyname, executorname=executorname)
        return await self._call_list(msg, Function, prvkey)

    async def remove_function(self, functionid: str, prvkey: str | None = None) -> None:
        await self._call_empty(messages.RemoveFunctionMsg(msgtype="removefunctionmsg", functionid=functionid), prvkey)

    # --- processes (§2.6) -----------------------------------------------------------------
    async def submit(self, spec: FunctionSpec, prvkey: str | None = None) -> Process:
        return await self._call(messages.SubmitFuncSpecMsg(msgtype="submitfuncspecmsg", spec=spec), Process, prvkey)

    async def assign(
        self,
        colonyname: str,
        timeout: int,
        availablecpu: str = "",
        availablemem: str = "",
        prvkey: str | None = None,
    ) -> Process:
        """Long-poll for a process (now RUNNING, assigned to the caller).

        `timeout` is whole seconds (> 0 waits, < 0 tries once; upstream refuses 0). When nothing
        arrives the node replies 404: callers check `RPCError.status == 404`.
        """
        msg = messages.AssignProcessMsg(
            msgtype="assignprocessmsg",
            colonyname=colonyname,
            timeout=timeout,
            availablecpu=availablecpu,
            availablemem=availablemem,
        )
        http_timeout = timeout + LONG_POLL_MARGIN if timeout > 0 else None
        return await self._call(msg, Process, prvkey, timeout=http_timeout)

    async def get_process(self, process: ProcessRef, prvkey: str | None = None) -> Process:
        msg = messages.ProcessIdMsg(msgtype="getprocessmsg", processid=_pid(process))
        return await self._call(msg, Process, prvkey)

    async def list_processes(
        self,
        colonyname: str,
        state: int,
        count: int,
        executortype: str = "",
        label: str = "",
        initiator: str = "",
        prvkey: str | None = None,
    ) -> list[Process]:
        msg = messages.GetProcessesMsg(
            msgtype="getprocessesmsg",
            colonyname=colonyname,
            state=state,
            count=count,
            executortype=executortype,
            label=label,
            initiator=initiator,
        )
        return await self._call_list(msg, Process, prvkey)

    async def process_history(
        self, colonyname: str, seconds: int, state: int, executorid: str = "", prvkey: str | None = None
    ) -> list[Process]:
        msg = messages.GetProcessHistMsg(
            msgtype="getprocesshistmsg", colonyname=colonyname, executorid=executorid, seconds=seconds, state=state
        )
        return await self._call_list(msg, Process, prvkey)

    async def remove_process(self, process: ProcessRef, prvkey: str | None = None) -> None:
        await self._call_empty(messages.ProcessIdMsg(msgtype="removeprocessmsg", processid=_pid(process)), prvkey)

    async def remove_all_processes(self, colonyname: str, state: int = -1, prvkey: str | None = None) -> None:
        """Colony owner only; state -1 = every non-running, non-workflow process."""
        msg = messages.RemoveAllProcessesMsg(msgtype="removeallprocessesmsg", colonyname=colonyname, state=state)
        await self._call_empty(msg, prvkey)

    async def close(self, process: ProcessRef, output: list[Any] | None = None, prvkey: str | None = None) -> None:
        """Close a process assigned to the caller as successful, with `output` as its `out`."""
        msg = messages.CloseSuccessfulMsg(
            msgtype="closesuccessfulmsg", processid=_pid(process), out=list(output or []), attempt=_attempt(process)
        )
        await self._call_empty(msg, prvkey)

    async def fail(self, process: ProcessRef, errors: list[str] | None = None, prvkey: str | None = None) -> None:
        msg = messages.CloseFailedMsg(
            msgtype="closefailedmsg", processid=_pid(process), errors=list(errors or []), attempt=_attempt(process)
        )
        await self._call_empty(msg, prvkey)

    async def set_output(self, process: ProcessRef, output: list[Any], prvkey: str | None = None) -> None:
        msg = messages.SetOutputMsg(msgtype="setoutputmsg", processid=_pid(process), out=list(output), attempt=_attempt(process))
        await self._call_empty(msg, prvkey)

    async def cancel(self, process: ProcessRef, prvkey: str | None = None) -> None:
        await self._call_empty(messages.ProcessIdMsg(msgtype="cancelprocessmsg", processid=_pid(process)), prvkey)

    async def pause_assignments(self, colonyname: str, prvkey: str | None = None) -> None:
        await self._call_empty(messages.ColonyNameMsg(msgtype="pauseassignmentsmsg", colonyname=colonyname), prvkey)

    async def resume_assignments(self, colonyname: str, prvkey: str | None = None) -> None:
        await self._call_empty(messages.ColonyNameMsg(msgtype="resumeassignmentsmsg", colonyname=colonyname), prvkey)

    async def get_pause_status(self, colonyname: str, prvkey: str | None = None) -> bool:
        msg = messages.ColonyNameMsg(msgtype="getpausestatusmsg", colonyname=colonyname)
        return (await self._call(msg, _PauseStatus, prvkey)).ispaused

    # --- attributes and logs (§2.8) -------------------------------------------------------
    async def add_attribute(
        self,
        process: ProcessRef,
        key: str,
        value: str,
        attributetype: int = OUT,
        prvkey: str | None = None,
        *,
        colonyname: str = "",
        processgraphid: str = "",
    ) -> Attribute:
        """Attach a key/value to a RUNNING process assigned to the caller (colony taken from a Process)."""
        if isinstance(process, Process):
            colonyname = colonyname or process.spec.conditions.colonyname
            processgraphid = processgraphid or process.processgraphid
        attribute = Attribute(
            targetid=_pid(process),
            targetcolonyname=colonyname,
            targetprocessgraphid=processgraphid,
            attributetype=attributetype,
            key=key,
            value=value,
        )
        msg = messages.AddAttributeMsg(msgtype="addattributemsg", attribute=attribute)
        return await self._call(msg, Attribute, prvkey)

    async def get_attribute(self, attributeid: str, prvkey: str | None = None) -> Attribute:
        msg = messages.GetAttributeMsg(msgtype="getattributemsg", attributeid=attributeid)
        return await self._call(msg, Attribute, prvkey)

    async def add_log(self, process: ProcessRef, message: str, prvkey: str | None = None) -> None:
        await self._call_empty(messages.AddLogMsg(msgtype="addlogmsg", processid=_pid(process), message=message), prvkey)

    async def add_executor_log(self, colonyname: str, executorname: str, message: str, prvkey: str | None = None) -> None:
        msg = messages.AddExecutorLogMsg(
            msgtype="addexecutorlogmsg", colonyname=colonyname, executorname=executorname, message=message
        )
        await self._call_empty(msg, prvkey)

    async def get_logs(
        self,
        colonyname: str,
        process: ProcessRef = "",
        executorname: str = "",
        count: int = 100,
        since: int = 0,
        latest: bool = False,
        prvkey: str | None = None,
    ) -> list[Log]:
        """Logs of one process or (processid "") one executor; `since` in Unix ns, `count` ≤ 500."""
        msg = messages.GetLogsMsg(
            msgtype="getlogsmsg",
            colonyname=colonyname,
            processid=_pid(process),
            executorname=executorname,
            count=count,
            since=since,
            latest=latest,
        )
        return await self._call_list(msg, Log, prvkey)

    async def search_logs(
        self, colonyname: str, text: str, days: int = 1, count: int = 20, prvkey: str | None = None
    ) -> list[Log]:
        msg = messages.SearchLogsMsg(msgtype="searchlogsmsg", colonyname=colonyname, text=text, days=days, count=count)
        return await self._call_list(msg, Log, prvkey)

    # --- realtime (/pubsub, §4.7) ---------------------------------------------------------
    async def wait(
        self,
        process: ProcessRef,
        state: int = SUCCESS,
        timeout: float = 60.0,
        prvkey: str | None = None,
        *,
        executortype: str = "",
        stop_states: Iterable[int] | None = None,
    ) -> Process:
        """Wait until the process reaches `state` and return it.

        Upstream only notifies the exact state subscribed to, so a failed process would block a
        wait for SUCCESS until the timeout. When `state` is terminal, the other terminal states are
        watched too (one subscription each) and the process is returned in whichever comes first:
        check `.state`. Raises TimeoutError when nothing arrives in time.
        """
        key = self._key("subscribeprocessmsg", prvkey)
        processid = _pid(process)
        if stop_states is None:
            stop_states = TERMINAL_STATES if state in TERMINAL_STATES else ()
        watched = [state] + [s for s in dict.fromkeys(stop_states) if s != state]
        tasks = {
            asyncio.create_task(self._wait_state(processid, s, timeout, executortype, key)): s for s in watched
        }
        pending = set(tasks)
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                errors = {tasks[task]: task.exception() for task in done}
                for task in done:
                    if errors[tasks[task]] is None:
                        return task.result()
                # Subscriptions to extra states are best effort (an older node may refuse one).
                if errors.get(state) is not None:
                    raise errors[state]  # type: ignore[misc]
            raise TimeoutError(f"process {processid} did not reach state {state} in {timeout} s")
        finally:
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    async def _wait_state(self, processid: str, state: int, timeout: float, executortype: str, key: str | None) -> Process:
        msg = messages.SubscribeProcessMsg(
            msgtype="subscribeprocessmsg",
            processid=processid,
            executortype=executortype,
            state=state,
            timeout=max(1, math.ceil(timeout)),
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        timed_out = TimeoutError(f"process {processid} did not reach state {state} in {timeout} s")
        async with self._http().ws_connect(_ws_url(self.url), timeout=aiohttp.ClientWSTimeout(ws_close=5.0)) as ws:
            await ws.send_str(wire.build_request(msg, key).decode())
            while (remaining := deadline - loop.time()) > 0:
                try:
                    reply = await ws.receive(timeout=remaining)
                except asyncio.TimeoutError:
                    raise timed_out from None
                if reply.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    found = _decode_ws(reply)
                    if found.state == state:
                        return found
                elif reply.type == aiohttp.WSMsgType.ERROR:
                    raise ConnectionError(f"websocket error: {ws.exception()}")
                else:  # the node closes the socket when its subscription timeout passes
                    raise timed_out
            raise timed_out

    async def subscribe_processes(
        self,
        colonyname: str,
        executortype: str,
        state: int,
        timeout: float,
        prvkey: str | None = None,
    ) -> AsyncGenerator[Process, None]:
        """Yield processes of `executortype` entering `state` until the node ends the subscription
        after `timeout` seconds. The caller must be an executor; upstream ignores `colonyname`."""
        msg = messages.SubscribeProcessesMsg(
            msgtype="subscribeprocessesmsg",
            colonyname=colonyname,
            executortype=executortype,
            state=state,
            timeout=max(1, math.ceil(timeout)),
        )
        key = self._key(msg.msgtype, prvkey)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout + LONG_POLL_MARGIN
        async with self._http().ws_connect(_ws_url(self.url), timeout=aiohttp.ClientWSTimeout(ws_close=5.0)) as ws:
            await ws.send_str(wire.build_request(msg, key).decode())
            while (remaining := deadline - loop.time()) > 0:
                try:
                    reply = await ws.receive(timeout=remaining)
                except asyncio.TimeoutError:
                    return
                if reply.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    yield _decode_ws(reply)
                elif reply.type == aiohttp.WSMsgType.ERROR:
                    raise ConnectionError(f"websocket error: {ws.exception()}")
                else:
                    return

    # --- locations (§2.3) -----------------------------------------------------------------
    async def add_location(
        self,
        colonyname: str,
        name: str,
        prvkey: str | None = None,
        *,
        description: str = "",
        long: float = 0.0,
        lat: float = 0.0,
        locationid: str = "",
    ) -> models.Location:
        """Add a named location to a colony (signed by the colony owner); the node makes up the id."""
        location = models.Location(
            locationid=locationid, name=name, colonyname=colonyname, description=description, long=long, lat=lat
        )
        msg = messages.AddLocationMsg(msgtype="addlocationmsg", location=location)
        return await self._call(msg, models.Location, prvkey)

    async def list_locations(self, colonyname: str, prvkey: str | None = None) -> list[models.Location]:
        msg = messages.ColonyNameMsg(msgtype="getlocationsmsg", colonyname=colonyname)
        return await self._call_list(msg, models.Location, prvkey)

    async def get_location(self, colonyname: str, name: str, prvkey: str | None = None) -> models.Location:
        msg = messages.LocationNameMsg(msgtype="getlocationmsg", colonyname=colonyname, name=name)
        return await self._call(msg, models.Location, prvkey)

    async def remove_location(self, colonyname: str, name: str, prvkey: str | None = None) -> None:
        msg = messages.LocationNameMsg(msgtype="removelocationmsg", colonyname=colonyname, name=name)
        await self._call_empty(msg, prvkey)

    # --- CFS: file revisions, labels, snapshots (cfs.md §1.3) ------------------------------
    async def add_file(self, file: models.File, prvkey: str | None = None) -> models.File:
        """Record a file revision (its bytes are already in storage); the stored revision."""
        return await self._call(messages.AddFileMsg(msgtype="addfilemsg", file=file), models.File, prvkey)

    async def get_file(
        self, colonyname: str, *, fileid: str = "", label: str = "", name: str = "", latest: bool = True, prvkey: str | None = None
    ) -> list[models.File]:
        """One revision by id, or the latest (or every, newest first) revision of label + name."""
        msg = messages.GetFileMsg(msgtype="getfilemsg", colonyname=colonyname, fileid=fileid, label=label, name=name, latest=latest)
        return await self._call_list(msg, models.File, prvkey)

    async def get_files(self, colonyname: str, label: str, prvkey: str | None = None) -> list[models.FileData]:
        """The latest revision of every name directly in the label."""
        return await self._call_list(messages.GetFilesMsg(msgtype="getfilesmsg", colonyname=colonyname, label=label), models.FileData, prvkey)

    async def get_file_labels(self, colonyname: str, name: str = "", exact: bool = False, prvkey: str | None = None) -> list[models.Label]:
        msg = messages.GetFileLabelsMsg(msgtype="getfilelabelsmsg", colonyname=colonyname, name=name, exact=exact)
        return await self._call_list(msg, models.Label, prvkey)

    async def remove_file(self, colonyname: str, *, fileid: str = "", label: str = "", name: str = "", prvkey: str | None = None) -> None:
        """One revision by id, or every revision of label + name (metadata only; bytes stay in storage)."""
        await self._call_empty(messages.RemoveFileMsg(msgtype="removefilemsg", colonyname=colonyname, fileid=fileid, label=label, name=name), prvkey)

    async def resolve_files(
        self, colonyname: str, *, label: str = "", snapshotid: str = "", prvkey: str | None = None
    ) -> list[models.ResolvedFile]:
        """Where the bytes of every file under `label` (with its sub-labels) or in a snapshot are;
        all pages (`resolvefilesmsg`, ours)."""
        found: list[models.ResolvedFile] = []
        while True:
            msg = messages.ResolveFilesMsg(
                msgtype="resolvefilesmsg", colonyname=colonyname, label=label, snapshotid=snapshotid,
                offset=len(found), count=RESOLVE_PAGE,
            )
            page = await self._call_list(msg, models.ResolvedFile, prvkey)
            found += page
            if len(page) < RESOLVE_PAGE:
                return found

    async def create_snapshot(self, colonyname: str, label: str, name: str, prvkey: str | None = None) -> models.Snapshot:
        msg = messages.CreateSnapshotMsg(msgtype="createsnapshotmsg", colonyname=colonyname, label=label, name=name)
        return await self._call(msg, models.Snapshot, prvkey)

    async def get_snapshot(self, colonyname: str, *, snapshotid: str = "", name: str = "", prvkey: str | None = None) -> models.Snapshot:
        msg = messages.GetSnapshotMsg(msgtype="getsnapshotmsg", colonyname=colonyname, snapshotid=snapshotid, name=name)
        return await self._call(msg, models.Snapshot, prvkey)

    async def get_snapshots(self, colonyname: str, prvkey: str | None = None) -> list[models.Snapshot]:
        return await self._call_list(messages.GetSnapshotsMsg(msgtype="getsnapshotsmsg", colonyname=colonyname), models.Snapshot, prvkey)

    async def remove_snapshot(self, colonyname: str, *, snapshotid: str = "", name: str = "", prvkey: str | None = None) -> None:
        msg = messages.RemoveSnapshotMsg(msgtype="removesnapshotmsg", colonyname=colonyname, snapshotid=snapshotid, name=name)
        await self._call_empty(msg, prvkey)

    async def remove_all_snapshots(self, colonyname: str, prvkey: str | None = None) -> None:
        await self._call_empty(messages.RemoveAllSnapshotsMsg(msgtype="removeallsnapshotmsg", colonyname=colonyname), prvkey)

    # --- identities (§2.1) ----------------------------------------------------------------
    async def change_server_id(self, serverid: str, prvkey: str | None = None) -> None:
        """Make `serverid` the server owner (signed by the current server owner)."""
        await self._call_empty(messages.ChangeServerIdMsg(msgtype="changeserveridmsg", serverid=serverid), prvkey)

    async def change_colony_id(self, colonyname: str, colonyid: str, prvkey: str | None = None) -> None:
        """Make `colonyid` the colony owner (signed by the current colony owner)."""
        msg = messages.ChangeColonyIdMsg(msgtype="changecolonyidmsg", colonyname=colonyname, colonyid=colonyid)
        await self._call_empty(msg, prvkey)

    async def change_executor_id(self, colonyname: str, executorid: str, prvkey: str | None = None) -> None:
        """Move the calling executor to a new key; sign with its current key."""
        msg = messages.ChangeExecutorIdMsg(msgtype="changeexecutoridmsg", colonyname=colonyname, executorid=executorid)
        await self._call_empty(msg, prvkey)

    async def change_user_id(self, colonyname: str, userid: str, prvkey: str | None = None) -> None:
        """Move the calling user to a new key; sign with its current key."""
        msg = messages.ChangeUserIdMsg(msgtype="changeuseridmsg", colonyname=colonyname, userid=userid)
        await self._call_empty(msg, prvkey)


    # --- workflows (§2.7) -----------------------------------------------------------------
    async def submit_workflow(self, workflow: models.WorkflowSpec, prvkey: str | None = None) -> models.ProcessGraph:
        msg = messages.SubmitWorkflowSpecMsg(msgtype="submitworkflowspecmsg", spec=workflow)
        return await self._call(msg, models.ProcessGraph, prvkey)

    async def get_processgraph(self, processgraphid: str, prvkey: str | None = None) -> models.ProcessGraph:
        msg = messages.ProcessGraphIdMsg(msgtype="getprocessgraphmsg", processgraphid=processgraphid)
        return await self._call(msg, models.ProcessGraph, prvkey)

    async def list_processgraphs(
        self, colonyname: str, state: int, count: int = 100, prvkey: str | None = None
    ) -> list[models.ProcessGraph]:
        msg = messages.GetProcessGraphsMsg(msgtype="getprocessgraphsmsg", colonyname=colonyname, state=state, count=count)
        return await self._call_list(msg, models.ProcessGraph, prvkey)

    async def remove_processgraph(self, processgraphid: str, prvkey: str | None = None) -> None:
        msg = messages.ProcessGraphIdMsg(msgtype="removeprocessgraphmsg", processgraphid=processgraphid)
        await self._call_empty(msg, prvkey)

    async def remove_all_processgraphs(self, colonyname: str, state: int = -1, prvkey: str | None = None) -> None:
        """Colony owner only; state -1 = every graph that is not running."""
        msg = messages.RemoveAllProcessGraphsMsg(msgtype="removeallprocessgraphsmsg", colonyname=colonyname, state=state)
        await self._call_empty(msg, prvkey)

    async def cancel_processgraph(self, processgraphid: str, prvkey: str | None = None) -> None:
        msg = messages.ProcessGraphIdMsg(msgtype="cancelprocessgraphmsg", processgraphid=processgraphid)
        await self._call_empty(msg, prvkey)

    async def add_child(
        self,
        processgraphid: str,
        parent: ProcessRef,
        spec: FunctionSpec,
        *,
        insert: bool = False,
        child: ProcessRef = "",
        prvkey: str | None = None,
    ) -> Process:
        """Add a process under the running `parent` (only its executor may): between it and its
        children with `insert`, else beside them (and before `child` if given)."""
        msg = messages.AddChildMsg(
            msgtype="addchildmsg",
            processgraphid=processgraphid,
            parentprocessid=_pid(parent),
            childprocessid=_pid(child) if child else "",
            insert=insert,
            spec=spec,
        )
        return await self._call(msg, Process, prvkey)

    # --- channels (§2.11, §4.8) -----------------------------------------------------------
    async def channel_append(
        self,
        process: ProcessRef,
        name: str,
        sequence: int,
        payload: bytes,
        *,
        payloadtype: str = "",
        inreplyto: int = 0,
        prvkey: str | None = None,
    ) -> None:
        msg = messages.ChannelAppendMsg(
            msgtype="channelappendmsg",
            processid=_pid(process),
            name=name,
            sequence=sequence,
            inreplyto=inreplyto,
            payload=wire.b64encode(payload),
            payloadtype=payloadtype,
        )
        await self._call_empty(msg, prvkey)

    async def channel_read(
        self, process: ProcessRef, name: str, afterseq: int = 0, limit: int = 0, prvkey: str | None = None
    ) -> list[models.ChannelEntry]:
        """Entries after log index `afterseq` (0 = from the start); `limit` 0 = all."""
        msg = messages.ChannelReadMsg(msgtype="channelreadmsg", processid=_pid(process), name=name, afterseq=afterseq, limit=limit)
        return await self._call_list(msg, models.ChannelEntry, prvkey)

    async def subscribe_channel(
        self, process: ProcessRef, name: str, afterseq: int = 0, timeout: float = 30.0, prvkey: str | None = None
    ) -> AsyncGenerator[models.ChannelEntry, None]:
        """Yield the channel's entries after `afterseq`, then new ones as they come, until `timeout`."""
        msg = messages.SubscribeChannelMsg(
            msgtype="subscribechannelmsg", processid=_pid(process), name=name, afterseq=afterseq, timeout=max(1, math.ceil(timeout))
        )
        key = self._key(msg.msgtype, prvkey)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout + LONG_POLL_MARGIN
        async with self._http().ws_connect(_ws_url(self.url), timeout=aiohttp.ClientWSTimeout(ws_close=5.0)) as ws:
            await ws.send_str(wire.build_request(msg, key).decode())
            while (remaining := deadline - loop.time()) > 0:
                try:
                    reply = await ws.receive(timeout=remaining)
                except asyncio.TimeoutError:
                    return
                if reply.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    return
                _, payload = wire.decode_reply(reply.data if isinstance(reply.data, bytes) else reply.data.encode())
                entries = msgspec.json.decode(payload, type=list[models.ChannelEntry] | None) or []
                if not entries:
                    return  # the node's end-of-subscription marker
                for entry in entries:
                    yield entry

    # --- crons (§2.10, §4.9) --------------------------------------------------------------
    async def add_cron(
        self,
        colonyname: str,
        name: str,
        workflow: models.WorkflowSpec,
        prvkey: str | None = None,
        *,
        cronexpression: str = "",
        interval: int = -1,
        random: bool = False,
        waitforprevprocessgraph: bool = False,
    ) -> models.Cron:
        """Run `workflow` on a 6-field cron expression (with seconds), or every `interval` seconds
        (`random`: after a random delay in [0, interval) instead)."""
        cron = models.Cron(
            colonyname=colonyname,
            name=name,
            cronexpression=cronexpression,
            interval=interval,
            random=random,
            workflowspec=msgspec.json.encode(workflow).decode(),
            waitforprevprocessgraph=waitforprevprocessgraph,
        )
        msg = messages.AddCronMsg(msgtype="addcronmsg", cron=msgspec.to_builtins(cron))
        return await self._call(msg, models.Cron, prvkey)

    async def get_cron(self, cronid: str, prvkey: str | None = None) -> models.Cron:
        return await self._call(messages.CronIdMsg(msgtype="getcronmsg", cronid=cronid), models.Cron, prvkey)

    async def list_crons(self, colonyname: str, count: int = 100, prvkey: str | None = None) -> list[models.Cron]:
        msg = messages.GetCronsMsg(msgtype="getcronsmsg", colonyname=colonyname, count=count)
        return await self._call_list(msg, models.Cron, prvkey)

    async def run_cron(self, cronid: str, prvkey: str | None = None) -> models.Cron:
        """Start the cron's workflow now (unless it waits for an unfinished previous run)."""
        return await self._call(messages.CronIdMsg(msgtype="runcronmsg", cronid=cronid), models.Cron, prvkey)

    async def remove_cron(self, cronid: str, prvkey: str | None = None) -> None:
        await self._call_empty(messages.CronIdMsg(msgtype="removecronmsg", cronid=cronid), prvkey)

    # --- generators (§2.10, §4.10) --------------------------------------------------------
    async def add_generator(
        self,
        colonyname: str,
        name: str,
        workflow: models.WorkflowSpec,
        trigger: int,
        timeout: int = -1,
        prvkey: str | None = None,
    ) -> models.Generator:
        """Submit `workflow` for every `trigger` packed args (roots get them as `args`, in pack
        order), or with fewer once `timeout` seconds (> 0) passed since the last run."""
        generator = models.Generator(
            colonyname=colonyname,
            name=name,
            workflowspec=msgspec.json.encode(workflow).decode(),
            trigger=trigger,
            timeout=timeout,
        )
        msg = messages.AddGeneratorMsg(msgtype="addgeneratormsg", generator=generator)
        return await self._call(msg, models.Generator, prvkey)

    async def get_generator(self, generatorid: str, prvkey: str | None = None) -> models.Generator:
        msg = messages.GeneratorIdMsg(msgtype="getgeneratormsg", generatorid=generatorid)
        return await self._call(msg, models.Generator, prvkey)

    async def resolve_generator(self, colonyname: str, name: str, prvkey: str | None = None) -> models.Generator:
        msg = messages.ResolveGeneratorMsg(msgtype="resolvegeneratormsg", colonyname=colonyname, generatorname=name)
        return await self._call(msg, models.Generator, prvkey)

    async def list_generators(self, colonyname: str, count: int = 100, prvkey: str | None = None) -> list[models.Generator]:
        msg = messages.GetGeneratorsMsg(msgtype="getgeneratorsmsg", colonyname=colonyname, count=count)
        return await self._call_list(msg, models.Generator, prvkey)

    async def pack_generator(self, generatorid: str, arg: str, prvkey: str | None = None) -> None:
        """Queue one argument for the generator's next workflow."""
        msg = messages.PackGeneratorMsg(msgtype="packgeneratormsg", generatorid=generatorid, arg=arg)
        await self._call_empty(msg, prvkey)

    async def remove_generator(self, generatorid: str, prvkey: str | None = None) -> None:
        msg = messages.GeneratorIdMsg(msgtype="removegeneratormsg", generatorid=generatorid)
        await self._call_empty(msg, prvkey)

# --- blocking facade ----------------------------------------------------------------------
def _sync(method: Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, T]]) -> Callable[Concatenate[Client, P], T]:
    def call(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._run(method(self.aio, *args, **kwargs))

    call.__name__ = method.__name__
    call.__qualname__ = f"Client.{method.__name__}"
    call.__doc__ = method.__doc__
    return call


class Client:
    """Blocking client with the methods of `AsyncClient`, for scripts and notebooks.

    Calls run on a private event loop in a daemon thread, so this also works where another loop
    is already running (Jupyter, inside async code). Use `with Client(...) as c:` or `shutdown()`.
    """

    def __init__(
        self,
        url: str,
        prvkey: str | None = None,
        *,
        max_connections: int = 100,
        timeout: float = 60.0,
        verify: bool | None = None,
        cafile: str | None = None,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="colonies-client", daemon=True)
        self._thread.start()
        self.aio = AsyncClient(url, prvkey, max_connections=max_connections, timeout=timeout, verify=verify, cafile=cafile)

    @property
    def url(self) -> str:
        return self.aio.url

    @property
    def prvkey(self) -> str | None:
        return self.aio.prvkey

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def _run(self, coro: Awaitable[T]) -> T:
        if threading.current_thread() is self._thread:
            raise RuntimeError("Client methods cannot be called from its own event loop thread")
        if self._loop.is_closed():
            raise RuntimeError("Client is shut down")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()  # type: ignore[arg-type]

    def shutdown(self) -> None:
        """Close the HTTP session and stop the background loop."""
        if self._loop.is_closed():
            return
        try:
            self._run(self.aio.aclose())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def subscribe_processes(
        self, colonyname: str, executortype: str, state: int, timeout: float, prvkey: str | None = None
    ) -> Iterator[Process]:
        return self._iterate(self.aio.subscribe_processes(colonyname, executortype, state, timeout, prvkey))

    def subscribe_channel(
        self, process: ProcessRef, name: str, afterseq: int = 0, timeout: float = 30.0, prvkey: str | None = None
    ) -> Iterator[models.ChannelEntry]:
        return self._iterate(self.aio.subscribe_channel(process, name, afterseq, timeout, prvkey))

    def _iterate(self, agen: AsyncGenerator[T, None]) -> Iterator[T]:
        try:
            while True:
                try:
                    yield self._run(agen.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            if not self._loop.is_closed():
                self._run(agen.aclose())

    rpc = _sync(AsyncClient.rpc)
    version = _sync(AsyncClient.version)
    server_info = _sync(AsyncClient.server_info)
    statistics = _sync(AsyncClient.statistics)
    add_colony = _sync(AsyncClient.add_colony)
    remove_colony = _sync(AsyncClient.remove_colony)
    list_colonies = _sync(AsyncClient.list_colonies)
    get_colony = _sync(AsyncClient.get_colony)
    colony_stats = _sync(AsyncClient.colony_stats)
    add_user = _sync(AsyncClient.add_user)
    list_users = _sync(AsyncClient.list_users)
    get_user = _sync(AsyncClient.get_user)
    get_user_by_id = _sync(AsyncClient.get_user_by_id)
    remove_user = _sync(AsyncClient.remove_user)
    add_executor = _sync(AsyncClient.add_executor)
    list_executors = _sync(AsyncClient.list_executors)
    get_executor = _sync(AsyncClient.get_executor)
    get_executor_by_id = _sync(AsyncClient.get_executor_by_id)
    approve_executor = _sync(AsyncClient.approve_executor)
    reject_executor = _sync(AsyncClient.reject_executor)
    remove_executor = _sync(AsyncClient.remove_executor)
    report_allocations = _sync(AsyncClient.report_allocations)
    update_capabilities = _sync(AsyncClient.update_capabilities)
    add_function = _sync(AsyncClient.add_function)
    list_functions = _sync(AsyncClient.list_functions)
    remove_function = _sync(AsyncClient.remove_function)
    submit = _sync(AsyncClient.submit)
    assign = _sync(AsyncClient.assign)
    get_process = _sync(AsyncClient.get_process)
    list_processes = _sync(AsyncClient.list_processes)
    process_history = _sync(AsyncClient.process_history)
    remove_process = _sync(AsyncClient.remove_process)
    remove_all_processes = _sync(AsyncClient.remove_all_processes)
    close = _sync(AsyncClient.close)
    fail = _sync(AsyncClient.fail)
    set_output = _sync(AsyncClient.set_output)
    cancel = _sync(AsyncClient.cancel)
    pause_assignments = _sync(AsyncClient.pause_assignments)
    resume_assignments = _sync(AsyncClient.resume_assignments)
    get_pause_status = _sync(AsyncClient.get_pause_status)
    add_attribute = _sync(AsyncClient.add_attribute)
    get_attribute = _sync(AsyncClient.get_attribute)
    add_log = _sync(AsyncClient.add_log)
    add_executor_log = _sync(AsyncClient.add_executor_log)
    get_logs = _sync(AsyncClient.get_logs)
    search_logs = _sync(AsyncClient.search_logs)
    wait = _sync(AsyncClient.wait)
    submit_workflow = _sync(AsyncClient.submit_workflow)
    get_processgraph = _sync(AsyncClient.get_processgraph)
    list_processgraphs = _sync(AsyncClient.list_processgraphs)
    remove_processgraph = _sync(AsyncClient.remove_processgraph)
    remove_all_processgraphs = _sync(AsyncClient.remove_all_processgraphs)
    cancel_processgraph = _sync(AsyncClient.cancel_processgraph)
    add_child = _sync(AsyncClient.add_child)
    channel_append = _sync(AsyncClient.channel_append)
    channel_read = _sync(AsyncClient.channel_read)
    add_location = _sync(AsyncClient.add_location)
    list_locations = _sync(AsyncClient.list_locations)
    get_location = _sync(AsyncClient.get_location)
    remove_location = _sync(AsyncClient.remove_location)
    add_file = _sync(AsyncClient.add_file)
    get_file = _sync(AsyncClient.get_file)
    get_files = _sync(AsyncClient.get_files)
    get_file_labels = _sync(AsyncClient.get_file_labels)
    remove_file = _sync(AsyncClient.remove_file)
    create_snapshot = _sync(AsyncClient.create_snapshot)
    get_snapshot = _sync(AsyncClient.get_snapshot)
    get_snapshots = _sync(AsyncClient.get_snapshots)
    remove_snapshot = _sync(AsyncClient.remove_snapshot)
    remove_all_snapshots = _sync(AsyncClient.remove_all_snapshots)
    resolve_files = _sync(AsyncClient.resolve_files)
    change_server_id = _sync(AsyncClient.change_server_id)
    change_colony_id = _sync(AsyncClient.change_colony_id)
    change_executor_id = _sync(AsyncClient.change_executor_id)
    change_user_id = _sync(AsyncClient.change_user_id)
    add_cron = _sync(AsyncClient.add_cron)
    get_cron = _sync(AsyncClient.get_cron)
    list_crons = _sync(AsyncClient.list_crons)
    run_cron = _sync(AsyncClient.run_cron)
    remove_cron = _sync(AsyncClient.remove_cron)
    add_generator = _sync(AsyncClient.add_generator)
    get_generator = _sync(AsyncClient.get_generator)
    resolve_generator = _sync(AsyncClient.resolve_generator)
    list_generators = _sync(AsyncClient.list_generators)
    pack_generator = _sync(AsyncClient.pack_generator)
    remove_generator = _sync(AsyncClient.remove_generator)
