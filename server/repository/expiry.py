"""The rows whose TTL has passed (docs/storage.md): Workspaces `spec.ttlSeconds` after their creation,
Artifacts `spec.lifecycle.ttlDays` days after theirs. Claimed FOR UPDATE SKIP LOCKED, so server replicas
running the same upkeep expire each row once; the partial indexes of migration 0012 hold the candidates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, and_, cast, func, literal_column, select

from jangar.server.repository.database import Tx
from jangar.server.repository.mapping import StoredKind

SECONDS_PER_DAY = 86400


async def due(
    db: Tx, stored: StoredKind, ttl_path: tuple[str, ...], seconds_per_unit: int, now: datetime, limit: int
) -> list[Any]:
    """Up to `limit` unexpired resources whose TTL (the JSON number at `ttl_path` in the spec, in units of
    `seconds_per_unit`) is set and over, oldest first, locked until the transaction ends."""
    table = stored.table
    parent = table.c.spec[ttl_path[:-1]] if len(ttl_path) > 1 else table.c.spec
    seconds = cast(table.c.spec[ttl_path].astext, BigInteger) * seconds_per_unit
    expires = table.c.created_at + func.make_interval(0, 0, 0, 0, 0, 0, seconds)
    statement = (
        select(table)
        .where(
            and_(
                # The partial index's predicate, as constants (not parameters) so that the planner can use it.
                parent.has_key(literal_column(f"'{ttl_path[-1]}'")),
                table.c.status["phase"].astext.is_distinct_from(literal_column("'Expired'")),
                expires <= now,
            )
        )
        .order_by(table.c.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [stored.from_row(row) for row in (await db.execute(statement)).all()]
