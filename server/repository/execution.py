"""SQL of run execution: the execution columns of run rows (attempt, runtime, timers, whether a runtime
object may be alive) and the phase history in run_transitions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select

from jangar.server.repository.database import Tx
from jangar.server.repository.mapping import StoredKind
from jangar.server.repository.tables import run_transitions
from jangar.server.repository.writes import NewRow
from jangar.v1.run_phase_pb2 import RunPhase

UNFINISHED = ("Pending", "Running")


@dataclass(frozen=True)
class Execution:
    """A run's execution columns."""

    attempt: int
    runtime: str
    runtime_active: bool
    next_attempt_at: datetime | None
    deadline_at: datetime | None


def _execution(row: Any) -> Execution:
    return Execution(row.attempt, row.runtime, row.runtime_active, row.next_attempt_at, row.deadline_at)


async def load(db: Tx, stored: StoredKind, run_id: uuid.UUID) -> tuple[Any, Execution] | None:
    """The run and its execution columns, its row locked until the transaction ends; None when gone."""
    table = stored.table
    row = (await db.execute(select(table).where(table.c.id == run_id).with_for_update())).first()
    return None if row is None else (stored.from_row(row), _execution(row))


async def lock(db: Tx, stored: StoredKind, run_ids: set[uuid.UUID]) -> None:
    """Locks these runs' rows until the transaction ends, in id order (Postgres locks a FOR UPDATE query's
    rows as its ORDER BY returns them): two transactions that lock overlapping sets this way wait for each
    other instead of deadlocking."""
    table = stored.table
    await db.execute(
        select(table.c.id).where(table.c.id.in_(sorted(run_ids))).order_by(table.c.id).with_for_update()
    )


@dataclass(frozen=True)
class State:
    """A run's execution columns and phase, read without a lock."""

    attempt: int
    runtime: str
    runtime_active: bool
    phase: str


async def states(
    db: Tx, stored: StoredKind, run_ids: Sequence[uuid.UUID] | set[uuid.UUID]
) -> dict[uuid.UUID, State]:
    table = stored.table
    statement = select(
        table.c.id, table.c.attempt, table.c.runtime, table.c.runtime_active, table.c.status
    ).where(table.c.id.in_(sorted(run_ids)))
    return {
        row.id: State(row.attempt, row.runtime, row.runtime_active, row.status)
        for row in await db.execute(statement)
    }


def _due_conditions(table: sa.Table, runtimes: Sequence[str], now: datetime) -> list[Any]:
    return [
        table.c.runtime.in_(list(runtimes)),
        table.c.next_attempt_at <= now,
        table.c.status.in_(UNFINISHED),
    ]


async def any_due(db: Tx, stored: StoredKind, runtimes: Sequence[str], now: datetime) -> bool:
    """Whether some run's next attempt is due, without locking anything (one statement in autocommit: a
    poll that finds nothing, nearly every poll, costs one round trip instead of BEGIN, SELECT, COMMIT)."""
    table = stored.table
    statement = select(sa.exists().where(*_due_conditions(table, runtimes, now)))
    return bool(await db.scalar(statement))


async def due(
    db: Tx, stored: StoredKind, runtimes: Sequence[str], now: datetime, limit: int
) -> list[tuple[Any, Execution]]:
    """Unfinished runs whose next attempt is due on one of `runtimes`, locked; rows another server is
    starting are skipped (FOR UPDATE SKIP LOCKED), so replicas never start one attempt twice."""
    table = stored.table
    statement = (
        select(table)
        .where(*_due_conditions(table, runtimes, now))
        .order_by(table.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [(stored.from_row(row), _execution(row)) for row in (await db.execute(statement)).all()]


@dataclass(frozen=True)
class Active:
    """A run whose runtime object may be alive."""

    run_id: uuid.UUID
    phase: str
    attempt: int
    runtime: str
    deadline_at: datetime | None


async def active(db: Tx, stored: StoredKind, runtimes: Sequence[str], limit: int) -> list[Active]:
    table = stored.table
    statement = (
        select(table.c.id, table.c.status, table.c.attempt, table.c.runtime, table.c.deadline_at)
        .where(table.c.runtime_active, table.c.runtime.in_(list(runtimes)))
        .order_by(table.c.updated_at)
        .limit(limit)
    )
    return [Active(*row) for row in (await db.execute(statement)).all()]


async def set_inactive(db: Tx, stored: StoredKind, run_id: uuid.UUID, attempt: int) -> None:
    """The runtime object of `attempt` is gone (stopped, or it ended)."""
    table = stored.table
    await db.execute(
        sa.update(table).where(table.c.id == run_id, table.c.attempt == attempt).values(runtime_active=False)
    )


def transition_row(
    *,
    run_kind: str,
    run_id: str,
    attempt: int,
    from_phase: int,
    to_phase: int,
    reason: str,
    message: str,
) -> NewRow:
    """A run_transitions row, for writes.insert_all or `record_transition`."""
    values = {
        "run_kind": run_kind,
        "run_id": uuid.UUID(run_id),
        "attempt": attempt,
        "from_phase": RunPhase.Name(from_phase),
        "to_phase": RunPhase.Name(to_phase),
        "reason": reason,
        "message": message[:1024],
    }
    return NewRow(run_transitions, values)


async def record_transition(db: Tx, **transition: Any) -> None:
    await db.execute(sa.insert(run_transitions).values(**transition_row(**transition).values))
