"""CustomResourceDefinitions of the Jangar kinds, generated from the proto descriptors and their comments.

A custom resource of a kind is `apiVersion`, `kind`, `metadata` (name, namespace, labels, annotations: what
the proto envelope's `name`, `namespace`, `labels` and `annotations` are) and the proto3 JSON of the message's
`spec` and `status`, exactly as `json_format.MessageToDict` writes it. The other top-level fields (id, etag,
generation, times, delivery id, parent ids) are OUTPUT_ONLY bookkeeping of the server and are not part of
the resource. The mapping of proto3 JSON to OpenAPI v3 (docs/kubernetes.md lists it):

* scalars by their proto3 JSON type; 32-bit integers as `integer` with their range; 64-bit integers, which
  proto3 JSON prints as strings, as `x-kubernetes-int-or-string` (the parser accepts both forms, and people
  and Kubernetes tools write `observedGeneration: 3`);
* enums as string enums of their value names, without the zero value (`RUN_PHASE_UNSPECIFIED` means "not
  set", which MessageToDict writes by leaving the field out);
* messages as objects; maps as objects with `additionalProperties`; repeated fields as arrays;
* `google.protobuf.Struct` (and `Value`, `ListValue`) keep unknown fields; `Timestamp` is a `date-time`
  string, `Duration` a `"1.5s"` string;
* `google.api.field_behavior` REQUIRED fields are `required`, and, as the server's own check treats an empty
  value as missing, a required string, list or map must not be empty either.

Kubernetes schemas cannot be recursive and this mapping has no form for a oneof, so a message that recurses
or declares one stops generation with a CrdError rather than producing a schema that says something else.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from jangar.server.core.kinds import CRD_VERSION, Kind, behaviors
from jangar.server.devstack.proto_comments import Comments

VERSION = CRD_VERSION
# `kubectl get jangar` lists every Jangar resource of a namespace.
CATEGORY = "jangar"
PART_OF = {"app.kubernetes.io/part-of": "jangar"}

# Envelope fields that Kubernetes' own ObjectMeta carries.
METADATA_FIELDS = frozenset({"name", "namespace", "labels", "annotations"})
RESOURCE_FIELDS = ("spec", "status")

_INT32 = {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
_UINT32 = {"type": "integer", "format": "int32", "minimum": 0, "maximum": 2**32 - 1}
_INT64 = {
    "x-kubernetes-int-or-string": True,
    "anyOf": [{"type": "integer"}, {"type": "string"}],
    # Only a string needs the check (an integer is one); Kubernetes applies `pattern` to strings only.
    "pattern": r"^-?[0-9]+$",
}

_T = FieldDescriptor
_SCALARS: dict[int, dict[str, Any]] = {
    _T.TYPE_STRING: {"type": "string"},
    _T.TYPE_BOOL: {"type": "boolean"},
    _T.TYPE_BYTES: {"type": "string", "format": "byte"},
    _T.TYPE_DOUBLE: {"type": "number", "format": "double"},
    _T.TYPE_FLOAT: {"type": "number", "format": "float"},
    _T.TYPE_INT32: _INT32,
    _T.TYPE_SINT32: _INT32,
    _T.TYPE_SFIXED32: _INT32,
    _T.TYPE_UINT32: _UINT32,
    _T.TYPE_FIXED32: _UINT32,
    _T.TYPE_INT64: _INT64,
    _T.TYPE_SINT64: _INT64,
    _T.TYPE_SFIXED64: _INT64,
    _T.TYPE_UINT64: _INT64,
    _T.TYPE_FIXED64: _INT64,
}

_ANY_VALUE: dict[str, Any] = {"x-kubernetes-preserve-unknown-fields": True}
_WRAPPERS = {
    "google.protobuf.DoubleValue": _T.TYPE_DOUBLE,
    "google.protobuf.FloatValue": _T.TYPE_FLOAT,
    "google.protobuf.Int64Value": _T.TYPE_INT64,
    "google.protobuf.UInt64Value": _T.TYPE_UINT64,
    "google.protobuf.Int32Value": _T.TYPE_INT32,
    "google.protobuf.UInt32Value": _T.TYPE_UINT32,
    "google.protobuf.BoolValue": _T.TYPE_BOOL,
    "google.protobuf.StringValue": _T.TYPE_STRING,
    "google.protobuf.BytesValue": _T.TYPE_BYTES,
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Struct": {"type": "object", **_ANY_VALUE},
    "google.protobuf.Value": dict(_ANY_VALUE),
    "google.protobuf.ListValue": {"type": "array", "items": dict(_ANY_VALUE)},
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$"},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Empty": {"type": "object"},
    **{name: {**_SCALARS[scalar], "nullable": True} for name, scalar in _WRAPPERS.items()},
}


class CrdError(ValueError):
    """A message has a shape that a Kubernetes structural schema cannot express as its proto3 JSON."""


class SchemaBuilder:
    """OpenAPI v3 schemas of proto messages, described by their `.proto` comments."""

    def __init__(self, comments: Comments) -> None:
        self._comments = comments

    def message(self, descriptor: Descriptor, description: str = "") -> dict[str, Any]:
        """The schema of a message's proto3 JSON."""
        return self._message(descriptor, description, ())

    def _message(self, descriptor: Descriptor, description: str, stack: tuple[str, ...]) -> dict[str, Any]:
        if descriptor.full_name in stack:
            cycle = " -> ".join((*stack, descriptor.full_name))
            raise CrdError(f"{cycle}: a recursive message has no Kubernetes schema")
        well_known = _WELL_KNOWN.get(descriptor.full_name)
        if well_known is not None:
            return _described(copy.deepcopy(well_known), description)
        if descriptor.full_name.startswith("google.protobuf."):
            raise CrdError(f"{descriptor.full_name} has no mapping to a Kubernetes schema yet")
        oneofs = [o.name for o in descriptor.oneofs if not _is_synthetic(o.fields)]
        if oneofs:
            raise CrdError(f"{descriptor.full_name}: oneof {oneofs[0]} has no mapping to a Kubernetes schema")
        inner = (*stack, descriptor.full_name)
        properties = {field.json_name: self._field(field, inner) for field in descriptor.fields}
        required = sorted(
            f.json_name for f in descriptor.fields if field_behavior_pb2.REQUIRED in behaviors(f)
        )
        schema: dict[str, Any] = {"type": "object"}
        if properties:
            schema["properties"] = properties
        if required:
            schema["required"] = required
        return _described(schema, description or self._comments[descriptor.full_name])

    def _field(self, field: FieldDescriptor, stack: tuple[str, ...]) -> dict[str, Any]:
        description = self._comments[field.full_name]
        required = field_behavior_pb2.REQUIRED in behaviors(field)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value = field.message_type.fields_by_name["value"]
            schema = {"type": "object", "additionalProperties": self._value(value, "", stack)}
            if required:
                schema["minProperties"] = 1
            return _described(schema, description)
        if field.is_repeated:
            schema = {"type": "array", "items": self._value(field, "", stack)}
            if required:
                schema["minItems"] = 1
            return _described(schema, description)
        schema = self._value(field, description, stack)
        if required and field.type == _T.TYPE_STRING:
            schema["minLength"] = 1
        return schema

    def _value(self, field: FieldDescriptor, description: str, stack: tuple[str, ...]) -> dict[str, Any]:
        """The schema of one value of the field: the field itself, an item of a list or a value of a map."""
        if field.message_type is not None:
            return self._message(field.message_type, description, stack)
        if field.enum_type is not None:
            return self._enum(field.enum_type, description)
        return _described(copy.deepcopy(_SCALARS[field.type]), description)

    def _enum(self, enum: EnumDescriptor, description: str) -> dict[str, Any]:
        values = [v for v in enum.values if v.number != 0]
        # Aliases share a number; every alias is valid input, and MessageToDict prints the first.
        names = list(dict.fromkeys(v.name for v in values))
        lines = [description or self._comments[enum.full_name], ""]
        for value in values:
            comment = self._comments[f"{enum.full_name}.{value.name}"]
            lines.append(f"* `{value.name}`: {comment}" if comment else f"* `{value.name}`")
        return {"type": "string", "enum": names, "description": "\n".join(lines).strip()}


