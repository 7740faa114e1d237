"""Blueprint schema validation, spec comparison and the processes/cron derived from a definition."""
from __future__ import annotations

import msgspec
import pytest

from colonies.blueprint_models import (
    Blueprint,
    BlueprintDefinition,
    BlueprintHandler,
    BlueprintMetadata,
)
from colonies.node.domain import blueprints as bp
from colonies.node.domain.errors import Invalid

SCHEMA = {
    "type": "object",
    "properties": {
        "replicas": {"type": "integer", "minimum": 1},
        "ports": {"type": "array", "items": {"type": "integer"}},
        "tier": {"enum": ["gold", "silver"]},
        "db": {"type": "object", "properties": {"size": {"type": "string"}}, "required": ["size"]},
    },
    "required": ["replicas"],
}


def definition(schema: dict | None = None, **handler: object) -> BlueprintDefinition:
    document: dict = {"spec": {"names": {"kind": "Deployment"}, "handler": {"executorType": "k8s", "functionName": "reconcile", **handler}}}
    if schema is not None:
        document["spec"]["schema"] = schema
    return msgspec.convert(document, type=BlueprintDefinition)


def blueprint(location: str = "", handler: BlueprintHandler | None = None) -> Blueprint:
    meta = BlueprintMetadata(name="web", colonyname="dev", locationname=location)
    return Blueprint(kind="Deployment", metadata=meta, handler=handler, spec={"replicas": 2})


# --- schema ---------------------------------------------------------------------------------------
def test_a_spec_satisfying_the_schema_has_no_problem():
    assert bp.spec_problem(SCHEMA, {"replicas": 2, "ports": [80, 443], "tier": "gold", "db": {"size": "1Gi"}}) is None


def test_integral_floats_count_as_integers():
    assert bp.spec_problem(SCHEMA, {"replicas": 3.0}) is None


@pytest.mark.parametrize(
    ("spec", "where", "words"),
    [
        ({}, "spec", "'replicas' is a required property"),
        ({"replicas": "two"}, "spec.replicas", "is not of type 'integer'"),
        ({"replicas": 0}, "spec.replicas", "less than the minimum"),
        ({"replicas": 1, "ports": [80, "http"]}, "spec.ports[1]", "is not of type 'integer'"),
        ({"replicas": 1, "tier": "bronze"}, "spec.tier", "is not one of"),
        ({"replicas": 1, "db": {}}, "spec.db", "'size' is a required property"),
    ],
)
def test_a_violation_names_where_and_why(spec, where, words):
    problem = bp.spec_problem(SCHEMA, spec)
    assert problem is not None
    assert problem.startswith(f"{where}: ") and words in problem


def test_references_inside_the_schema_resolve_and_remote_ones_are_refused_without_fetching():
    local = {"$defs": {"n": {"type": "integer"}}, "properties": {"replicas": {"$ref": "#/$defs/n"}}}
    assert bp.spec_problem(local, {"replicas": 1}) is None
    assert "replicas" in (bp.spec_problem(local, {"replicas": "x"}) or "")
    remote = {"$ref": "https://schemas.invalid/deployment.json"}
    assert "refers to" in (bp.spec_problem(remote, {}) or "")


def test_an_invalid_schema_is_reported_with_its_place():
    assert bp.schema_problem(SCHEMA) is None
    problem = bp.schema_problem({"properties": {"replicas": {"type": "whole-number"}}})
    assert problem is not None and problem.startswith("schema.properties.replicas.type: ")
    assert bp.schema_problem({"properties": {"name": {"pattern": "(unclosed"}}}) is not None


def test_a_definition_needs_a_valid_schema_and_a_sane_interval_but_no_handler():
    bp.check_definition(definition(SCHEMA, reconcileInterval=30))
    bp.check_definition(definition(functionName="", executorType=""))
    for broken in (definition({"type": 7}), definition(reconcileInterval=-5)):
        with pytest.raises(Invalid) as err:
            bp.check_definition(broken)
    with pytest.raises(Invalid) as err:
        bp.check_definition(definition({"type": 7}))
    assert "invalid schema" in err.value.message


