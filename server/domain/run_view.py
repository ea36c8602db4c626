"""`GET /v1/runs/{id}` and `GET /v1/runs`: one shape for every kind of run, so a caller that knows only a
run id never branches on its type."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, Table
from sqlalchemy.sql.elements import ColumnElement

from jangar.server.domain import common
from jangar.server.domain.errors import FieldViolation, invalid_argument, not_found
from jangar.server.domain.pagination import Cursor, next_page_token, page_request, query_hash
from jangar.server.domain.runs import phase_name
from jangar.server.domain.store import Store
from jangar.server.repository import run_view
from jangar.server.repository.resources import any_of
from jangar.server.repository.selectors import selector_clause
from jangar.v1 import run_pb2
from jangar.v1.run_phase_pb2 import RunPhase


def run_from_row(row: Row) -> run_pb2.Run:
    run = run_pb2.Run(
        kind=row.kind,
        id=str(row.id),
        name=row.name,
        namespace=row.namespace,
        phase=RunPhase.Value(row.status),
        reason=row.reason,
        message=row.message,
        delivery_id=row.delivery_id,
        parent=run_pb2.RunParent(kind=row.parent_kind, id=str(row.parent_id), name=row.parent_name),
        labels=row.labels,
    )
    run.create_time.FromDatetime(row.created_at)
    run.update_time.FromDatetime(row.updated_at)
    if row.start_time is not None:
        run.start_time.FromDatetime(row.start_time)
    if row.finish_time is not None:
        run.finish_time.FromDatetime(row.finish_time)
    return run


class RunViewService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def get(self, id_or_name: str, namespace: str) -> run_pb2.Run:
        ref = common.resolve_ref(id_or_name, namespace)
        async with self._store.transaction() as db:
            rows = await run_view.find_runs(db, ref)
        if not rows:
            raise not_found("Run", id_or_name, None if ref.id else ref.namespace)
        if len(rows) > 1:
            kinds = " and ".join(f"{row.kind} {row.id}" for row in rows)
            raise invalid_argument(
                [FieldViolation("id", f"the name {id_or_name!r} matches {kinds}; use the run's id")],
                reason="RUN_NAME_AMBIGUOUS",
            )
        return run_from_row(rows[0])

    async def list(
        self, *, namespace: str, page_size: int, page_token: str, label_selector: str, phases: Sequence[int]
    ) -> tuple[list[run_pb2.Run], str]:
        only_namespace = common.namespace_filter(namespace)
        selector = common.selector(label_selector)
        phase_names = sorted({phase_name(p) for p in phases})
        page = page_request(
            page_size, page_token, query_hash("Run", only_namespace, selector.canonical(), phase_names)
        )

        def filters(table: Table) -> list[ColumnElement[bool]]:
            conditions = [selector_clause(table.c.labels, selector)]
            if only_namespace:
                conditions.append(table.c.namespace == only_namespace)
            if phase_names:
                conditions.append(any_of(table.c.status, phase_names))
            return conditions

        async with self._store.transaction() as db:
            rows, more = await run_view.list_runs(db, filters, page)
        last = Cursor(rows[-1].created_at, rows[-1].id) if rows else None
        return [run_from_row(row) for row in rows], next_page_token(page, last, more)
