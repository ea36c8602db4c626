"""Pieces every use case shares: addressing by id or name, list parameters, conditions, audit rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from jangar.server.core.context import RequestContext
from jangar.server.core.errors import FieldViolation, invalid_argument, not_found
from jangar.server.core.names import dns1123_label_problems
from jangar.server.core.query import Ref
from jangar.server.core.selectors import Selector, SelectorSyntaxError, parse_selector
from jangar.server.core.timestamps import set_timestamp
from jangar.server.domain.validation import DEFAULT_NAMESPACE
from jangar.server.repository import audit, rows
from jangar.server.repository.database import Tx
from jangar.server.repository.mapping import StoredKind
from jangar.server.repository.writes import NewRow
from jangar.v1 import common_pb2


def utcnow() -> datetime:
    return datetime.now(UTC)


def resolve_ref(id_or_name: str, namespace: str) -> Ref:
    """`{id}` in a path is the UUID, or the name together with `?namespace=` (default `default`)."""
    try:
        return Ref(id=uuid.UUID(id_or_name))
    except ValueError:
        pass
    problems = dns1123_label_problems(id_or_name) if id_or_name else ["is required"]
    namespace = namespace or DEFAULT_NAMESPACE
    problems_ns = dns1123_label_problems(namespace)
    violations = [FieldViolation("id", f"must be a UUID or a name: {p}") for p in problems]
    violations += [FieldViolation("namespace", p) for p in problems_ns]
    if violations:
        raise invalid_argument(violations)
    return Ref(namespace=namespace, name=id_or_name)


async def load(db: Tx, stored: StoredKind, id_or_name: str, namespace: str, *, for_update: bool) -> Any:
    """The resource `{id}` (and `?namespace=`) names, or NOT_FOUND."""
    ref = resolve_ref(id_or_name, namespace)
    found = await rows.find(db, stored, ref, for_update=for_update)
    if found is None:
        raise not_found(stored.kind.name, id_or_name, None if ref.id else ref.namespace)
    return found


def namespace_filter(namespace: str) -> str | None:
    """Lists cover every namespace unless one is named."""
    if not namespace:
        return None
    problems = dns1123_label_problems(namespace)
    if problems:
        raise invalid_argument([FieldViolation("namespace", p) for p in problems])
    return namespace


def selector(text: str) -> Selector:
    try:
        return parse_selector(text)
    except SelectorSyntaxError as error:
        raise invalid_argument([FieldViolation("labelSelector", str(error))]) from None


def condition(type_: str, status: str, reason: str, message: str, generation: int) -> common_pb2.Condition:
    result = common_pb2.Condition(
        type=type_, status=status, reason=reason, message=message, observed_generation=generation
    )
    set_timestamp(result.last_transition_time, utcnow())
    return result


def set_condition(resource: Any, condition: common_pb2.Condition) -> None:
    """Puts `condition` in the resource's status in place of the one of its type."""
    conditions: Any = resource.status.conditions
    kept = [c for c in conditions if c.type != condition.type]
    del conditions[:]
    conditions.extend(kept)
    conditions.append(condition)


async def change_phase(
    db: Tx,
    context: RequestContext,
    stored: StoredKind,
    resource: Any,
    phase: int,
    condition: common_pb2.Condition,
    event: str = "PhaseChanged",
) -> None:
    """A definition's `status.phase` changes outside a request of its own (a Workspace following its claim,
    an expiry): the phase and its condition saved, with the audit event, in the caller's transaction."""
    phases = type(resource.status).Phase
    before = resource.status.phase
    resource.status.phase = phase
    set_condition(resource, condition)
    await rows.update(db, stored, uuid.UUID(resource.id), resource)
    await record_audit(
        db,
        context,
        kind=stored.kind.name,
        entity_id=resource.id,
        event=event,
        namespace=resource.namespace,
        payload={
            "name": resource.name,
            "from": phases.Name(before),
            "to": phases.Name(phase),
            "reason": condition.reason,
        },
    )


def accepted_status(resource: Any) -> None:
    """The status of a definition whose spec passed validation."""
    del resource.status.conditions[:]
    resource.status.conditions.append(
        condition("Accepted", "True", "Valid", "the spec passed validation", resource.generation)
    )
    resource.status.observed_generation = resource.generation


async def record_audit(db: Tx, context: RequestContext, **event: Any) -> uuid.UUID:
    """Writes the audit row of an event (audit_row's arguments) in the caller's transaction; returns its
    id."""
    row = audit_row(context, **event)
    await audit.insert_row(db, row)
    return row.values["id"]


def audit_row(
    context: RequestContext,
    *,
    kind: str,
    entity_id: uuid.UUID | str,
    event: str,
    namespace: str,
    payload: dict[str, Any],
) -> NewRow:
    """The audit row of an event, for a change written in one statement (writes.insert_all)."""
    return audit.row(
        entity_type=kind,
        entity_id=uuid.UUID(str(entity_id)),
        event_type=event,
        payload=payload,
        actor=context.principal,
        request_id=context.request_id,
        delivery_id=context.idempotency_key,
        namespace=namespace,
    )
