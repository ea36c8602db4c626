"""SQL for the rows of every kind, driven by its StoredKind: insert, find, keyset list, update, delete. Each
function takes and returns API messages; no caller sees a row or builds SQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from types import SimpleNamespace
from typing import Any, TypeVar

import sqlalchemy as sa
from google.protobuf.message import Message
from sqlalchemy import Executable, Row, Table, and_, bindparam, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql.elements import ColumnElement

from jangar.server.core.pages import Cursor, Page
from jangar.server.core.query import ListQuery, PageOf, Ref
from jangar.server.repository.database import Tx
from jangar.server.repository.mapping import StoredKind, apply_stored, assign_stored
from jangar.server.repository.selectors import selector_clause
from jangar.server.repository.writes import NewRow

T = TypeVar("T")

# The statements on the request path are built once per kind with bind parameters: building and
# cache-keying a fresh statement on every call cost more server CPU than the database round trip itself.


@cache
def _insert_statement(stored: StoredKind) -> Executable:
    table = stored.table
    return (
        pg_insert(table)
        .on_conflict_do_nothing()
        .returning(table.c.id, table.c.created_at, table.c.updated_at, table.c.resource_version)
    )


def ref_conditions(table: Table, name_column: str, *, by_id: bool) -> list[ColumnElement[bool]]:
    """The WHERE terms that select a Ref, with the bind parameters `ref_params` fills."""
    if by_id:
        return [table.c.id == bindparam("ref_id")]
    return [table.c.namespace == bindparam("ref_namespace"), table.c[name_column] == bindparam("ref_name")]


def ref_params(ref: Ref) -> dict[str, Any]:
    if ref.id is not None:
        return {"ref_id": ref.id}
    return {"ref_namespace": ref.namespace, "ref_name": ref.name}


@cache
def _find_statement(stored: StoredKind, by_id: bool, lock: str) -> Executable:
    statement = select(stored.table).where(*ref_conditions(stored.table, stored.name_column, by_id=by_id))
    if lock == "update":
        return statement.with_for_update()
    return statement.with_for_update(read=True) if lock == "share" else statement


# The prefix of the columns of the resource read along (find_with).
_ALONG = "along_"


@cache
def _find_with_statement(
    stored: StoredKind, by_id: bool, other: StoredKind, path: tuple[str, ...]
) -> Executable:
    table, along = stored.table, other.table
    named = table.c[stored.spec_column][path].astext
    joined = table.outerjoin(
        along, and_(along.c.namespace == table.c.namespace, along.c[other.name_column] == named)
    )
    return (
        select(table, *(column.label(_ALONG + column.name) for column in along.c))
        .select_from(joined)
        .where(*ref_conditions(table, stored.name_column, by_id=by_id))
    )


async def find_with(
    db: Tx, stored: StoredKind, ref: Ref, other: StoredKind, path: tuple[str, ...]
) -> tuple[Any | None, Any | None]:
    """The resource `ref` names and, in the same statement, the `other` resource its spec names at `path`
    (a JSON path: an Agent's ("providerRef", "name")) in its namespace; each None when it does not exist.
    One round trip instead of two for what a create reads before it writes."""
    row = (
        await db.execute(_find_with_statement(stored, ref.id is not None, other, path), ref_params(ref))
    ).first()
    if row is None:
        return None, None
    values = row._mapping
    if values[_ALONG + "id"] is None:
        return stored.from_row(row), None
    along = SimpleNamespace(**{column.name: values[_ALONG + column.name] for column in other.table.c})
    return stored.from_row(row), other.from_row(along)  # type: ignore[arg-type]


async def insert(db: Tx, stored: StoredKind, message: Message, **columns: Any) -> bool:
    """Inserts `message` (plus extra column values) and fills in what the database assigned (id, etag,
    create and update time), so a created resource needs no read back. False, with nothing written, when a
    unique index (the name, a delivery id) already holds the values.

    ON CONFLICT DO NOTHING makes a concurrent twin wait for the first insert's transaction and then yield,
    instead of failing the whole transaction."""
    values = {**stored.to_row(message), **columns}
    row = (await db.execute(_insert_statement(stored), values)).first()
    if row is None:
        return False
    apply_stored(message, row)
    return True


def new_row(stored: StoredKind, message: Message, *, now: datetime, **columns: Any) -> NewRow:
    """`message` (plus extra column values) as a row for writes.insert_all, with what the database would
    assign on insert assigned here instead (id, etag, create and update time, filled into `message`), so
    the created resource, and the response stored for its idempotency key, exist before the statement
    runs."""
    row_id = assign_stored(message, now)
    values = {**stored.to_row(message), **columns}
    values.update(id=row_id, created_at=now, updated_at=now, resource_version=1)
    return NewRow(stored.table, values)


async def find(
    db: Tx, stored: StoredKind, ref: Ref, *, for_update: bool = False, for_share: bool = False
) -> Any | None:
    """The resource `ref` names, or None. `for_update` locks its row until the transaction ends;
    `for_share` only keeps others from changing or deleting it meanwhile (a reference to it is being
    written)."""
    lock = "update" if for_update else "share" if for_share else ""
    statement = _find_statement(stored, ref.id is not None, lock)
    row = (await db.execute(statement, ref_params(ref))).first()
    return None if row is None else stored.from_row(row)


async def find_many(db: Tx, stored: StoredKind, ids: Sequence[uuid.UUID]) -> list[Any]:
    """The resources with these ids that exist, in the order of `ids`."""
    if not ids:
        return []
    statement = select(stored.table).where(stored.table.c.id.in_(list(ids)))
    found = {row.id: stored.from_row(row) for row in (await db.execute(statement)).all()}
    return [found[i] for i in ids if i in found]


async def find_id(db: Tx, stored: StoredKind, column: str, value: object) -> uuid.UUID | None:
    """The id of a row whose `column` holds `value` (a delivery id), or None."""
    table = stored.table
    return await db.scalar(select(table.c.id).where(table.c[column] == value).limit(1))


def list_conditions(table: Table, query: ListQuery) -> list[ColumnElement[bool]]:
    """The WHERE terms of a ListQuery on one table, cursor excluded."""
    conditions: list[ColumnElement[bool]] = []
    if query.selector is not None and query.selector.requirements:
        conditions.append(selector_clause(table.c.labels, query.selector))
    if query.namespace:
        conditions.append(table.c.namespace == query.namespace)
    if query.phases:
        conditions.append(_any_of(table.c.status, query.phases))
    conditions += [table.c[name] == value for name, value in query.equals]
    return conditions


def after_cursor(table: Table, page: Page) -> list[ColumnElement[bool]]:
    if page.after is None:
        return []
    return [tuple_(table.c.created_at, table.c.id) < tuple_(page.after.create_time, page.after.id)]


async def list_page(db: Tx, stored: StoredKind, query: ListQuery) -> PageOf[Any]:
    """One page, newest first with the id as tie-breaker."""
    table = stored.table
    conditions = list_conditions(table, query) + after_cursor(table, query.page)
    statement = (
        select(table)
        .where(and_(*conditions))
        .order_by(table.c.created_at.desc(), table.c.id.desc())
        .limit(query.page.size + 1)
    )
    return page_of(list((await db.execute(statement)).all()), query.page.size, stored.from_row)


def page_of(rows: list[Row], size: int, convert: Callable[[Row], T]) -> PageOf[T]:
    """A page from up to size + 1 rows read newest first: the extra row only says that more follow."""
    page = rows[:size]
    cursor = Cursor(page[-1].created_at, page[-1].id) if len(rows) > size and page else None
    return PageOf([convert(row) for row in page], cursor)


async def in_namespace(db: Tx, stored: StoredKind, namespace: str) -> list[Any]:
    """Every resource of a kind in one namespace ("": in every namespace), newest first (for kinds with few
    per namespace: Budgets; or for a rare sweep: Schedules against a list of their CronJobs)."""
    table = stored.table
    statement = select(table).order_by(table.c.created_at.desc(), table.c.id.desc())
    if namespace:
        statement = statement.where(table.c.namespace == namespace)
    return [stored.from_row(row) for row in (await db.execute(statement)).all()]


async def referrers(
    db: Tx,
    stored: StoredKind,
    spec_path: tuple[str, ...],
    namespace: str,
    name: str,
    limit: int,
    phases: Sequence[str] = (),
) -> list[Any]:
    """Up to `limit` resources in `namespace` whose spec has `name` at `spec_path` (JSON keys, for example
    ("providerRef", "name")), newest first; runs only in one of `phases` when given."""
    table = stored.table
    conditions = [table.c.namespace == namespace, table.c[stored.spec_column][spec_path].astext == name]
    if phases:
        conditions.append(_any_of(table.c.status, phases))
    statement = (
        select(table).where(*conditions).order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit)
    )
    return [stored.from_row(row) for row in (await db.execute(statement)).all()]


async def update(db: Tx, stored: StoredKind, row_id: uuid.UUID, message: Message, **columns: Any) -> Any:
    """Writes `message` (plus extra column values) over the row; bumps its version; returns it as stored."""
    table = stored.table
    statement = (
        sa.update(table)
        .where(table.c.id == row_id)
        .values(
            **stored.to_row(message),
            **columns,
            resource_version=table.c.resource_version + 1,
            updated_at=func.now(),
        )
        .returning(*table.c)
    )
    return stored.from_row((await db.execute(statement)).one())


async def delete_row(db: Tx, stored: StoredKind, row_id: uuid.UUID) -> None:
    await db.execute(sa.delete(stored.table).where(stored.table.c.id == row_id))


def _any_of(column: Any, values: Any) -> ColumnElement[bool]:
    values = list(values)
    return column.in_(values) if len(values) != 1 else column == values[0]
