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
    """The audit row of one event, for writes.insert_all."""
    return NewRow(
        audit_events,
        {
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


async def record(db: Tx, **event: Any) -> None:
    await insert_row(db, row(**event))


async def insert_row(db: Tx, event: NewRow) -> None:
    await db.execute(_INSERT, event.values)
