"""What the `google.api.field_behavior` annotations of a message say, as plans computed once per message type.

* OUTPUT_ONLY fields are cleared from what a client sends (at any depth), so a forged status or id never
  reaches storage and never changes an idempotency fingerprint.
* REQUIRED fields must be set. A REQUIRED message field that is absent is checked as if it were empty, so
  `spec.providerRef` missing reports `spec.providerRef.name: is required`; a message field that is present
  (required or not) has its own REQUIRED fields checked. A REQUIRED enum reports the values it accepts.
* Neither OUTPUT_ONLY nor IMMUTABLE top-level fields are the ones an update may change.

Field paths are the JSON (lowerCamelCase) paths a REST client sent: `spec.steps[2].name`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from jangar.server.core.kinds import behaviors

OUTPUT_ONLY = field_behavior_pb2.OUTPUT_ONLY
REQUIRED = field_behavior_pb2.REQUIRED
IMMUTABLE = field_behavior_pb2.IMMUTABLE


def _is_plain_message(field: FieldDescriptor) -> bool:
    """A message field of our own: not a map entry and not a well-known type (Struct, Timestamp)."""
    message = field.message_type
    if message is None or message.GetOptions().map_entry:
        return False
    return not message.full_name.startswith("google.protobuf.")


@dataclass(frozen=True)
class _OutputOnlyPlan:
    clear: tuple[str, ...]
    # Message fields below which some field is OUTPUT_ONLY.
    descend: tuple[tuple[str, bool, Descriptor], ...]


@cache
def _output_only_plan(descriptor: Descriptor) -> _OutputOnlyPlan:
    clear, descend = [], []
    for field in descriptor.fields:
        if OUTPUT_ONLY in behaviors(field):
            clear.append(field.name)
        elif _is_plain_message(field) and _has_output_only(field.message_type):
            descend.append((field.name, field.is_repeated, field.message_type))
    return _OutputOnlyPlan(tuple(clear), tuple(descend))


@cache
def _has_output_only(descriptor: Descriptor) -> bool:
    plan = _output_only_plan(descriptor)
    return bool(plan.clear or plan.descend)


def clear_output_only(message: Message) -> None:
    """Clears every OUTPUT_ONLY field of `message`, at any depth, in place."""
    plan = _output_only_plan(message.DESCRIPTOR)
    for name in plan.clear:
        message.ClearField(name)
    for name, repeated, _ in plan.descend:
        if repeated:
            for item in getattr(message, name):
                clear_output_only(item)
        elif message.HasField(name):
            clear_output_only(getattr(message, name))


@dataclass(frozen=True)
class _RequiredField:
    field: FieldDescriptor
    required: bool
    # Whether the field's own message type has REQUIRED fields below it.
    descend: bool


@cache
def _required_plan(descriptor: Descriptor) -> tuple[_RequiredField, ...]:
    plan = []
    for field in descriptor.fields:
        required = REQUIRED in behaviors(field)
        descend = _is_plain_message(field) and _has_required(field.message_type)
        if required or descend:
            plan.append(_RequiredField(field, required, descend))
    return tuple(plan)


@cache
def _has_required(descriptor: Descriptor) -> bool:
    return bool(_required_plan(descriptor))


@cache
def _empty(descriptor: Descriptor) -> Message:
    return GetMessageClass(descriptor)()


def _enum_choices(field: FieldDescriptor) -> str:
    return ", ".join(v.name for v in field.enum_type.values if v.number != 0)


def missing_required(message: Message, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(JSON path, problem) for every REQUIRED field of `message` that is not set."""
    for item in _required_plan(message.DESCRIPTOR):
        field = item.field
        path = f"{prefix}{field.json_name}"
        if field.is_repeated:
            if item.required and not getattr(message, field.name):
                yield path, "is required"
            elif item.descend:
                for index, element in enumerate(getattr(message, field.name)):
                    yield from missing_required(element, f"{path}[{index}].")
        elif field.message_type is not None and item.descend:
            present = message.HasField(field.name)
            if not present and not item.required:
                continue
            value = getattr(message, field.name) if present else _empty(field.message_type)
            nested = list(missing_required(value, f"{path}."))
            yield from nested
            if not nested and not present:
                yield path, "is required"
        elif item.required and not is_set(message, field.name):
            if field.enum_type is not None:
                yield path, f"is required: one of {_enum_choices(field)}"
            else:
                yield path, "is required"


def is_set(message: Message, name: str) -> bool:
    """Whether a field holds a value: presence for a message field, non-empty for anything else."""
    field = message.DESCRIPTOR.fields_by_name[name]
    if field.message_type is not None and not field.is_repeated:
        return message.HasField(name)
    return bool(getattr(message, name))


@cache
def mutable_fields(descriptor: Descriptor) -> tuple[str, ...]:
    """Top-level fields an update may change: neither OUTPUT_ONLY nor IMMUTABLE."""
    return tuple(f.name for f in descriptor.fields if not behaviors(f) & {OUTPUT_ONLY, IMMUTABLE})


@cache
def is_mutable_path(descriptor: Descriptor, path: str) -> bool:
    """Whether an update mask path (`spec`, `spec.defaults.timeout_seconds`) names a field an update may
    change: every field along it is neither OUTPUT_ONLY nor IMMUTABLE. Unknown fields are not mutable."""
    current: Descriptor | None = descriptor
    for name in path.split("."):
        field = current.fields_by_name.get(name) if current is not None else None
        if field is None or behaviors(field) & {OUTPUT_ONLY, IMMUTABLE}:
            return False
        current = field.message_type
    return True
