"""SignalDelivery: its payload must match its Signal's schema; a new delivery is counted in the Signal's
status, in its own transaction, so a replayed delivery (which runs no transaction) is never counted twice."""

from __future__ import annotations

import uuid

from jangar.server.core.context import RequestContext
from jangar.server.core.errors import Code, DomainError
from jangar.server.core.json_schema import UnusableSchema, instance_problems
from jangar.server.core.timestamps import set_timestamp
from jangar.server.domain import common
from jangar.server.domain.kinds import KindRules
from jangar.server.domain.kinds.signal import struct_json
from jangar.server.domain.validation import Violations
from jangar.server.repository import rows
from jangar.server.repository.database import Tx
from jangar.server.repository.mapping import STORED
from jangar.v1 import signal_delivery_pb2, signal_pb2

KIND = "SignalDelivery"

# A payload that breaks its schema everywhere gets this many violations, and one saying there are more.
MAX_PAYLOAD_VIOLATIONS = 50

Phase = signal_delivery_pb2.SignalDeliveryStatus.Phase


def validate_spec(spec: signal_delivery_pb2.SignalDeliverySpec, v: Violations) -> None:
    v.reference("spec.signalRef", spec.signal_ref, required=True)
    v.struct("spec.payload", spec.payload)


def check_against_parent(
    delivery: signal_delivery_pb2.SignalDelivery, signal: signal_pb2.Signal, v: Violations
) -> None:
    if not signal.spec.HasField("payload_schema"):
        return
    schema = struct_json(signal.spec.payload_schema)
    try:
        problems = instance_problems(schema, struct_json(delivery.spec.payload), MAX_PAYLOAD_VIOLATIONS + 1)
    except UnusableSchema as error:
        raise DomainError(
            Code.FAILED_PRECONDITION,
            "SIGNAL_SCHEMA_UNUSABLE",
            f"Signal {signal.name!r} has a payloadSchema that cannot check a payload ({error}); fix the "
            "Signal's spec.payloadSchema",
            metadata={"signalId": signal.id},
        ) from None
    for path, problem in problems[:MAX_PAYLOAD_VIOLATIONS]:
        v.add(f"spec.payload{path}", problem)
    if len(problems) > MAX_PAYLOAD_VIOLATIONS:
        v.add("spec.payload", f"has more problems than the {MAX_PAYLOAD_VIOLATIONS} listed")


def delivered_status(delivery: signal_delivery_pb2.SignalDelivery) -> None:
    delivery.status.phase = Phase.Delivered
    set_timestamp(delivery.status.delivered_time, common.utcnow())
    delivery.status.conditions.append(
        common.condition("Accepted", "True", "PayloadValid", "the payload matched the Signal's schema", 1)
    )


async def count_delivery(
    db: Tx,
    context: RequestContext,
    delivery: signal_delivery_pb2.SignalDelivery,
    signal: signal_pb2.Signal,
) -> None:
    """The Signal (locked by the caller) counts the delivery and records when it was made."""
    counted = signal_pb2.Signal()
    counted.CopyFrom(signal)
    counted.status.deliveries += 1
    counted.status.last_delivery_time.CopyFrom(delivery.status.delivered_time)
    await rows.update(db, STORED["Signal"], uuid.UUID(signal.id), counted)
    await common.record_audit(
        db,
        context,
        kind="Signal",
        entity_id=signal.id,
        event="Delivered",
        namespace=signal.namespace,
        payload={
            "delivery": {"id": delivery.id, "name": delivery.name},
            "deliveries": counted.status.deliveries,
        },
    )


RULES = KindRules(
    validate_spec=validate_spec,
    initial_status=delivered_status,
    check_against_parent=check_against_parent,
    record_on_parent=count_delivery,
)
