"""Signal: a channel, a description, and the JSON Schema its deliveries' payloads must match."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2

from jangar.server.core.json_schema import integral, schema_problems
from jangar.server.domain.kinds import KindRules
from jangar.server.domain.validation import Violations
from jangar.v1 import signal_pb2

KIND = "Signal"

MAX_CHANNEL = 253
MAX_DESCRIPTION_BYTES = 4096


def struct_json(value: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as the JSON a client sent, whole numbers as ints."""
    return integral(json_format.MessageToDict(value))


def validate_spec(spec: signal_pb2.SignalSpec, v: Violations) -> None:
    if len(spec.channel) > MAX_CHANNEL:
        v.add("spec.channel", f"must be at most {MAX_CHANNEL} characters")
    if any(c.isspace() or not c.isprintable() for c in spec.channel):
        v.add("spec.channel", "must not contain white space or control characters")
    v.bounded_text("spec.description", spec.description, MAX_DESCRIPTION_BYTES)
    if spec.HasField("payload_schema"):
        before = len(v.items)
        v.struct("spec.payloadSchema", spec.payload_schema)
        if len(v.items) == before:
            for path, problem in schema_problems(struct_json(spec.payload_schema)):
                v.add(f"spec.payloadSchema{path}", problem)


RULES = KindRules(validate_spec=validate_spec)
