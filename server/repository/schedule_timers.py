"""SQL of the server's scheduler: each Schedule's persisted next firing time, and the claim of a due one by
one replica at a time (FOR UPDATE SKIP LOCKED on the Schedule's row, as the outbox worker claims entries)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from jangar.server.repository.database import Tx
from jangar.server.repository.mapping import STORED
from jangar.server.repository.tables import schedule_timers

_timers = schedule_timers.c


async def set_next(db: Tx, schedule_id: str, at: datetime | None) -> None:
    """When the server fires the Schedule next; None: never (suspended, or a CronJob fires it)."""
    statement = insert(schedule_timers).values(schedule_id=uuid.UUID(schedule_id), next_fire_at=at)
    await db.execute(
        statement.on_conflict_do_update(index_elements=[_timers.schedule_id], set_={"next_fire_at": at})
    )


async def claim_due(db: Tx, now: datetime) -> uuid.UUID | None:
    """The Schedule due longest ago, its row locked until the transaction ends: the lock a request changing
    the Schedule takes too (always the Schedule's row before its timer's, so the two never deadlock). Rows
    other replicas hold are skipped, so each due time is fired by one replica."""
    schedules = STORED["Schedule"].table
    statement = (
        select(schedules.c.id)
        .join(schedule_timers, _timers.schedule_id == schedules.c.id)
        .where(_timers.next_fire_at <= now)
        .order_by(_timers.next_fire_at, schedules.c.id)
        .limit(1)
        .with_for_update(of=schedules, skip_locked=True)
    )
    return await db.scalar(statement)


async def next_fire(db: Tx, schedule_id: uuid.UUID) -> datetime | None:
    return await db.scalar(select(_timers.next_fire_at).where(_timers.schedule_id == schedule_id))
