"""Signal: its sample for the conformance suite, and the rules of its spec, the payloadSchema above all
(a JSON Schema checked against its meta-schema), over gRPC and REST."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2

from jangar.server.core.kinds import registry
from jangar.v1 import signal_pb2
from tests.support import unique
from tests.transports import TRANSPORTS, Client, client_for, new_key, refused

KIND = "Signal"

Signal = signal_pb2.Signal
Spec = signal_pb2.SignalSpec

# What the sample's deliveries carry (tests/kinds/test_signal_delivery.py).
SAMPLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["repository", "number"],
    "properties": {
        "repository": {"type": "string", "minLength": 1},
        "number": {"type": "integer", "minimum": 1},
        "labels": {"type": "array", "items": {"type": "string"}},
    },
}


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


def sample(namespace: str, **labels: str) -> Signal:
    return Signal(
        name=unique("signal"),
        namespace=namespace,
        labels=labels,
        spec=Spec(
            channel="github/pull-request",
            description="A pull request was opened or updated.",
            payload_schema=struct(SAMPLE_SCHEMA),
        ),
    )


def changed_spec() -> tuple[str, Spec]:
    return "spec.description", Spec(description="A pull request changed.")


@pytest.fixture(params=TRANSPORTS)
def signals(request: pytest.FixtureRequest) -> Client:
    return client_for(registry()[KIND], request.param, request)


async def refused_fields(signals: Client, spec: Spec) -> list[str]:
    signal = sample(unique("ns"))
    signal.spec.CopyFrom(spec)
    error = await refused(
        signals.create(signal, key=new_key()), grpc.StatusCode.INVALID_ARGUMENT, 400, "INVALID_ARGUMENT"
    )
    return error.violations


def with_schema(schema: dict[str, Any]) -> Spec:
    return Spec(channel="ci", payload_schema=struct(schema))


async def test_a_channel_is_required(signals):
    assert await refused_fields(signals, Spec(description="x")) == ["spec.channel"]


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        (Spec(channel="github pull-request"), ["spec.channel"]),
        (Spec(channel="c" * 254), ["spec.channel"]),
        (Spec(channel="ci", description="d" * 4097), ["spec.description"]),
        (with_schema({"type": "strin"}), ["spec.payloadSchema.type"]),
        (
            with_schema({"properties": {"a": {"minLength": -1}, "b": {"required": "b"}}}),
            ["spec.payloadSchema.properties.a.minLength", "spec.payloadSchema.properties.b.required"],
        ),
        (with_schema({"$schema": "https://example.com/my-dialect"}), ["spec.payloadSchema['$schema']"]),
        (with_schema({"$ref": "https://example.com/schema.json"}), ["spec.payloadSchema['$ref']"]),
        (
            with_schema({"properties": {"a": {"$ref": "#/$defs/missing"}}}),
            ["spec.payloadSchema.properties.a['$ref']"],
        ),
        (with_schema({"enum": ["x" * 1000] * 70}), ["spec.payloadSchema"]),
        (
            with_schema({"properties": {"a": {"pattern": "(a)\\1"}}, "patternProperties": {"(?=x)": {}}}),
            ["spec.payloadSchema.patternProperties['(?=x)']", "spec.payloadSchema.properties.a.pattern"],
        ),
        (
            with_schema({"patternProperties": {"^x-": {}}, "allOf": [{"unevaluatedProperties": False}]}),
            ["spec.payloadSchema.allOf[0].unevaluatedProperties"],
        ),
    ],
    ids=[
        "channel-space",
        "channel-long",
        "description-long",
        "schema-type",
        "schema-every-violation",
        "schema-dialect",
        "schema-remote-ref",
        "schema-dangling-ref",
        "schema-size",
        "schema-regex-re2",
        "schema-unevaluated-with-patterns",
    ],
)
async def test_each_spec_rule_names_its_field(signals, spec, fields):
    assert sorted(await refused_fields(signals, spec)) == fields


@pytest.mark.parametrize(
    "schema",
    [
        SAMPLE_SCHEMA,
        {"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"n": {"type": "integer"}}},
        {"$defs": {"item": {"type": "string"}}, "items": {"$ref": "#/$defs/item"}},
        {"const": {"$ref": "https://example.com/not-a-reference-but-data"}},
    ],
    ids=["sample", "draft-07", "local-ref", "ref-shaped-data"],
)
async def test_a_valid_schema_is_kept_as_sent(signals, schema):
    signal = sample(unique("ns"))
    signal.spec.payload_schema.CopyFrom(struct(schema))
    created = (await signals.create(signal, key=new_key())).resource
    assert created.spec == signal.spec
    assert await signals.get(created.id) == created
    assert created.status.deliveries == 0
    assert not created.status.HasField("last_delivery_time")


async def test_a_schema_may_be_replaced_and_removed(signals):
    created = (await signals.create(sample(unique("ns")), key=new_key())).resource
    replaced = await signals.update(
        created.id, Signal(spec=with_schema({"type": "object"})), ["spec.payload_schema"]
    )
    assert replaced.spec.payload_schema == struct({"type": "object"})
    assert replaced.generation == 2
    removed = await signals.update(created.id, Signal(spec=Spec()), ["spec.payload_schema"])
    assert not removed.spec.HasField("payload_schema")
    assert removed.spec.channel == created.spec.channel
