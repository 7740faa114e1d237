"""Role checks of an RPC call (spec §1.5) against an in-memory directory, without a node."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from colonies import models
from colonies.models import APPROVED, PENDING, REJECTED, UNREGISTERED
from colonies.node.directory import ColonyEntry, Directory
from colonies.node.rpc import Call
from colonies.wire import RPCError

SERVER = "5" * 64
OWNER = "0" * 64
APPROVED_EXECUTOR = "a" * 64
PENDING_EXECUTOR = "b" * 64
REJECTED_EXECUTOR = "c" * 64
GONE_EXECUTOR = "d" * 64
USER = "e" * 64
OTHER_COLONY_EXECUTOR = "f" * 64
STRANGER = "9" * 64


def executor(colony: str, name: str, executorid: str, state: int, executortype: str = "worker") -> models.Executor:
    return models.Executor(executorid=executorid, executorname=name, colonyname=colony, executortype=executortype, state=state)


@pytest.fixture
def directory() -> Directory:
    d = Directory()
    d.server_id = SERVER
    d.colonies["lab"] = ColonyEntry("lab", OWNER)
    d.colonies["other"] = ColonyEntry("other", "1" * 64)
    d.put_executor(executor("lab", "approved", APPROVED_EXECUTOR, APPROVED))
    d.put_executor(executor("lab", "pending", PENDING_EXECUTOR, PENDING))
    d.put_executor(executor("lab", "rejected", REJECTED_EXECUTOR, REJECTED))
    d.put_executor(executor("lab", "gone", GONE_EXECUTOR, UNREGISTERED))
    d.put_user(models.User(colonyname="lab", userid=USER, name="alice"))
    d.put_executor(executor("other", "elsewhere", OTHER_COLONY_EXECUTOR, APPROVED))
    return d


def as_caller(directory: Directory, caller_id: str) -> Call:
    return Call(SimpleNamespace(directory=directory), caller_id, "testmsg")  # type: ignore[arg-type]


def denied(fn, *args, status: int = 403, **kwargs) -> str:
    with pytest.raises(RPCError) as err:
        fn(*args, **kwargs)
    assert err.value.status == status
    return err.value.message


# --- server owner ---------------------------------------------------------------------------
def test_server_owner_passes_the_server_owner_check(directory):
    as_caller(directory, SERVER).require_server_owner()


@pytest.mark.parametrize("caller", [OWNER, APPROVED_EXECUTOR, USER, STRANGER, ""])
def test_anyone_else_fails_the_server_owner_check(directory, caller):
    assert "not server owner" in denied(as_caller(directory, caller).require_server_owner)


def test_without_a_configured_server_id_nobody_is_server_owner(directory):
    directory.server_id = ""
    denied(as_caller(directory, "").require_server_owner)
    denied(as_caller(directory, SERVER).require_server_owner)


# --- colony owner ---------------------------------------------------------------------------
def test_colony_owner_passes_the_colony_owner_check_and_gets_the_colony(directory):
    entry = as_caller(directory, OWNER).require_colony_owner("lab")
    assert entry.name == "lab" and entry.colonyid == OWNER


@pytest.mark.parametrize("caller", [SERVER, APPROVED_EXECUTOR, USER, STRANGER])
def test_others_fail_the_colony_owner_check(directory, caller):
    assert "not owner" in denied(as_caller(directory, caller).require_colony_owner, "lab")


def test_owner_of_one_colony_does_not_own_another(directory):
    denied(as_caller(directory, OWNER).require_colony_owner, "other")


def test_colony_owner_check_of_an_unknown_colony_refuses_as_for_an_existing_one(directory):
    # a stranger must not tell existing colony names from others (issue 12, item 8)
    unknown = denied(as_caller(directory, STRANGER).require_colony_owner, "nowhere")
    existing = denied(as_caller(directory, STRANGER).require_colony_owner, "lab")
    assert unknown.replace("nowhere", "lab") == existing


def test_only_the_server_owner_learns_that_a_colony_does_not_exist(directory):
    assert "does not exist" in denied(as_caller(directory, SERVER).require_member, "nowhere", status=404)
    assert "does not exist" in denied(as_caller(directory, SERVER).require_colony_owner, "nowhere", status=404)


# --- membership -----------------------------------------------------------------------------
def test_approved_executor_is_a_member_under_its_executor_name(directory):
    assert as_caller(directory, APPROVED_EXECUTOR).require_member("lab") == "approved"


def test_user_is_a_member_under_its_user_name(directory):
    assert as_caller(directory, USER).require_member("lab") == "alice"
    assert as_caller(directory, USER).require_member("lab", approved=False) == "alice"


@pytest.mark.parametrize("caller", [PENDING_EXECUTOR, REJECTED_EXECUTOR, GONE_EXECUTOR])
def test_unapproved_executor_is_not_an_approved_member(directory, caller):
    assert "not a member" in denied(as_caller(directory, caller).require_member, "lab")


def test_pending_executor_is_a_member_where_approval_is_not_required(directory):
    assert as_caller(directory, PENDING_EXECUTOR).require_member("lab", approved=False) == "pending"


@pytest.mark.parametrize("caller", [OWNER, SERVER, STRANGER, OTHER_COLONY_EXECUTOR])
def test_owners_strangers_and_other_colonies_executors_are_not_members(directory, caller):
    assert "not a member of Colony with name lab" in denied(as_caller(directory, caller).require_member, "lab")


@pytest.mark.parametrize("check", ["require_member", "require_member_or_owner", "require_executor"])
def test_membership_of_an_unknown_colony_refuses_as_for_an_existing_one(directory, check):
    unknown = denied(getattr(as_caller(directory, STRANGER), check), "nowhere")
    existing = denied(getattr(as_caller(directory, STRANGER), check), "lab")
    assert unknown.replace("nowhere", "lab") == existing


def test_member_or_owner_accepts_the_owner_and_members_only(directory):
    as_caller(directory, OWNER).require_member_or_owner("lab")
    as_caller(directory, APPROVED_EXECUTOR).require_member_or_owner("lab")
    as_caller(directory, USER).require_member_or_owner("lab")
    denied(as_caller(directory, STRANGER).require_member_or_owner, "lab")
    denied(as_caller(directory, PENDING_EXECUTOR).require_member_or_owner, "lab")
    denied(as_caller(directory, SERVER).require_member_or_owner, "lab")


# --- executor only --------------------------------------------------------------------------
def test_approved_executor_passes_the_executor_check(directory):
    got = as_caller(directory, APPROVED_EXECUTOR).require_executor("lab")
    assert got.executorname == "approved"
    assert got.executortype == "worker"


def test_user_fails_the_executor_check_as_a_user(directory):
    assert "user" in denied(as_caller(directory, USER).require_executor, "lab")


@pytest.mark.parametrize("caller", [PENDING_EXECUTOR, REJECTED_EXECUTOR, GONE_EXECUTOR])
def test_unapproved_executor_fails_the_executor_check(directory, caller):
    assert "not approved" in denied(as_caller(directory, caller).require_executor, "lab")


@pytest.mark.parametrize("caller", [OWNER, STRANGER, OTHER_COLONY_EXECUTOR])
def test_non_members_fail_the_executor_check(directory, caller):
    assert "not a member" in denied(as_caller(directory, caller).require_executor, "lab")


# --- the directory keeps the checks current -------------------------------------------------
def test_approving_an_executor_makes_it_a_member(directory):
    directory.update_executor("lab", "pending", state=APPROVED)
    assert as_caller(directory, PENDING_EXECUTOR).require_member("lab") == "pending"


def test_unregistering_an_executor_revokes_membership(directory):
    directory.update_executor("lab", "approved", state=UNREGISTERED)
    denied(as_caller(directory, APPROVED_EXECUTOR).require_member, "lab")


def test_removing_a_user_revokes_membership(directory):
    directory.remove_user("lab", "alice")
    denied(as_caller(directory, USER).require_member, "lab")
    assert directory.user_by_id("lab", USER) is None


def test_removing_a_colony_forgets_its_members_but_not_others(directory):
    directory.remove_colony("lab")
    denied(as_caller(directory, APPROVED_EXECUTOR).require_member, "lab")
    assert directory.executor_by_id("lab", APPROVED_EXECUTOR) is None
    assert directory.user_by_id("lab", USER) is None
    assert as_caller(directory, OTHER_COLONY_EXECUTOR).require_member("other") == "elsewhere"


def test_re_registering_a_name_with_a_new_key_drops_the_old_key(directory):
    new_key = "7" * 64
    directory.put_executor(executor("lab", "approved", new_key, APPROVED))
    assert as_caller(directory, new_key).require_member("lab") == "approved"
    denied(as_caller(directory, APPROVED_EXECUTOR).require_member, "lab")


def test_one_key_may_be_a_member_of_several_colonies(directory):
    directory.put_user(models.User(colonyname="other", userid=USER, name="alice-too"))
    assert as_caller(directory, USER).require_member("lab") == "alice"
    assert as_caller(directory, USER).require_member("other") == "alice-too"
    assert directory.member_colonies(USER) == {"lab", "other"}


def test_member_colonies_counts_only_approved_executors(directory):
    assert directory.member_colonies(APPROVED_EXECUTOR) == {"lab"}
    assert directory.member_colonies(PENDING_EXECUTOR) == set()
    assert directory.member_colonies(STRANGER) == set()