def _is_synthetic(fields: Sequence[FieldDescriptor]) -> bool:
    """A oneof of one field (which is what a proto3 `optional` field is in the descriptors) has the JSON of a
    plain field; only a choice between several fields has no schema form here."""
    return len(fields) == 1


def _described(schema: dict[str, Any], description: str) -> dict[str, Any]:
    if description:
        schema["description"] = description
    return schema


def crd_plural(kind: Kind) -> str:
    return kind.crd_plural


def crd_name(kind: Kind) -> str:
    return f"{crd_plural(kind)}.{kind.crd_group}"


def file_name(kind: Kind) -> str:
    return f"{kind.crd_group}_{crd_plural(kind)}.yaml"


def resource_schema(kind: Kind, comments: Comments) -> dict[str, Any]:
    """The openAPIV3Schema of the kind's custom resource."""
    descriptor = kind.descriptor
    builder = SchemaBuilder(comments)
    properties: dict[str, Any] = {
        "apiVersion": {
            "type": "string",
            "description": f"`{kind.crd_group}/{VERSION}`.",
        },
        "kind": {"type": "string", "description": f"`{kind.name}`."},
        "metadata": {"type": "object"},
    }
    required = []
    for field in descriptor.fields:
        field_behaviors = behaviors(field)
        if field.name in RESOURCE_FIELDS:
            if field.message_type is None or field.is_repeated:
                raise CrdError(f"{field.full_name} must be a message")
            properties[field.json_name] = builder.message(field.message_type, comments[field.full_name])
            if field_behavior_pb2.REQUIRED in field_behaviors:
                required.append(field.json_name)
        elif field.name not in METADATA_FIELDS and field_behavior_pb2.OUTPUT_ONLY not in field_behaviors:
            # Dropping it would lose what a caller wrote; say so instead.
            raise CrdError(
                f"{field.full_name} is neither spec, status, Kubernetes metadata nor OUTPUT_ONLY, so it has "
                "no place in the custom resource"
            )
    if "spec" not in properties:
        raise CrdError(f"{descriptor.full_name} has no spec")
    schema: dict[str, Any] = {
        "type": "object",
        "description": comments[descriptor.full_name],
        "properties": properties,
    }
    if required:
        schema["required"] = sorted(required)
    return schema


