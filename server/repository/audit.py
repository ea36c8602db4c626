"""Audit rows: one per decision or change, written in the transaction of the change itself."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert

from jangar.server.repository.database import Tx
from jangar.server.repository.tables import audit_events
from jangar.server.repository.writes import NewRow

_INSERT = insert(audit_events)  # built once: it runs on every write


def row(
    *,
    entity_type: str,
    entity_id: uuid.UUID,
    event_type: str,
    payload: dict[str, Any],
    actor: str,
    request_id: str,
    delivery_id: str | None,
    namespace: str | None,
) -> NewRow:
    """The audit row of one event, for writes.insert_all. Its id is assigned here, so that a revision can
    name its audit event without a round trip to read it back."""
    return NewRow(
        audit_events,
        {
            "id": uuid.uuid4(),
            "entity_type": entity_type,
            "entity_id": entity_id,
            "event_type": event_type,
            "payload": payload,
            "actor": actor,
            "request_id": request_id,
            "delivery_id": delivery_id,
            "namespace": namespace,
        },
    )


async def record(db: Tx, **event: Any) -> uuid.UUID:
    """Writes the audit row of one event (row's arguments) and returns its id."""
    event_row = row(**event)
    await insert_row(db, event_row)
    return event_row.values["id"]


async def insert_row(db: Tx, event: NewRow) -> None:
    await db.execute(_INSERT, event.values)
