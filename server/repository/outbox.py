"""SQL of the outbox: Kubernetes writes committed with the change that needs them, claimed by one worker at a
time (FOR UPDATE SKIP LOCKED) and deleted once done."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from jangar.server.repository.database import Tx
from jangar.server.repository.tables import outbox
from jangar.server.repository.writes import NewRow


@dataclass(frozen=True)
class Entry:
    id: int
    operation: str
    run_kind: str
    run_id: uuid.UUID
    attempt: int
    payload: dict[str, Any]
    tries: int


def entry(*, operation: str, run_kind: str, run_id: str, attempt: int, payload: dict[str, Any]) -> NewRow:
    """An outbox row, for writes.insert_all (with the change that needs it) or `add`."""
    values = {
        "operation": operation,
        "run_kind": run_kind,
        "run_id": uuid.UUID(run_id),
        "attempt": attempt,
        "payload": payload,
    }
    return NewRow(outbox, values)


async def add(
    db: Tx, *, operation: str, run_kind: str, run_id: str, attempt: int, payload: dict[str, Any]
) -> None:
    await insert_entry(
        db, entry(operation=operation, run_kind=run_kind, run_id=run_id, attempt=attempt, payload=payload)
    )


async def insert_entry(db: Tx, new: NewRow) -> None:
    await db.execute(insert(outbox).values(**new.values))


async def claim(db: Tx, now: datetime, busy: Collection[uuid.UUID] = ()) -> Entry | None:
    """The oldest entry that is due, locked until the transaction ends; entries other workers hold are
    skipped, so each write is attempted by one worker at a time, and so are entries of the runs in `busy`
    (those the caller is performing another entry of)."""
    statement = select(outbox).where(outbox.c.available_at <= now)
    if busy:
        statement = statement.where(outbox.c.run_id.not_in(list(busy)))
    statement = (
        statement.order_by(outbox.c.available_at, outbox.c.id).limit(1).with_for_update(skip_locked=True)
    )
    row = (await db.execute(statement)).first()
    if row is None:
        return None
    return Entry(row.id, row.operation, row.run_kind, row.run_id, row.attempt, row.payload, row.tries)


async def done(db: Tx, entry_id: int) -> None:
    await db.execute(delete(outbox).where(outbox.c.id == entry_id))


async def retry_later(db: Tx, entry_id: int, *, at: datetime, error: str) -> None:
    await db.execute(
        update(outbox)
        .where(outbox.c.id == entry_id)
        .values(available_at=at, tries=outbox.c.tries + 1, last_error=error)
    )


async def pending(db: Tx, run_id: str, operation: str) -> bool:
    """Whether the run has an entry of `operation` not yet done."""
    statement = select(outbox.c.id).where(
        outbox.c.run_id == uuid.UUID(run_id), outbox.c.operation == operation
    )
    return (await db.execute(statement.limit(1))).first() is not None
