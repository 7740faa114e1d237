"""RPC dispatch: msgtype → (message type, handler), the call context and the role checks (spec §1.5)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, TypeVar

import msgspec

from colonies import models
from colonies.messages import Msg
from colonies.node.directory import ColonyEntry
from colonies.node.domain import errors
from colonies.node.store.database import Conflict as StoreConflict
from colonies.node.decode import SlicedDecoder
from colonies.wire import RPCError

if TYPE_CHECKING:
    from colonies.node.core import NodeCore

M = TypeVar("M", bound=Msg)
Handler = Callable[["Call", Any], Awaitable[Any]]

EMPTY: dict[str, Any] = {}
# the owner id of a colony that does not exist: no recovered id (64 hex digits) equals it
NOBODY = "-"


@dataclass(slots=True)
class Route:
    msgtype: str
    decoder: msgspec.json.Decoder[Any]
    handler: Handler
    reply_payloadtype: str
    # big bodies: decoded a slice at a time, this list field's items in batches
    sliced: SlicedDecoder | None = None


ROUTES: dict[str, Route] = {}


def rpc(
    msgtype: str, message: type[M], *, reply_payloadtype: str | None = None, sliced: tuple[str, ...] | None = None
) -> Callable[[Callable[["Call", M], Awaitable[Any]]], Callable[["Call", M], Awaitable[Any]]]:
    """Register a handler for `msgtype`; the payload is decoded into `message` (validated).
    `sliced`: the path of a list field that can be big (decoded in batches, node/decode.py)."""

    def register(handler: Callable[["Call", M], Awaitable[Any]]) -> Callable[["Call", M], Awaitable[Any]]:
        if msgtype in ROUTES:
            raise RuntimeError(f"duplicate handler for {msgtype}")
        decoder = SlicedDecoder(message, sliced) if sliced else None
        ROUTES[msgtype] = Route(msgtype, msgspec.json.Decoder(message), handler, reply_payloadtype or msgtype, decoder)
        return handler

    return register


@dataclass(slots=True)
class Call:
    """One authenticated request: who signed it and the node it reached."""

    node: "NodeCore"
    caller_id: str
    msgtype: str

    @staticmethod
    def now() -> int:
        return time.time_ns()

    # --- role checks ------------------------------------------------------------------------
    def require_server_owner(self) -> None:
        if not self.node.directory.server_id or self.caller_id != self.node.directory.server_id:
            raise RPCError(403, "Access denied, not server owner")

    def colony(self, colonyname: str):  # type: ignore[no-untyped-def]
        """The colony's entry. A colony that does not exist is a 404 for the server owner only
        (who lists them anyway); anyone else gets an entry nobody owns or belongs to, so every
        check refuses them exactly as it refuses a stranger to an existing colony."""
        entry = self.node.directory.colony(colonyname)
        if entry is None:
            if self.node.directory.server_id and self.caller_id == self.node.directory.server_id:
                raise RPCError(404, f"Colony with name {colonyname} does not exists")
            return ColonyEntry(colonyname, NOBODY)
        return entry

    def require_colony_owner(self, colonyname: str):  # type: ignore[no-untyped-def]
        entry = self.colony(colonyname)
        if entry.colonyid != self.caller_id:
            raise RPCError(403, f"Access denied, not owner of Colony with name {colonyname}")
        return entry

    def require_member(self, colonyname: str, *, approved: bool = True) -> str:
        """The caller's name in the colony (executor or user name)."""
        self.colony(colonyname)
        name = self.node.directory.member_name(colonyname, self.caller_id, approved=approved)
        if name is None:
            raise RPCError(403, f"Access denied, not a member of Colony with name {colonyname}")
        return name

    def require_member_or_owner(self, colonyname: str) -> None:
        entry = self.colony(colonyname)
        if entry.colonyid == self.caller_id:
            return
        self.require_member(colonyname)

    def require_executor(self, colonyname: str) -> models.Executor:
        """The caller must be an approved executor of the colony."""
        self.colony(colonyname)
        executor = self.node.directory.executor_by_id(colonyname, self.caller_id)
        if executor is None:
            if self.node.directory.user_by_id(colonyname, self.caller_id) is not None:
                raise RPCError(403, "Access denied, caller is a user, not an executor")
            raise RPCError(403, f"Access denied, not a member of Colony with name {colonyname}")
        if executor.state != models.APPROVED:
            raise RPCError(403, f"Access denied, executor {executor.executorname} is not approved")
        return executor


async def running_process_of_caller(call: Call, processid: str, what: str) -> Any:
    """The process, if it exists, the caller is a member of its colony, runs it and it is running."""
    from colonies.node.store import processes as pq

    record = await call.node.db.read(lambda conn: pq.get_record(conn, processid))
    if record is None:
        raise RPCError(404, f"Process with id {processid} not found")
    call.require_member(record.colonyname)
    if record.assignedexecutorid != call.caller_id:
        raise RPCError(403, f"Access denied, only the executor assigned to the process may {what}")
    if record.state != models.RUNNING:
        raise RPCError(400, f"Failed to {what}, process is not running")
    return record


def bad_request(message: str) -> RPCError:
    return RPCError(400, message)


def not_found(message: str) -> RPCError:
    return RPCError(404, message)


def require(value: bool, message: str, status: int = 400) -> None:
    if not value:
        raise RPCError(status, message)


# the one place a domain refusal gets its status
_STATUS: dict[type[errors.DomainError], int] = {
    errors.Invalid: 400,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
}


def refusal(err: errors.DomainError | StoreConflict) -> RPCError:
    """The reply for an error the domain or the store raised."""
    if isinstance(err, StoreConflict):
        return RPCError(409, f"Failed to handle the request, {err}")
    return RPCError(_STATUS.get(type(err), 400), err.message)
