"""SQL of what the reconciler reported: the last seen resourceVersion of each cluster object (by uid), what
the ingest read from it, and the Jobs whose outcome waits for their Pod's report."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select

from jangar.server.repository.database import Tx
from jangar.server.repository.mapping import StoredKind
from jangar.server.repository.tables import cluster_objects


@dataclass(frozen=True)
class Record:
    uid: str
    api_version: str
    kind: str
    namespace: str
    name: str
    resource_version: str
    deleted: bool
    run_kind: str | None
    run_id: uuid.UUID | None
    attempt: int | None
    facts: dict[str, Any]


def _record(row: Any) -> Record:
    return Record(
        row.uid,
        row.api_version,
        row.kind,
        row.namespace,
        row.name,
        row.resource_version,
        row.deleted,
        row.run_kind,
        row.run_id,
        row.attempt,
        row.facts,
    )


@dataclass(frozen=True)
class Known:
    """What was last seen of an object."""

    resource_version: str
    facts: dict[str, Any]
    deleted: bool


async def known(db: Tx, uids: Iterable[str]) -> dict[str, Known]:
    """What was last seen of each of `uids` that has been seen."""
    wanted = sorted(set(uids))
    if not wanted:
        return {}
    c = cluster_objects.c
    statement = select(c.uid, c.resource_version, c.facts, c.deleted).where(c.uid.in_(wanted))
    return {
        row.uid: Known(row.resource_version, row.facts, row.deleted) for row in await db.execute(statement)
    }


async def save(db: Tx, records: Sequence[Record], *, terminal_now: Sequence[str] = ()) -> None:
    """Upsert `records`; the uids in `terminal_now` are Jobs seen finished for the first time. A record older
    than the stored one (by resourceVersion, compared as the ingest's verdicts do) leaves it as it is: two
    sessions of the stream applied at once may each have judged their snapshot new."""
    if not records:
        return
    # One row per uid (the newest): an upsert may not touch a row twice.
    records = list({r.uid: r for r in records}.values())
    values = [
        {
            "uid": r.uid,
            "api_version": r.api_version,
            "kind": r.kind,
            "namespace": r.namespace,
            "name": r.name,
            "resource_version": r.resource_version,
            "deleted": r.deleted,
            "run_kind": r.run_kind,
            "run_id": r.run_id,
            "attempt": r.attempt,
            "facts": r.facts,
        }
        for r in records
    ]
    # One statement of arrays (unnest), the same text whatever the batch size: a VALUES list of 500 rows
    # would be compiled anew for every batch.
    columns = {name: [v[name] for v in values] for name in values[0]}
    columns["facts"] = [json.dumps(f) for f in columns["facts"]]
    columns["run_id"] = [str(r) if r is not None else None for r in columns["run_id"]]
    await db.execute(_UPSERT, columns)
    if terminal_now:
        await db.execute(
            sa.update(cluster_objects)
            .where(cluster_objects.c.uid.in_(list(terminal_now)), cluster_objects.c.terminal_at.is_(None))
            .values(terminal_at=sa.func.clock_timestamp())
        )


_UPSERT = sa.text(
    """
INSERT INTO cluster_objects
  (uid, api_version, kind, namespace, name, resource_version, deleted, run_kind, run_id, attempt, facts)
SELECT u.uid, u.api_version, u.kind, u.namespace, u.name, u.resource_version, u.deleted, u.run_kind,
       u.run_id::uuid, u.attempt, u.facts::jsonb
FROM unnest(
  CAST(:uid AS text[]), CAST(:api_version AS text[]), CAST(:kind AS text[]), CAST(:namespace AS text[]),
  CAST(:name AS text[]), CAST(:resource_version AS text[]), CAST(:deleted AS boolean[]),
  CAST(:run_kind AS text[]), CAST(:run_id AS text[]), CAST(:attempt AS integer[]), CAST(:facts AS text[])
) AS u(uid, api_version, kind, namespace, name, resource_version, deleted, run_kind, run_id, attempt, facts)
ON CONFLICT (uid) DO UPDATE SET
  resource_version = excluded.resource_version,
  deleted = excluded.deleted,
  run_kind = excluded.run_kind,
  run_id = excluded.run_id,
  attempt = excluded.attempt,
  facts = excluded.facts,
  updated_at = clock_timestamp()
WHERE NOT (cluster_objects.resource_version ~ '^[0-9]+$' AND excluded.resource_version ~ '^[0-9]+$'
           AND excluded.resource_version::numeric < cluster_objects.resource_version::numeric)
"""
)


async def for_attempt(db: Tx, kind: str, run_id: uuid.UUID, attempt: int) -> list[Record]:
    """The objects of `kind` (Job, Pod) of one attempt, newest first."""
    statement = (
        select(cluster_objects)
        .where(
            cluster_objects.c.run_id == run_id,
            cluster_objects.c.attempt == attempt,
            cluster_objects.c.kind == kind,
        )
        .order_by(cluster_objects.c.updated_at.desc())
    )
    return [_record(row) for row in (await db.execute(statement)).all()]


async def settle(db: Tx, uids: Iterable[str]) -> None:
    """The Jobs' outcomes are decided: the sweep stops looking at them."""
    wanted = list(uids)
    if wanted:
        await db.execute(
            sa.update(cluster_objects).where(cluster_objects.c.uid.in_(wanted)).values(settled=True)
        )


async def unsettled(
    db: Tx,
    *,
    namespace: str = "",
    finished_before: datetime | None = None,
    limit: int | None = None,
    skip: Iterable[str] = (),
) -> list[Record]:
    """Jobs seen finished whose run's outcome is still undecided, oldest first, unlocked (the decision locks
    the run, then the Job: lock_unsettled), the uids in `skip` left out: in `namespace` ('' = all), finished
    before `finished_before` when given."""
    c = cluster_objects.c
    conditions = [sa.not_(c.settled), c.terminal_at.is_not(None), c.kind == "Job"]
    if namespace:
        conditions.append(c.namespace == namespace)
    if finished_before is not None:
        conditions.append(c.terminal_at <= finished_before)
    skipped = list(skip)
    if skipped:
        conditions.append(c.uid.not_in(skipped))
    statement = select(cluster_objects).where(*conditions).order_by(c.terminal_at).limit(limit)
    return [_record(row) for row in (await db.execute(statement)).all()]


async def lock_unsettled(db: Tx, uid: str) -> Record | None:
    """The Job, locked until the transaction ends, if its run's outcome is still undecided."""
    c = cluster_objects.c
    statement = select(cluster_objects).where(c.uid == uid, sa.not_(c.settled)).with_for_update()
    row = (await db.execute(statement)).first()
    return None if row is None else _record(row)


async def jobs_of_active_runs(db: Tx, stored: StoredKind, namespace: str) -> list[Record]:
    """The Jobs seen of runs of one kind whose current attempt may be alive, in `namespace` ('' = all)."""
    runs = stored.table
    conditions = [
        cluster_objects.c.kind == "Job",
        runs.c.runtime_active,
        runs.c.attempt == cluster_objects.c.attempt,
    ]
    if namespace:
        conditions.append(cluster_objects.c.namespace == namespace)
    statement = (
        select(cluster_objects).select_from(cluster_objects.join(runs, runs.c.id == cluster_objects.c.run_id))
    ).where(*conditions)
    return [_record(row) for row in (await db.execute(statement)).all()]


async def latest(db: Tx, api_version: str, kind: str, namespace: str, name: str) -> Record | None:
    """What was last reported of the object with this name (a CNPG Cluster a new Memory names)."""
    statement = (
        select(cluster_objects)
        .where(
            cluster_objects.c.api_version == api_version,
            cluster_objects.c.kind == kind,
            cluster_objects.c.namespace == namespace,
            cluster_objects.c.name == name,
        )
        .order_by(cluster_objects.c.updated_at.desc())
        .limit(1)
    )
    row = (await db.execute(statement)).first()
    return None if row is None else _record(row)
