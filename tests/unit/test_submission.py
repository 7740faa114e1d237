"""From a submitted function spec to a process row (spec §2.6, §3.5, §4.3)."""
from __future__ import annotations

import hashlib
import json

import pytest

from colonies.models import ENV, WAITING, Conditions, FunctionSpec
from colonies.node.domain.submission import NS, attribute_id, prioritytime, process_row, validate_spec
from colonies.node.domain.errors import Invalid

NOW = 1_760_000_000_000_000_000


def spec(**fields) -> FunctionSpec:
    conditions = fields.pop("conditions", {})
    return FunctionSpec(
        funcname=fields.pop("funcname", "f"),
        conditions=Conditions(**{"colonyname": "dev", "executortype": "test", **conditions}),
        **fields,
    )


# --- validation -----------------------------------------------------------------------------
@pytest.mark.parametrize("priority", [-50_000, 0, 50_000])
def test_priorities_within_range_are_accepted(priority):
    assert validate_spec(spec(priority=priority)).priority == priority


@pytest.mark.parametrize("priority", [-50_001, 50_001, 10**12])
def test_priorities_outside_range_are_a_400(priority):
    with pytest.raises(Invalid) as err:
        validate_spec(spec(priority=priority))
    assert "priority" in err.value.message


@pytest.mark.parametrize("conditions, word", [({"colonyname": ""}, "colonyname"), ({"executortype": ""}, "executortype")])
def test_missing_colony_or_executor_type_is_a_400(conditions, word):
    with pytest.raises(Invalid) as err:
        validate_spec(spec(conditions=conditions))
    assert word in err.value.message


@pytest.mark.parametrize("field", ["maxwaittime", "maxexectime", "maxretries"])
def test_limits_below_minus_one_are_a_400(field):
    with pytest.raises(Invalid) as err:
        validate_spec(spec(**{field: -2}))
    assert field in err.value.message


@pytest.mark.parametrize("field", ["maxwaittime", "maxexectime", "maxretries"])
def test_minus_one_and_zero_limits_are_accepted(field):
    validate_spec(spec(**{field: -1}))
    validate_spec(spec(**{field: 0}))


@pytest.mark.parametrize("conditions", [{"cpu": "lots"}, {"mem": "big"}])
def test_unparseable_quantities_are_a_400(conditions):
    with pytest.raises(Invalid) as err:
        validate_spec(spec(conditions=conditions))


def test_validated_spec_has_lists_and_maps_never_null():
    normalized = validate_spec(spec())
    assert normalized.args == []
    assert normalized.kwargs == {}
    assert normalized.env == {}
    assert normalized.channels == []
    assert normalized.conditions.executornames == []
    assert normalized.conditions.dependencies == []
    assert normalized.fs is not None and normalized.fs.snapshots == [] and normalized.fs.dirs == []


def test_wildcard_executor_name_means_anyone():
    assert validate_spec(spec(conditions={"executornames": ["*"]})).conditions.executornames == []
    assert validate_spec(spec(conditions={"executornames": ["a", "*", ""]})).conditions.executornames == ["a"]


# --- the process row ------------------------------------------------------------------------
def row_for(s: FunctionSpec, now: int = NOW):
    return process_row(validate_spec(s), initiatorid="i" * 64, initiatorname="alice", now=now)


def test_new_process_is_waiting_unassigned_with_its_submission_time():
    row, attrs = row_for(spec(priority=2))
    assert row["state"] == WAITING
    assert row["isassigned"] is False
    assert row["submissiontime"] == NOW
    assert row["prioritytime"] == prioritytime(2, NOW)
    assert row["initiatorid"] == "i" * 64
    assert row["initiatorname"] == "alice"
    assert len(row["processid"]) == 64
    assert attrs == []


def test_each_process_gets_a_fresh_id():
    assert row_for(spec())[0]["processid"] != row_for(spec())[0]["processid"]


@pytest.mark.parametrize("maxwaittime", [0, -1])
def test_zero_or_minus_one_maxwaittime_sets_no_wait_deadline(maxwaittime):
    assert row_for(spec(maxwaittime=maxwaittime))[0]["waitdeadline"] == 0


def test_positive_maxwaittime_sets_the_wait_deadline():
    assert row_for(spec(maxwaittime=30))[0]["waitdeadline"] == NOW + 30 * NS


def test_exec_deadline_is_only_set_at_assignment():
    assert row_for(spec(maxexectime=30))[0]["execdeadline"] == 0


def test_conditions_are_stored_for_matching():
    row, _ = row_for(spec(conditions={"executornames": ["a", "b"], "locationname": "Lab-1", "cpu": "500m", "mem": "1Gi"}))
    assert json.loads(row["executornames"]) == ["a", "b"]
    assert row["locationname"] == "lab-1"
    assert row["cpu"] == 500
    assert row["mem"] == 1024


def test_untargeted_process_has_empty_executor_names():
    assert row_for(spec())[0]["executornames"] == ""


def test_env_becomes_env_attributes_with_deterministic_ids():
    row, attrs = row_for(spec(env={"code": "cHJpbnQ=", "mode": "fast"}))
    assert row["hasattributes"] is True
    by_key = {a["key"]: a for a in attrs}
    assert set(by_key) == {"code", "mode"}
    for key, attr in by_key.items():
        assert attr["attributetype"] == ENV
        assert attr["targetid"] == row["processid"]
        assert attr["targetcolonyname"] == "dev"
        assert attr["attributeid"] == attribute_id(row["processid"], key, ENV)
    assert by_key["mode"]["value"] == "fast"


def test_stored_spec_is_the_normalised_json():
    row, _ = row_for(spec(args=[1, "x"], kwargs={"k": "v"}))
    stored = json.loads(row["spec"])
    assert stored["args"] == [1, "x"]
    assert stored["kwargs"] == {"k": "v"}
    assert stored["conditions"]["executornames"] == []


def test_attribute_id_is_sha3_of_target_key_and_type():
    assert attribute_id("p" * 64, "key", 1) == hashlib.sha3_256(("p" * 64 + "key" + "1").encode()).hexdigest()
    assert attribute_id("p" * 64, "key", 1) != attribute_id("p" * 64, "key", 2)
