"""server/core/proto_json.py reads exactly what json_format reads, for every stored kind."""

from __future__ import annotations

import pytest
from google.protobuf import json_format, struct_pb2, timestamp_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from jangar.server.core import proto_json
from jangar.server.core.kinds import registry

_F = FieldDescriptor


def _sample(field: FieldDescriptor, n: int) -> object:
    if field.type == _F.TYPE_STRING:
        return f"{field.name}-{n}"
    if field.type == _F.TYPE_BOOL:
        return True
    if field.type == _F.TYPE_ENUM:
        values = field.enum_type.values
        return values[min(len(values) - 1, 1 + n % max(1, len(values) - 1))].number
    if field.type == _F.TYPE_DOUBLE:
        return 0.25 + n
    if field.type == _F.TYPE_FLOAT:
        return 0.5
    if field.type == _F.TYPE_BYTES:
        return b"\x00\xff"
    if field.type in (_F.TYPE_INT64, _F.TYPE_SINT64, _F.TYPE_SFIXED64):
        return -(2**40) - n
    if field.type in (_F.TYPE_UINT64, _F.TYPE_FIXED64):
        return 2**40 + n
    if field.type in (_F.TYPE_UINT32, _F.TYPE_FIXED32):
        return 7 + n
    return -7 - n


def fill(message: Message, depth: int = 0) -> Message:
    """Every field of `message` set (two items in repeated fields and maps), nested messages to depth 3."""
    if message.DESCRIPTOR.full_name == "google.protobuf.Struct":
        message.update({"model": "gpt-5", "temperature": 0.2, "tags": ["a", 1, None, {"b": True}]})
        return message
    if message.DESCRIPTOR.full_name == "google.protobuf.Timestamp":
        message.FromJsonString("2026-12-01T10:11:12.345Z")
        return message
    if message.DESCRIPTOR.full_name.startswith("google.protobuf.") or depth > 3:
        return message
    for field in message.DESCRIPTOR.fields:
        if field.containing_oneof is not None and field.containing_oneof.fields[0] is not field:
            continue
        target = getattr(message, field.name)
        if field.type == _F.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            for n in range(2):
                if value_field.type == _F.TYPE_MESSAGE:
                    fill(target[f"k{n}"], depth + 1)
                else:
                    target[f"k{n}"] = _sample(value_field, n)
        elif field.is_repeated:
            for n in range(2):
                if field.type == _F.TYPE_MESSAGE:
                    fill(target.add(), depth + 1)
                else:
                    target.append(_sample(field, n))
        elif field.type == _F.TYPE_MESSAGE:
            target.SetInParent()
            fill(target, depth + 1)
        else:
            setattr(message, field.name, _sample(field, 0))
    return message


KINDS = [kind.message_class for kind in registry()]


@pytest.mark.parametrize("message_class", KINDS, ids=lambda c: c.DESCRIPTOR.name)
def test_every_field_of_every_kind_is_written_and_read_as_json_format_does(message_class: type[Message]):
    message = fill(message_class())
    expected = json_format.MessageToDict(message)
    parsed = message_class()
    proto_json.parse_dict(expected, parsed)
    assert parsed == message


def test_defaults_unknown_fields_and_nulls_read_as_json_format_reads_them():
    data = {"spec": {"agentRef": {"name": "a"}, "fromANewerServer": 1, "goal": None}, "name": "r"}
    message_class = registry()["AgentRun"].message_class
    ours, theirs = message_class(), message_class()
    proto_json.parse_dict(data, ours)
    json_format.ParseDict(data, theirs, ignore_unknown_fields=True)
    assert ours == theirs


def test_a_malformed_document_fails_as_json_format_fails():
    message_class = registry()["AgentRun"].message_class
    with pytest.raises(json_format.ParseError):
        proto_json.parse_dict({"spec": {"agentRef": {"name": 5}}}, message_class())


@pytest.mark.parametrize("message_class", KINDS, ids=lambda c: c.DESCRIPTOR.name)
def test_every_field_of_every_kind_is_written_as_json_format_writes_it(message_class: type[Message]):
    message = fill(message_class())
    written = proto_json.to_dict(message)
    assert written == json_format.MessageToDict(message)
    assert list(written) == list(json_format.MessageToDict(message))  # the same field order


def test_values_with_their_own_json_spelling_are_written_as_json_format_writes_them():
    value = struct_pb2.Value()
    value.struct_value.update({"a": [1.5, None, "x", True]})
    stamp = timestamp_pb2.Timestamp(seconds=1, nanos=5)
    for message in (value, stamp, struct_pb2.ListValue(), timestamp_pb2.Timestamp()):
        assert proto_json.to_dict(message) == json_format.MessageToDict(message)
    run = registry()["AgentRun"].message_class()
    run.status.phase = 99  # a number no phase has: open enums write it as a number
    assert proto_json.to_dict(run) == json_format.MessageToDict(run) == {"status": {"phase": 99}}
