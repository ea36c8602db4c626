"""What the domain asks the repository for, without SQL: a resource by id or name, and one page of a list."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from jangar.server.core.pages import Cursor, Page
from jangar.server.core.selectors import Selector

T = TypeVar("T")


@dataclass(frozen=True)
class Ref:
    """A resource addressed by UUID, or by name within a namespace."""

    id: uuid.UUID | None = None
    namespace: str = ""
    name: str = ""


@dataclass(frozen=True)
class ListQuery:
    """One page of one kind: rows matching every condition given, newest first with the id as tie-breaker."""

    page: Page
    namespace: str | None = None
    selector: Selector | None = None
    # Phase names (`Pending`); any of them matches.
    phases: Sequence[str] = ()
    # (field, value) pairs that must be equal; a field is named as in the List request, which is also the
    # name of the column holding it (`agent_id`, `agent_name`).
    equals: Sequence[tuple[str, object]] = field(default_factory=tuple)


@dataclass(frozen=True)
class PageOf(Generic[T]):
    """A page of results and where the next one starts (None on the last page)."""

    items: list[T]
    next_cursor: Cursor | None
