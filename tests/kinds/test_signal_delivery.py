"""SignalDelivery: its sample for the conformance suite; the payload checked against the Signal's schema with
every violation listed; the Signal counting each delivery once, replays and concurrent deliveries included;
lists by Signal, over gRPC and REST."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc
import pytest

from jangar.server.core.kinds import registry
from jangar.v1 import signal_delivery_pb2, signal_pb2
from tests.kinds import test_signal
from tests.support import unique
from tests.transports import TRANSPORTS, Client, GrpcClient, client_for, new_key, refused

KIND = "SignalDelivery"

Delivery = signal_delivery_pb2.SignalDelivery
Spec = signal_delivery_pb2.SignalDeliverySpec
Phase = signal_delivery_pb2.SignalDeliveryStatus.Phase
struct = test_signal.struct


def sample(namespace: str, parent_name: str, **labels: str) -> Delivery:
    return Delivery(
        name=unique("delivery"),
        namespace=namespace,
        labels=labels,
        spec=Spec(
            signal_ref={"name": parent_name},
            payload=struct({"repository": "proompteng/lab", "number": 42, "labels": ["jangar"]}),
        ),
    )


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def deliveries(transport: str, request: pytest.FixtureRequest) -> Client:
    return client_for(registry()[KIND], transport, request)


@pytest.fixture
def signals(transport: str, request: pytest.FixtureRequest) -> Client:
    return client_for(registry()["Signal"], transport, request)


async def new_signal(channel: grpc.aio.Channel, schema: dict[str, Any] | None = None) -> signal_pb2.Signal:
    signal = test_signal.sample(unique("ns"))
    if schema is None:
        signal.spec.ClearField("payload_schema")
    else:
        signal.spec.payload_schema.CopyFrom(struct(schema))
    return (await GrpcClient(registry()["Signal"], channel).create(signal, key=new_key())).resource


def delivery_of(signal: signal_pb2.Signal, payload: dict[str, Any] | None = None, name: str = "") -> Delivery:
    delivery = Delivery(namespace=signal.namespace, name=name, spec=Spec(signal_ref={"name": signal.name}))
    if payload is not None:
        delivery.spec.payload.CopyFrom(struct(payload))
    return delivery


async def audit_events(db, entity_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT event_type FROM audit_events WHERE entity_id = $1 ORDER BY created_at", uuid.UUID(entity_id)
    )
    return [row["event_type"] for row in rows]


async def test_a_delivery_is_delivered_and_counted_by_its_signal(deliveries, signals, channel, db):
    signal = await new_signal(channel, test_signal.SAMPLE_SCHEMA)
    created = (await deliveries.create(sample(signal.namespace, signal.name), key=new_key())).resource

    assert created.signal_id == signal.id
    assert created.status.phase == Phase.Delivered
    assert created.status.HasField("delivered_time")
    assert created.update_time == created.create_time
    counted = await signals.get(signal.id)
    assert counted.status.deliveries == 1
    assert counted.status.last_delivery_time == created.status.delivered_time
    assert (counted.generation, counted.spec) == (signal.generation, signal.spec)
    assert counted.etag != signal.etag  # the status changed
    assert await audit_events(db, signal.id) == ["Created", "Delivered"]


async def test_a_replayed_delivery_is_counted_once(deliveries, signals, channel, db):
    signal = await new_signal(channel)
    key = new_key()
    first = await deliveries.create(delivery_of(signal, {"n": 1}), key=key)
    again = await deliveries.create(delivery_of(signal, {"n": 1}), key=key)
    assert again.replayed and again.raw == first.raw
    second = (await deliveries.create(delivery_of(signal, {"n": 2}), key=new_key())).resource

    counted = await signals.get(signal.id)
    assert counted.status.deliveries == 2
    assert counted.status.last_delivery_time == second.status.delivered_time
    assert await audit_events(db, signal.id) == ["Created", "Delivered", "Delivered"]


async def test_concurrent_deliveries_are_each_counted(channel):
    signal = await new_signal(channel)
    client = GrpcClient(registry()[KIND], channel)
    made = await asyncio.gather(
        *(client.create(delivery_of(signal, {"n": n}), key=new_key()) for n in range(8))
    )
    counted = await GrpcClient(registry()["Signal"], channel).get(signal.id)
    assert counted.status.deliveries == 8
    newest = max(m.resource.status.delivered_time.ToDatetime() for m in made)
    assert counted.status.last_delivery_time.ToDatetime() == newest


ISSUE_SCHEMA = {
    "type": "object",
    "required": ["title", "severity"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string", "maxLength": 10},
        "severity": {"enum": ["low", "high"]},
        "count": {"type": "integer", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string"}},
        "owner": {"type": "object", "required": ["first name"]},
    },
}


async def test_a_payload_that_breaks_the_schema_is_refused_listing_each_violation(
    deliveries, signals, channel
):
    signal = await new_signal(channel, ISSUE_SCHEMA)
    payload = {"title": "far too long a title", "count": -1, "tags": ["ok", 2], "owner": {}, "extra": True}
    error = await refused(
        deliveries.create(delivery_of(signal, payload), key=new_key()),
        grpc.StatusCode.INVALID_ARGUMENT,
        400,
        "INVALID_ARGUMENT",
    )
    assert sorted(error.violations) == [
        "spec.payload",  # `extra`: additionalProperties
        "spec.payload.count",
        "spec.payload.owner['first name']",
        "spec.payload.severity",
        "spec.payload.tags[1]",
        "spec.payload.title",
    ]
    assert await deliveries.list(signal.namespace) == ([], "")
    assert (await signals.get(signal.id)).status.deliveries == 0


async def test_a_payload_that_matches_the_schema_is_delivered_as_sent(deliveries, channel):
    signal = await new_signal(channel, ISSUE_SCHEMA)
    payload = {"title": "Flaky test", "severity": "high", "count": 3, "owner": {"first name": "Ada"}}
    created = (await deliveries.create(delivery_of(signal, payload), key=new_key())).resource
    assert created.spec.payload == struct(payload)
    assert await deliveries.get(created.id) == created


async def test_patterns_are_ecmascript_regular_expressions_run_in_linear_time(deliveries, channel):
    schema = {
        "properties": {"digits": {"pattern": "^\\d+$"}, "word": {"pattern": "^(a+)+$"}},
        "patternProperties": {"^x-(a+)+$": {"type": "integer"}},
        "additionalProperties": False,
    }
    signal = await new_signal(channel, schema)
    # `\d` is ASCII in ECMA-262 (as in RE2), not any Unicode digit (as in Python's re); `(a+)+$` would
    # backtrack for minutes in Python's re on these values.
    payload = {"digits": "\u0663", "word": "a" * 24 + "!", "x-" + "a" * 24 + "!": "not a number"}
    error = await refused(
        deliveries.create(delivery_of(signal, payload), key=new_key()),
        grpc.StatusCode.INVALID_ARGUMENT,
        400,
        "INVALID_ARGUMENT",
    )
    assert error.violations == ["spec.payload", "spec.payload.digits", "spec.payload.word"]
    matching = {"digits": "42", "word": "aaa", "x-aa": 1}
    created = (await deliveries.create(delivery_of(signal, matching), key=new_key())).resource
    assert created.status.phase == Phase.Delivered


async def test_an_absent_payload_is_checked_as_an_empty_object(deliveries, channel):
    strict = await new_signal(channel, {"type": "object", "required": ["id"]})
    error = await refused(
        deliveries.create(delivery_of(strict), key=new_key()),
        grpc.StatusCode.INVALID_ARGUMENT,
        400,
        "INVALID_ARGUMENT",
    )
    assert error.violations == ["spec.payload.id"]
    anything = await new_signal(channel)
    created = (await deliveries.create(delivery_of(anything), key=new_key())).resource
    assert not created.spec.HasField("payload")


async def test_a_later_schema_checks_later_deliveries(deliveries, signals, channel):
    signal = await new_signal(channel, {"type": "object"})
    kept = (await deliveries.create(delivery_of(signal, {"n": 1}), key=new_key())).resource
    changed = await signals.update(
        signal.id,
        signal_pb2.Signal(spec=test_signal.with_schema({"required": ["id"]})),
        ["spec.payload_schema"],
    )
    assert (changed.generation, changed.status.observed_generation) == (2, 2)
    assert changed.status.deliveries == 1  # a spec change keeps the count
    assert changed.status.last_delivery_time == kept.status.delivered_time
    error = await refused(
        deliveries.create(delivery_of(signal, {"n": 2}), key=new_key()),
        grpc.StatusCode.INVALID_ARGUMENT,
        400,
        "INVALID_ARGUMENT",
    )
    assert error.violations == ["spec.payload.id"]
    assert await deliveries.get(kept.id) == kept


async def test_a_schema_that_cannot_resolve_its_reference_is_the_signals_fault(deliveries, channel):
    # The reference lives in a nested `$id` scope, which the Signal's check cannot resolve ahead.
    signal = await new_signal(
        channel, {"$defs": {"a": {"$id": "urn:example:a", "$ref": "#/nowhere"}}, "$ref": "#/$defs/a"}
    )
    error = await refused(
        deliveries.create(delivery_of(signal, {}), key=new_key()),
        grpc.StatusCode.FAILED_PRECONDITION,
        400,
        "SIGNAL_SCHEMA_UNUSABLE",
    )
    assert error.metadata["signalId"] == signal.id


async def test_a_delivery_of_a_missing_signal_is_404(deliveries):
    missing = delivery_of(signal_pb2.Signal(name="no-such-signal", namespace=unique("ns")), {})
    await refused(
        deliveries.create(missing, key=new_key()), grpc.StatusCode.NOT_FOUND, 404, "SIGNAL_NOT_FOUND"
    )


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        (lambda d: d.spec.ClearField("signal_ref"), ["spec.signalRef.name"]),
        (lambda d: d.spec.signal_ref.__setattr__("name", "Not_A_Name"), ["spec.signalRef.name"]),
        (lambda d: d.spec.payload.update({"blob": "x" * 70_000}), ["spec.payload"]),
        (lambda d: d.__setattr__("name", "Bad Name"), ["name"]),
        (lambda d: d.labels.__setitem__("bad key!", "v"), ["labels['bad key!']"]),
    ],
    ids=["signal-ref-missing", "signal-ref-name", "payload-size", "name", "labels"],
)
async def test_each_field_rule_names_its_field(deliveries, channel, change, fields):
    signal = await new_signal(channel)
    delivery = delivery_of(signal, {})
    change(delivery)
    error = await refused(
        deliveries.create(delivery, key=new_key()), grpc.StatusCode.INVALID_ARGUMENT, 400, "INVALID_ARGUMENT"
    )
    assert error.violations == fields


async def test_a_delivery_without_a_name_is_named_after_its_signal(deliveries, channel):
    signal = await new_signal(channel)
    created = (await deliveries.create(delivery_of(signal, {}), key=new_key())).resource
    prefix, _, suffix = created.name.rpartition("-")
    assert (prefix, len(suffix)) == (signal.name, 5)
    assert await deliveries.get(created.name, signal.namespace) == created


async def test_lists_by_signal_id_and_name_in_pages(deliveries, channel):
    signal = await new_signal(channel)
    other = await new_signal(channel)
    made = []
    for n in range(3):
        made.append((await deliveries.create(delivery_of(signal, {"n": n}), key=new_key())).resource.id)
        await deliveries.create(delivery_of(other, {"n": n}), key=new_key())
    newest_first = made[::-1]

    for filters in ({"signal_id": signal.id}, {"signal_name": signal.name}):
        first, token = await deliveries.list(signal.namespace, page_size=2, filters=filters)
        assert [d.id for d in first] == newest_first[:2]
        rest, end = await deliveries.list(signal.namespace, page_size=2, page_token=token, filters=filters)
        assert ([d.id for d in rest], end) == (newest_first[2:], "")
    # A token belongs to its query: another Signal's filter cannot continue it.
    _, token = await deliveries.list("", page_size=1, filters={"signal_id": signal.id})
    await refused(
        deliveries.list("", page_size=1, page_token=token, filters={"signal_id": other.id}),
        grpc.StatusCode.INVALID_ARGUMENT,
        400,
        "INVALID_ARGUMENT",
    )


async def test_deliveries_of_a_deleted_signal_stay_and_a_new_one_counts_anew(deliveries, signals, channel):
    signal = await new_signal(channel)
    old = (await deliveries.create(delivery_of(signal, {}), key=new_key())).resource
    await signals.delete(signal.id)
    again = test_signal.sample(signal.namespace)
    again.name = signal.name
    again.spec.ClearField("payload_schema")
    recreated = (await signals.create(again, key=new_key())).resource
    new = (await deliveries.create(delivery_of(recreated, {}), key=new_key())).resource

    assert (await signals.get(recreated.id)).status.deliveries == 1
    by_name, _ = await deliveries.list(signal.namespace, filters={"signal_name": signal.name})
    assert [d.id for d in by_name] == [new.id, old.id]
    by_id, _ = await deliveries.list(signal.namespace, filters={"signal_id": signal.id})
    assert [d.id for d in by_id] == [old.id]
