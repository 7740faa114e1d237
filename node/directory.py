"""In-memory view of who is who (server owner, colonies, users, executors).

Every RPC checks roles; answering those checks from memory keeps the database out of the hot
path. The view is loaded at start and updated by the handlers after each committed change; the
store stays the record.
"""
from __future__ import annotations

from dataclasses import dataclass

import msgspec
from sqlalchemy.engine import Connection

from colonies import models
from colonies.models import APPROVED, UNREGISTERED
from colonies.node.store import directory as q


@dataclass(slots=True)
class ColonyEntry:
    name: str
    colonyid: str
    paused: bool = False


class Directory:
    def __init__(self) -> None:
        self.server_id = ""
        self.colonies: dict[str, ColonyEntry] = {}
        self._executors: dict[tuple[str, str], models.Executor] = {}  # (colony, name)
        self._executors_by_id: dict[tuple[str, str], str] = {}  # (colony, id) -> name
        self._users: dict[tuple[str, str], models.User] = {}  # (colony, name)
        self._users_by_id: dict[tuple[str, str], str] = {}  # (colony, id) -> name

    def load(self, conn: Connection) -> None:
        self.server_id = q.get_fact(conn, "server_id") or ""
        self.colonies = {name: ColonyEntry(name, cid, paused) for name, cid, paused in q.all_colonies(conn)}
        for executor in q.all_executors(conn):
            self.put_executor(executor)
        for user in q.all_users(conn):
            self.put_user(user)

    # --- colonies ---------------------------------------------------------------------------
    def colony(self, name: str) -> ColonyEntry | None:
        return self.colonies.get(name)

    def remove_colony(self, name: str) -> None:
        self.colonies.pop(name, None)
        for key in [k for k in self._executors if k[0] == name]:
            self._executors.pop(key)
        for key in [k for k in self._users if k[0] == name]:
            self._users.pop(key)
        self._executors_by_id = {k: v for k, v in self._executors_by_id.items() if k[0] != name}
        self._users_by_id = {k: v for k, v in self._users_by_id.items() if k[0] != name}

    def change_colony_id(self, name: str, colonyid: str) -> None:
        entry = self.colonies.get(name)
        if entry is not None:
            entry.colonyid = colonyid

    # --- executors --------------------------------------------------------------------------
    def put_executor(self, executor: models.Executor) -> None:
        colonyname, name = executor.colonyname, executor.executorname
        old = self._executors.get((colonyname, name))
        if old is not None and self._executors_by_id.get((colonyname, old.executorid)) == name:
            self._executors_by_id.pop((colonyname, old.executorid))
        self._executors[(colonyname, name)] = executor
        # An id may be left on an unregistered executor and reused by a live one: the id answers
        # for the live one, whatever order the two are stored in.
        id_key = (colonyname, executor.executorid)
        holder = self._executors_by_id.get(id_key)
        if holder is None or holder == name or executor.state != UNREGISTERED or self._executors[(colonyname, holder)].state == UNREGISTERED:
            self._executors_by_id[id_key] = name

    def change_executor_id(self, colonyname: str, name: str, executorid: str) -> models.Executor | None:
        return self.update_executor(colonyname, name, executorid=executorid)

    def update_executor(self, colonyname: str, name: str, **changes: object) -> models.Executor | None:
        executor = self._executors.get((colonyname, name))
        if executor is None:
            return None
        updated = msgspec.structs.replace(executor, **changes)
        self.put_executor(updated)
        return updated

    def executor(self, colonyname: str, name: str) -> models.Executor | None:
        return self._executors.get((colonyname, name))

    def executor_by_id(self, colonyname: str, executorid: str) -> models.Executor | None:
        name = self._executors_by_id.get((colonyname, executorid))
        return self._executors.get((colonyname, name)) if name is not None else None

    def executors_of(self, colonyname: str) -> list[models.Executor]:
        return [e for (c, _), e in sorted(self._executors.items()) if c == colonyname]

    # --- users ------------------------------------------------------------------------------
    def put_user(self, user: models.User) -> None:
        self._users[(user.colonyname, user.name)] = user
        self._users_by_id[(user.colonyname, user.userid)] = user.name

    def change_user_id(self, colonyname: str, name: str, userid: str) -> models.User | None:
        user = self._users.get((colonyname, name))
        if user is None:
            return None
        self.remove_user(colonyname, name)
        changed = msgspec.structs.replace(user, userid=userid)
        self.put_user(changed)
        return changed

    def remove_user(self, colonyname: str, name: str) -> None:
        user = self._users.pop((colonyname, name), None)
        if user is not None:
            self._users_by_id.pop((colonyname, user.userid), None)

    def user(self, colonyname: str, name: str) -> models.User | None:
        return self._users.get((colonyname, name))

    def user_by_id(self, colonyname: str, userid: str) -> models.User | None:
        name = self._users_by_id.get((colonyname, userid))
        return self._users.get((colonyname, name)) if name is not None else None

    def users_of(self, colonyname: str) -> list[models.User]:
        return [u for (c, _), u in sorted(self._users.items()) if c == colonyname]

    # --- membership -------------------------------------------------------------------------
    def member_name(self, colonyname: str, caller_id: str, *, approved: bool) -> str | None:
        """The caller's executor (approved if asked; never a removed one) or user name in the colony."""
        executor = self.executor_by_id(colonyname, caller_id)
        if executor is not None and (executor.state == APPROVED or (not approved and executor.state != UNREGISTERED)):
            return executor.executorname
        user = self.user_by_id(colonyname, caller_id)
        if user is not None:
            return user.name
        return None

    def member_colonies(self, caller_id: str) -> set[str]:
        names = {c for (c, i) in self._users_by_id if i == caller_id}
        for (c, i), name in self._executors_by_id.items():
            if i == caller_id and self._executors[(c, name)].state == APPROVED:
                names.add(c)
        return names
