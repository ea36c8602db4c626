"""What a run's create reads before it writes: its parent (an AgentRun's Agent) and what its plan reads with
it (KindRules.read_with_parent: the Agent's AgentProvider), remembered per name in this process.

A create decided on those rows names them (writes.Unchanged), and its one statement writes only while each
is still the version it read. A remembered row that has changed since (on any replica) fails that check,
and the create is decided again from a fresh read; so nothing is missed, and the common create, for a
definition that did not change, makes one round trip to Postgres instead of two."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from cachetools import LRUCache

from jangar.server.core.kinds import Kind
from jangar.server.domain import children
from jangar.server.repository.database import Tx
from jangar.server.repository.mapping import STORED, StoredKind
from jangar.server.repository.writes import Unchanged

# Definitions a process remembers per run kind: the agents (or tools) that runs are being created for.
REMEMBERED_PARENTS = 1024


@dataclass(frozen=True)
class ParentRead:
    """A child's parent, what was read with it (by kind name), and the rows a write decided on them names.
    The messages are shared between requests: read them, never change them."""

    parent: Any
    read_along: dict[str, Any]
    unchanged: tuple[Unchanged, ...]


def unchanged(stored: StoredKind, message: Any) -> Unchanged:
    """The definition row `message` was read from, as it was read."""
    return Unchanged(
        stored.table,
        uuid.UUID(message.id),
        int(message.etag),
        message.update_time.ToDatetime(tzinfo=UTC),
    )


class ParentReads:
    """The parents of one child kind, read (NOT_FOUND when missing, as children.find_parent_with) or
    remembered."""

    def __init__(
        self,
        kind: Kind,
        parent: StoredKind,
        read_with: tuple[str, tuple[str, ...]] | None,
        size: int = REMEMBERED_PARENTS,
    ) -> None:
        assert kind.parent is not None
        self._kind = kind
        self._ref_field = kind.parent.ref_field
        self._parent = parent
        self._read_with = read_with
        self._remembered: LRUCache[tuple[str, str], ParentRead] = LRUCache(size)

    def _key(self, child: Any) -> tuple[str, str]:
        return child.namespace, getattr(child.spec, self._ref_field).name

    async def read(self, db: Tx, child: Any, *, remembered: bool = False) -> ParentRead:
        """The parent `child` names, read now; or, with `remembered`, as last read when it was."""
        key = self._key(child)
        if remembered and (known := self._remembered.get(key)) is not None:
            return known
        parent, read_along = await children.find_parent_with(
            db, self._kind, self._parent, child, self._read_with
        )
        found = {k: m for k, m in read_along.items() if m is not None}
        rows = (unchanged(self._parent, parent), *(unchanged(STORED[k], m) for k, m in found.items()))
        read = ParentRead(parent, read_along, rows)
        if len(found) == len(read_along):
            self._remembered[key] = read
        else:  # a missing definition refuses the create: nothing to remember
            self._remembered.pop(key, None)
        return read

    def forget(self, child: Any) -> None:
        """Drops what is remembered of `child`'s parent: a write found it changed."""
        self._remembered.pop(self._key(child), None)