# --- spec comparison --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "b"),
    [({"a": 1}, {"a": 1.0}), ({"a": 1, "b": [1, {"c": None}]}, {"b": [1, {"c": None}], "a": 1}), ({}, {})],
)
def test_equal_json_values_are_the_same_spec(a, b):
    assert bp.same_json(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [({"a": 1}, {"a": True}), ({"a": 0}, {"a": False}), ({"a": [1, 2]}, {"a": [2, 1]}), ({"a": None}, {}), ({"a": "1"}, {"a": 1})],
)
def test_different_json_values_are_a_changed_spec(a, b):
    assert not bp.same_json(a, b)


# --- derived processes and cron ---------------------------------------------------------------------
def test_reconcile_process_goes_to_the_handler_at_the_blueprint_location():
    spec = bp.reconcile_spec(blueprint("edge"), definition(), force=False)
    assert (spec.funcname, spec.conditions.executortype, spec.conditions.locationname) == ("reconcile", "k8s", "edge")
    assert spec.conditions.colonyname == "dev"
    assert spec.kwargs == {"kind": "Deployment", "blueprintName": "web"}
    assert (spec.maxwaittime, spec.maxexectime, spec.maxretries) == (-1, -1, -1)
    assert bp.reconcile_spec(blueprint(), definition(), force=True).kwargs == {"kind": "Deployment", "blueprintName": "web", "force": True}


def test_a_handler_without_a_function_name_reconciles_with_reconcile_and_none_has_no_handler():
    assert bp.reconcile_spec(blueprint(), definition(functionName=""), force=False).funcname == "reconcile"
    assert bp.has_handler(blueprint(), definition()) and not bp.has_handler(blueprint(), definition(executorType=""))
    assert bp.has_handler(blueprint(handler=BlueprintHandler(executorType="edge")), definition(executorType=""))


def test_a_blueprint_handler_executor_type_overrides_the_definition():
    spec = bp.reconcile_spec(blueprint(handler=BlueprintHandler(executorType="edge-k8s")), definition(), force=False)
    assert spec.conditions.executortype == "edge-k8s"


def test_cleanup_process_names_the_removed_blueprint():
    spec = bp.cleanup_spec(blueprint(), definition())
    assert (spec.funcname, spec.kwargs) == ("cleanup", {"kind": "Deployment", "blueprintName": "web"})


def test_cron_name_interval_and_workflow():
    assert bp.cron_name("Deployment", "") == "reconcile-Deployment"
    assert bp.cron_name("Deployment", "edge") == "reconcile-Deployment-edge"
    assert bp.reconcile_interval(definition()) == 60
    assert bp.reconcile_interval(definition(reconcileInterval=0)) == 60
    assert bp.reconcile_interval(definition(reconcileInterval=5)) == 5
    workflow = bp.cron_workflow(blueprint("edge"), definition())
    [step] = workflow.functionspecs or []
    assert workflow.colonyname == "dev"
    assert (step.nodename, step.funcname, step.kwargs) == ("reconcile", "reconcile", {"kind": "Deployment"})
    assert step.conditions.locationname == "edge"


def test_wire_form_leaves_out_empty_optionals_and_always_has_times():
    wire = msgspec.json.decode(msgspec.json.encode(bp.normalized(Blueprint(kind="K", metadata=BlueprintMetadata(name="n", colonyname="c", labels={}), status={}))))
    assert wire["spec"] == {}
    assert "status" not in wire and "handler" not in wire
    assert set(wire["metadata"]) == {"name", "colonyname", "createdAt", "updatedAt", "lastReconciliationTime"}
    assert wire["metadata"]["createdAt"] == "0001-01-01T00:00:00Z"


def test_stored_definition_gets_an_id_its_kind_and_drops_empty_optionals():
    stored = bp.normalized_definition(definition(reconcileInterval=0), now=1_700_000_000_000_000_000)
    wire = msgspec.json.decode(msgspec.json.encode(stored))
    assert len(wire["blueprintdefinitionid"]) == 64 and wire["kind"] == "BlueprintDefinition"
    assert wire["spec"]["handler"] == {"executorType": "k8s", "functionName": "reconcile"}
    assert "schema" not in wire["spec"] and "shortNames" not in wire["spec"]["names"]
    assert wire["metadata"]["createdAt"] == "2023-11-14T22:13:20Z"
