"""Audit rows: one per decision or change, written in the transaction of the change itself."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert

from jangar.server.repository.database import Tx
from jangar.server.repository.tables import audit_events

_INSERT = insert(audit_events)  # built once: it runs on every write


async def record(
    db: Tx,
    *,
    entity_type: str,
    entity_id: uuid.UUID,
    event_type: str,
    payload: dict[str, Any],
    actor: str,
    request_id: str,
    delivery_id: str | None,
    namespace: str | None,
) -> uuid.UUID:
    """Writes the row and returns its id, which is assigned here so that no round trip reads it back."""
    event_id = uuid.uuid4()
    await db.execute(
        _INSERT,
        {
            "id": event_id,
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
    return event_id
