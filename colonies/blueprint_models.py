"""Blueprints (spec §2.13, §3.17): wire models and request messages with the upstream JSON names.

Inside `metadata`, definition `spec.names` and `spec.handler` the names are camelCase, as upstream.
Inbound unknown fields are ignored. Fields upstream tags `omitempty` are left out of replies when
empty: the Blueprint, its metadata and history entries declare `omit_defaults` (the node fills the
always-present timestamps with the Go zero time), the definition's parts use `UNSET` for the few
optional fields. `spec`, `status` and a definition's `schema` are arbitrary JSON objects.
"""
from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from colonies.messages import Msg
from colonies.models import Model
from colonies.types import Int64

DEFINITION_KIND = "BlueprintDefinition"


class BlueprintMetadata(Model, omit_defaults=True):
    name: str = ""
    colonyname: str = ""
    locationname: str = ""
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    generation: Int64 = 0
    # RFC 3339; always present in replies (Go's omitempty does not apply to time.Time)
    createdAt: str = ""
    updatedAt: str = ""
    lastReconciliationProcess: str = ""
    lastReconciliationTime: str = ""


class BlueprintHandler(Model, omit_defaults=True):
    """Per-instance handler override: `executorType` replaces the definition's executor type."""

    executorType: str = ""
    executorName: str = ""
    executorNames: list[str] | None = None


class Blueprint(Model, omit_defaults=True):
    blueprintid: str = ""
    kind: str = ""
    metadata: BlueprintMetadata = msgspec.field(default_factory=BlueprintMetadata)
    handler: BlueprintHandler | None = None
    spec: dict[str, Any] | None = None
    status: dict[str, Any] | None = None


class BlueprintDefinitionNames(Model):
    kind: str = ""
    listKind: str = ""
    singular: str = ""
    plural: str = ""
    shortNames: list[str] | None | UnsetType = UNSET


class HandlerSpec(Model):
    executorType: str = ""
    functionName: str = ""
    reconcileInterval: Int64 | UnsetType = UNSET  # seconds; absent or 0 = 60


class BlueprintDefinitionSpec(Model):
    group: str = ""
    version: str = ""
    names: BlueprintDefinitionNames = msgspec.field(default_factory=BlueprintDefinitionNames)
    scope: str = ""
    # a JSON Schema for the instances' `spec`
    schema: dict[str, Any] | None | UnsetType = UNSET
    handler: HandlerSpec = msgspec.field(default_factory=HandlerSpec)


class BlueprintDefinition(Model):
    blueprintdefinitionid: str = ""
    kind: str = ""
    metadata: BlueprintMetadata = msgspec.field(default_factory=BlueprintMetadata)
    spec: BlueprintDefinitionSpec = msgspec.field(default_factory=BlueprintDefinitionSpec)


class BlueprintHistory(Model, omit_defaults=True):
    historyid: str = ""
    blueprintid: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    generation: Int64 = 0
    spec: dict[str, Any] = msgspec.field(default_factory=dict)
    status: dict[str, Any] | None = None
    timestamp: str = ""
    changedby: str = ""
    changetype: str = ""  # "create" | "update" | "delete"


# --- request messages -------------------------------------------------------------------------
class AddBlueprintDefinitionMsg(Msg):
    blueprintdefinition: BlueprintDefinition | None = None


class GetBlueprintDefinitionMsg(Msg):
    colonyname: str = ""
    name: str = ""


class GetBlueprintDefinitionsMsg(Msg):
    colonyname: str = ""


class RemoveBlueprintDefinitionMsg(Msg):
    namespace: str = ""
    name: str = ""


class AddBlueprintMsg(Msg):
    blueprint: Blueprint | None = None


class GetBlueprintMsg(Msg):
    namespace: str = ""
    name: str = ""


class GetBlueprintsMsg(Msg):
    namespace: str = ""
    kind: str = ""
    locationname: str = ""


class UpdateBlueprintMsg(Msg):
    blueprint: Blueprint | None = None
    forcegeneration: bool = False


class RemoveBlueprintMsg(Msg):
    namespace: str = ""
    name: str = ""


class GetBlueprintHistoryMsg(Msg):
    blueprintid: str = ""
    limit: Int64 = 0  # 0 or less = all, newest first


class UpdateBlueprintStatusMsg(Msg):
    colonyname: str = ""
    blueprintname: str = ""
    status: dict[str, Any] | None = None


class ReconcileBlueprintMsg(Msg):
    namespace: str = ""
    name: str = ""
    force: bool = False