def _field_in(descriptor: Descriptor | None, name: str) -> FieldDescriptor | None:
    return None if descriptor is None else descriptor.fields_by_name.get(name)


def printer_columns(kind: Kind, comments: Comments) -> list[dict[str, Any]]:
    """What `kubectl get` shows: a run's parent, phase and reason; a definition's phase if it has one; Age."""
    columns = []
    spec = kind.descriptor.fields_by_name["spec"].message_type
    status_field = _field_in(kind.descriptor, "status")
    status = status_field.message_type if status_field is not None else None
    if kind.parent is not None:
        ref = spec.fields_by_name[kind.parent.ref_field]
        columns.append(
            {
                "name": kind.parent.kind,
                "type": "string",
                "jsonPath": f".spec.{ref.json_name}.name",
                "description": comments[ref.full_name],
            }
        )
    for name, title in (("phase", "Phase"), ("reason", "Reason")):
        field = _field_in(status, name)
        if field is None:
            if kind.is_run:
                raise CrdError(f"{kind.name}: a run's status must have `{name}`")
            continue
        columns.append(
            {
                "name": title,
                "type": "string",
                "jsonPath": f".status.{field.json_name}",
                "description": comments[field.full_name],
            }
        )
    columns.append({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"})
    return [{k: v for k, v in column.items() if v} for column in columns]


def custom_resource_definition(kind: Kind, comments: Comments) -> dict[str, Any]:
    """The apiextensions.k8s.io/v1 CustomResourceDefinition of a kind."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": crd_name(kind), "labels": dict(PART_OF)},
        "spec": {
            "group": kind.crd_group,
            "names": {
                "kind": kind.name,
                "listKind": f"{kind.name}List",
                "plural": crd_plural(kind),
                "singular": kind.singular.replace("_", ""),
                "categories": [CATEGORY],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": resource_schema(kind, comments)},
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": printer_columns(kind, comments),
                }
            ],
        },
    }
