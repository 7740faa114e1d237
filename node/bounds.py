"""Limits checked when something is written (docs/security.md, "Limits"): the length of names,
the attributes of one process, the size of one value and of a process's output. Each refusal
names the config key that sets the limit, so an operator knows what to raise."""
from __future__ import annotations

from collections.abc import Iterable

from colonies.models import FunctionSpec
from colonies.node.config import NodeConfig
from colonies.wire import RPCError


def check_name(config: NodeConfig, value: str, field: str, what: str) -> None:
    if len(value) > config.max_name_length:
        raise RPCError(400, f"Failed to {what}, {field} is longer than {config.max_name_length} characters (max_name_length)")


def check_value(config: NodeConfig, value: str, field: str, what: str) -> None:
    if len(value) > config.max_value_bytes:  # characters; at most 4 bytes each as UTF-8
        raise RPCError(413, f"Failed to {what}, {field} is larger than {config.max_value_bytes} bytes (max_value_bytes)")


def check_attribute_count(config: NodeConfig, count: int, what: str) -> None:
    if count > config.max_attributes:
        raise RPCError(400, f"Failed to {what}, a process may have at most {config.max_attributes} attributes (max_attributes)")


def check_output(config: NodeConfig, output: bytes, what: str) -> None:
    if len(output) > config.max_output_bytes:
        raise RPCError(413, f"Failed to {what}, the output is larger than {config.max_output_bytes} bytes (max_output_bytes)")


def check_specs(config: NodeConfig, specs: Iterable[FunctionSpec], what: str) -> None:
    for spec in specs:
        check_spec(config, spec, what)


def check_spec(config: NodeConfig, spec: FunctionSpec, what: str) -> None:
    """Names, env entries (each one an attribute of the process) and their values of one spec."""
    conditions = spec.conditions
    names = [
        ("funcname", spec.funcname),
        ("nodename", spec.nodename),
        ("label", spec.label),
        ("conditions.colonyname", conditions.colonyname),
        ("conditions.executortype", conditions.executortype),
        ("conditions.locationname", conditions.locationname),
    ]
    names += [("conditions.executornames", name) for name in conditions.executornames or ()]
    names += [("conditions.dependencies", name) for name in conditions.dependencies or ()]
    names += [("channels", name) for name in spec.channels or ()]
    for field, value in names:
        check_name(config, value, field, what)
    env = spec.env or {}
    check_attribute_count(config, len(env), what)
    for key, value in env.items():
        check_name(config, key, "an env key", what)
        check_value(config, value, f"env {key!r}", what)
