"""The upkeep of definitions whose status depends on something other than their own writes (KindRules
.observe): a SecretBinding whose subject was created or deleted since, a Budget whose window has turned.
Every round re-observes each such resource and writes the ones whose status changed. Safe on any number of
replicas: a write locks its row and observes again, so two replicas write the same status at most twice."""

from __future__ import annotations

import uuid
from typing import Any

from jangar.server.core.context import RequestContext
from jangar.server.core.kinds import Kind, registry
from jangar.server.core.pages import Page
from jangar.server.core.query import ListQuery, Ref
from jangar.server.domain import common
from jangar.server.domain.kinds import rules_for
from jangar.server.repository import rows
from jangar.server.repository.database import Database
from jangar.server.repository.mapping import STORED

UPKEEP = RequestContext(request_id="", method="jangar.server/DefinitionUpkeep", principal="system:upkeep")
PAGE = 200


def observed_kinds() -> tuple[Kind, ...]:
    return tuple(k for k in registry().definitions if rules_for(k.name).observe is not None)


class DefinitionUpkeep:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def tick(self) -> int:
        """One round over every observed resource; returns how many changed."""
        changed = 0
        for kind in observed_kinds():
            changed += await self._kind(kind)
        return changed

    async def _kind(self, kind: Kind) -> int:
        stored, observe = STORED[kind.name], rules_for(kind.name).observe
        assert observe is not None
        changed, after = 0, None
        while True:
            async with self._database.transaction() as db:
                page = await rows.list_page(db, stored, ListQuery(page=Page(PAGE, after, "")))
                stale = [r for r in page.items if await _differs(db, observe, r)]
            for resource in stale:
                changed += await self._refresh(kind, resource.id)
            if page.next_cursor is None:
                return changed
            after = page.next_cursor

    async def _refresh(self, kind: Kind, resource_id: str) -> int:
        stored, observe = STORED[kind.name], rules_for(kind.name).observe
        assert observe is not None
        async with self._database.transaction() as db:
            current = await rows.find(db, stored, Ref(id=uuid.UUID(resource_id)), for_update=True)
            if current is None:
                return 0
            updated = type(current)()
            updated.CopyFrom(current)
            await observe(db, updated)
            if updated.status == current.status:
                return 0
            await rows.update(db, stored, uuid.UUID(resource_id), updated)
            await common.record_audit(
                db,
                UPKEEP,
                kind=kind.name,
                entity_id=resource_id,
                event="StatusChanged",
                namespace=current.namespace,
                payload={"name": current.name, "generation": current.generation},
            )
            return 1


async def _differs(db: Any, observe: Any, resource: Any) -> bool:
    observed = type(resource)()
    observed.CopyFrom(resource)
    await observe(db, observed)
    return bool(observed.status != resource.status)
