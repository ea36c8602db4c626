"""The rows whose TTL has passed (docs/storage.md): Workspaces `spec.ttlSeconds` after their creation,
Artifacts `spec.lifecycle.ttlDays` days after theirs. Claimed FOR UPDATE SKIP LOCKED, so server replicas
running the same upkeep expire each row once. The candidates are exactly the rows of the partial indexes of
migration 0011, whose predicates are repeated here word for word, as constants, so that the planner uses
them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text

from jangar.server.repository.database import Tx
from jangar.server.repository.mapping import StoredKind


@dataclass(frozen=True)
class Expiring:
    """A kind's rows that may expire (the partial index's predicate) and their TTL in seconds, as SQL."""

    candidates: str
    ttl_seconds: str


WORKSPACES = Expiring(
    candidates="(spec ? 'ttlSeconds') AND (status->>'phase' IS DISTINCT FROM 'Expired')",
    ttl_seconds="(spec->>'ttlSeconds')::bigint",
)
ARTIFACTS = Expiring(
    candidates="(spec->'lifecycle' ? 'ttlDays') AND (status->>'phase' IS DISTINCT FROM 'Expired')",
    # Days of 86400 s: a TTL does not move with daylight saving time.
    ttl_seconds="(spec->'lifecycle'->>'ttlDays')::bigint * 86400",
)


async def due(
    db: Tx, stored: StoredKind, expiring: Expiring, now: datetime, limit: int, *, local_files: bool = True
) -> list[Any]:
    """Up to `limit` unexpired resources whose TTL is set and over, oldest first, locked until the
    transaction ends; without `local_files`, none whose `spec.uri` is a `file:` URI."""
    table = stored.table
    conditions = [
        text(expiring.candidates),
        text(f"created_at + make_interval(secs => {expiring.ttl_seconds}) <= :now").bindparams(
            bindparam("now", now)
        ),
    ]
    if not local_files:
        conditions.append(text("coalesce(spec->>'uri', '') NOT LIKE 'file:%'"))
    statement = (
        select(table)
        .where(*conditions)
        .order_by(table.c.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [stored.from_row(row) for row in (await db.execute(statement)).all()]
