"""The normalized run view: both run tables projected onto the same columns, read together."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Executable, Row, Select, Table, and_, literal, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from jangar.server.domain.pagination import Page
from jangar.server.repository.resources import Ref, ref_conditions, ref_params
from jangar.server.repository.tables import agent_runs, orchestration_runs

# (run kind, table, parent kind, parent column prefix)
RUN_TABLES = (
    ("AgentRun", agent_runs, "Agent", "agent"),
    ("OrchestrationRun", orchestration_runs, "Orchestration", "orchestration"),
)

# Builds the filters of one branch from its table.
Filters = Callable[[Table], Sequence[ColumnElement[bool]]]


def _branch(kind: str, table: Table, parent_kind: str, parent: str, filters: Filters) -> Select:
    c = table.c
    return select(
        literal(kind).label("kind"),
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
        literal(parent_kind).label("parent_kind"),
        c[f"{parent}_id"].label("parent_id"),
        c[f"{parent}_name"].label("parent_name"),
    ).where(and_(*filters(table)))


def _find_query(*, by_id: bool) -> Executable:
    return union_all(
        *(_branch(*spec, lambda table: ref_conditions(table, "name", by_id=by_id)) for spec in RUN_TABLES)
    )


# Built once: GetRun is on the hot path of every UI poll.
_FIND_BY_ID = _find_query(by_id=True)
_FIND_BY_NAME = _find_query(by_id=False)


async def find_runs(db: AsyncConnection, ref: Ref) -> list[Row]:
    """Every run the reference matches: at most one per kind."""
    query = _FIND_BY_ID if ref.id is not None else _FIND_BY_NAME
    return list((await db.execute(query, ref_params(ref))).all())


async def list_runs(db: AsyncConnection, filters: Filters, page: Page) -> tuple[list[Row], bool]:
    def with_cursor(table: Table) -> list[ColumnElement[bool]]:
        conditions = list(filters(table))
        if page.after is not None:
            conditions.append(
                tuple_(table.c.created_at, table.c.id) < tuple_(page.after.create_time, page.after.id)
            )
        return conditions

    # Each branch is limited on its own index before the merge, so a page never reads more than
    # (page size + 1) rows per run table.
    branches = [
        _branch(*spec, with_cursor)
        .order_by(spec[1].c.created_at.desc(), spec[1].c.id.desc())
        .limit(page.size + 1)
        .subquery()
        for spec in RUN_TABLES
    ]
    merged = union_all(*(select(b) for b in branches)).subquery()
    query = select(merged).order_by(merged.c.created_at.desc(), merged.c.id.desc()).limit(page.size + 1)
    rows = list((await db.execute(query)).all())
    return rows[: page.size], len(rows) > page.size
