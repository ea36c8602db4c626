"""Use cases of every record kind (SignalDelivery): create, get, list. A record is an immutable fact about
its parent: nothing changes or deletes it through the API. Creating one locks its parent, checks the record
against it, and lets the kind's rules change the parent (a Signal counts its deliveries), all in one
transaction with the idempotency claim and the audit rows."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from jangar.server.core.context import RequestContext
from jangar.server.domain import children, common
from jangar.server.domain.idempotency import Outcome, idempotent
from jangar.server.domain.validation import Violations, check_resource, normalize_envelope
from jangar.server.repository.database import Tx


class RecordUseCases(children.ChildUseCases):
    async def create(self, context: RequestContext, request: Message, record: Any) -> Outcome:
        normalize_envelope(record)
        check_resource(record, self._rules)

        async def work(db: Tx) -> tuple[Message, str]:
            # Locked: the parent's status changes with each record, and a concurrent delete waits.
            parent = await children.find_parent(db, self._kind, self._parent_stored, record, for_update=True)
            if self._rules.check_against_parent is not None:
                against_parent = Violations()
                self._rules.check_against_parent(record, parent, against_parent)
                against_parent.raise_if_any()
            created = self._new(context, record, parent)
            (self._rules.initial_status or common.accepted_status)(created)
            await children.insert_child(db, self._stored, created, parent.name, {})
            await self._audit_created(db, context, created, parent)
            if self._rules.record_on_parent is not None:
                await self._rules.record_on_parent(db, context, created, parent)
            return created, created.id

        return await idempotent(self._database, context, context.method, request, work)
