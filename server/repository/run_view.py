"""The normalized run view: every run table of the registry projected onto the same columns, read together,
and each row turned into a `Run` message."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import asyncpg
from sqlalchemy import (
    BigInteger,
    Select,
    Table,
    and_,
    cast,
    extract,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.elements import ColumnElement

from jangar.server.core import proto_json
from jangar.server.core.kinds import Kind, registry
from jangar.server.core.query import ListQuery, PageOf, Ref
from jangar.server.core.timestamps import set_timestamp, set_timestamp_if_any
from jangar.server.repository import raw
from jangar.server.repository.database import Tx
from jangar.server.repository.rows import after_cursor, list_conditions, page_of, ref_conditions, ref_params
from jangar.server.repository.tables import KIND_TABLES, run_transitions
from jangar.v1 import run_pb2
from jangar.v1.run_phase_pb2 import RunPhase


def _history(run_id: ColumnElement[Any]) -> ColumnElement[Any]:
    """A run's phase changes as one JSON array, oldest first: read with the run, in the same round trip."""
    t = run_transitions.c
    key = raw.sql_constant
    item = func.json_build_object(
        key("from"),
        t.from_phase,
        key("to"),
        t.to_phase,
        key("reason"),
        t.reason,
        key("message"),
        t.message,
        key("attempt"),
        t.attempt,
        key("time"),
        # Microseconds since the epoch: a number is read into a Timestamp twenty times faster than text.
        cast(extract("epoch", t.created_at) * literal_column("1000000"), BigInteger),
    )
    aggregated = func.coalesce(
        func.json_agg(aggregate_order_by(item, t.created_at, t.id)), literal_column("'[]'::json")
    )
    return select(aggregated).where(t.run_id == run_id).scalar_subquery().label("history")


def _branch(kind: Kind, conditions: list[ColumnElement[bool]]) -> Select:
    assert kind.parent is not None
    c = KIND_TABLES[kind.name].c
    return select(
        raw.sql_constant(kind.name).label("kind"),
        c.id,
        c.name,
        c.namespace,
        c.status,
        c.reason,
        c.message,
        c.delivery_id,
        c.created_at,
        c.updated_at,
        c.start_time,
        c.finish_time,
        c.labels,
        c.attempt,
        c.status_detail,
        raw.sql_constant(kind.parent.kind).label("parent_kind"),
        c[kind.parent.id_field].label("parent_id"),
        c[kind.parent.name_field].label("parent_name"),
    ).where(and_(*conditions))


def _table(kind: Kind) -> Table:
    return KIND_TABLES[kind.name]


@cache
def _find_query(by_id: bool) -> raw.Compiled:
    # Built and compiled once: GetRun is on the hot path of every UI poll. The history is read once, for
    # the row the union finds, not in each kind's branch: every branch of a cached plan is started on each
    # execution, and three history subqueries cost Postgres a fifth more per GetRun than one.
    found = union_all(
        *(_branch(kind, ref_conditions(_table(kind), "name", by_id=by_id)) for kind in registry().runs)
    ).subquery("found")
    return raw.compile_statement(select(*found.c, _history(found.c.id)))


def run_from_row(row: Mapping[str, Any]) -> run_pb2.Run:
    """A row of the view (an asyncpg record, or a SQLAlchemy row's `_mapping`) as a Run."""
    run = run_pb2.Run(
        kind=row["kind"],
        id=str(row["id"]),
        name=row["name"],
        namespace=row["namespace"],
        phase=RunPhase.Value(row["status"]),
        reason=row["reason"],
        message=row["message"],
        delivery_id=row["delivery_id"],
        parent=run_pb2.RunParent(kind=row["parent_kind"], id=str(row["parent_id"]), name=row["parent_name"]),
        labels=row["labels"],
        attempt=row["attempt"],
    )
    # The rest of each kind's status is JSON in status_detail; the view shows the parts every kind has.
    detail = row["status_detail"] or {}
    if "runtimeRef" in detail:
        proto_json.parse_dict(detail["runtimeRef"], run.runtime_ref)
    if "runner" in detail:
        proto_json.parse_dict(detail["runner"], run.runner)
    for change in row.get("history") or ():
        item = run.history.add(
            from_phase=RunPhase.Value(change["from"]),
            to_phase=RunPhase.Value(change["to"]),
            reason=change["reason"],
            message=change["message"],
            attempt=change["attempt"],
        )
        item.time.FromMicroseconds(change["time"])
    set_timestamp(run.create_time, row["created_at"])
    set_timestamp(run.update_time, row["updated_at"])
    set_timestamp_if_any(run.start_time, row["start_time"])
    set_timestamp_if_any(run.finish_time, row["finish_time"])
    return run


async def find_runs(connection: asyncpg.Connection, ref: Ref) -> list[run_pb2.Run]:
    """Every run the reference matches (at most one per kind), each with its phase history, in one
    statement on a pool's asyncpg connection (Database.driver_connection, repository/raw.py)."""
    rows = await raw.fetch(connection, _find_query(ref.id is not None), ref_params(ref))
    return [run_from_row(row) for row in rows]


async def list_runs(db: Tx, query: ListQuery) -> PageOf[run_pb2.Run]:
    # Each branch is limited on its own index before the merge, so a page never reads more than
    # (page size + 1) rows per run table.
    size = query.page.size
    branches = []
    for kind in registry().runs:
        table = _table(kind)
        conditions = list_conditions(table, query) + after_cursor(table, query.page)
        branches.append(
            _branch(kind, conditions)
            .order_by(table.c.created_at.desc(), table.c.id.desc())
            .limit(size + 1)
            .subquery()
        )
    merged = union_all(*(select(b) for b in branches)).subquery()
    statement = select(merged).order_by(merged.c.created_at.desc(), merged.c.id.desc()).limit(size + 1)
    rows = list((await db.execute(statement)).all())
    return page_of(rows, size, lambda row: run_from_row(row._mapping))
