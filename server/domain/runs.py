"""Use cases of the run kinds (AgentRun, OrchestrationRun): create, get, list, cancel."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncConnection

from jangar.server.domain import common
from jangar.server.domain.context import RequestContext
from jangar.server.domain.definitions import already_exists
from jangar.server.domain.errors import (
    Code,
    DomainError,
    FieldViolation,
    invalid_argument,
    not_found,
)
from jangar.server.domain.idempotency import Outcome
from jangar.server.domain.pagination import next_page_token, page_request, query_hash
from jangar.server.domain.store import Store
from jangar.server.domain.validation import Violations, normalize_envelope, validate_envelope
from jangar.server.repository import records, resources
from jangar.server.repository.records import ResourceTable
from jangar.server.repository.resources import Ref
from jangar.server.repository.selectors import selector_clause
from jangar.v1.run_phase_pb2 import RunPhase

TERMINAL_PHASES = (RunPhase.Succeeded, RunPhase.Failed, RunPhase.Cancelled)
# Kubernetes' generateName alphabet: no vowels (no words) and no look-alike characters.
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_SUFFIX_LENGTH = 5
_NAME_ATTEMPTS = 3


@dataclass(frozen=True)
class RunKind:
    resource: ResourceTable
    parent: ResourceTable
    parent_ref_field: str  # spec field that names the parent, e.g. "agent_ref"
    parent_id_field: str  # run field that holds the parent's UUID, e.g. "agent_id"
    validate_spec: Callable[[Any, Violations], None]
    # Fills the new run's status and returns the `provider` column value, from the run and its parent.
    prepare: Callable[[Any, Any], str]
    output_only: tuple[str, ...] = (
        "id",
        "status",
        "generation",
        "etag",
        "create_time",
        "update_time",
        "delete_time",
        "delivery_id",
    )


def generated_name(parent_name: str) -> str:
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(_SUFFIX_LENGTH))
    return f"{parent_name[: 63 - _SUFFIX_LENGTH - 1]}-{suffix}"


def parse_uuid(field: str, value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise invalid_argument([FieldViolation(field, "must be a UUID")]) from None


class RunService:
    def __init__(self, store: Store, kind: RunKind) -> None:
        self._store = store
        self._kind = kind
        self._resource = kind.resource

    async def create(
        self,
        context: RequestContext,
        method: str,
        request: Message,
        run: Any,
    ) -> Outcome:
        normalize_envelope(run, output_only=(*self._kind.output_only, self._kind.parent_id_field))
        violations = Violations()
        validate_envelope(run, violations, name_required=False)
        self._kind.validate_spec(run.spec, violations)
        violations.raise_if_any()

        async def work(db: AsyncConnection) -> tuple[Message, uuid.UUID]:
            parent_name = getattr(run.spec, self._kind.parent_ref_field).name
            parent_row = await resources.find_row(
                db, self._kind.parent, Ref(namespace=run.namespace, name=parent_name)
            )
            if parent_row is None:
                raise not_found(self._kind.parent.kind, parent_name, run.namespace)
            parent = self._kind.parent.from_row(parent_row)
            created = type(run)()
            created.CopyFrom(run)
            created.delivery_id = context.idempotency_key or ""
            created.generation = 1
            setattr(created, self._kind.parent_id_field, parent.id)
            provider = self._kind.prepare(created, parent)
            row = await self._insert(db, created, provider, parent.name)
            await common.record_audit(
                db,
                context,
                kind=self._resource.kind,
                entity_id=row.id,
                event="Created",
                namespace=created.namespace,
                payload={
                    "name": created.name,
                    "parent": {"kind": self._kind.parent.kind, "id": parent.id, "name": parent.name},
                    "phase": RunPhase.Name(created.status.phase),
                },
            )
            records.apply_stored(created, row)
            return created, row.id

        return await self._store.idempotent(context, method, request, work)

    async def _insert(self, db: AsyncConnection, run: Any, provider: str, parent_name: str) -> Any:
        chosen_name = run.name
        for _ in range(_NAME_ATTEMPTS):
            if not chosen_name:
                run.name = generated_name(parent_name)
            row = await resources.insert_row(
                db, self._resource, {**self._resource.to_row(run), "provider": provider}
            )
            if row is not None:
                return row
            existing = await resources.find_row(
                db, self._resource, Ref(namespace=run.namespace, name=run.name)
            )
            if existing is not None and chosen_name:
                raise already_exists(self._resource.kind, run.namespace, run.name, existing.id)
            if existing is None:
                break  # not the name: the delivery id is taken
        holder = await resources.find_id(db, self._resource, "delivery_id", run.delivery_id)
        if holder is None:
            raise DomainError(
                Code.UNAVAILABLE, "NAME_GENERATION_FAILED", "could not generate a unique name; retry"
            )
        raise DomainError(
            Code.ALREADY_EXISTS,
            "DELIVERY_ID_EXISTS",
            f"{self._resource.kind} {holder} was created with deliveryId {run.delivery_id!r}, whose "
            "idempotency "
            "record has expired; use a new Idempotency-Key",
            metadata={"existingId": str(holder)},
        )

    async def get(self, id_or_name: str, namespace: str) -> Any:
        async with self._store.transaction() as db:
            return self._resource.from_row(
                await common.load_row(db, self._resource, id_or_name, namespace, for_update=False)
            )

    async def list(
        self,
        *,
        namespace: str,
        page_size: int,
        page_token: str,
        label_selector: str,
        phases: Sequence[int],
        parent_id: str,
        parent_name: str,
    ) -> tuple[list[Any], str]:
        only_namespace = common.namespace_filter(namespace)
        selector = common.selector(label_selector)
        table = self._resource.table
        parent = self._kind.parent.kind[0].lower() + self._kind.parent.kind[1:]
        phase_names = sorted({phase_name(p) for p in phases})
        filters = [selector_clause(table.c.labels, selector)]
        if only_namespace:
            filters.append(table.c.namespace == only_namespace)
        if phase_names:
            filters.append(resources.any_of(table.c.status, phase_names))
        if parent_id:
            filters.append(table.c[self._kind.parent_id_field] == parse_uuid(f"{parent}Id", parent_id))
        if parent_name:
            filters.append(table.c[self._kind.parent_id_field.replace("_id", "_name")] == parent_name)
        page = page_request(
            page_size,
            page_token,
            query_hash(
                self._resource.kind, only_namespace, selector.canonical(), phase_names, parent_id, parent_name
            ),
        )
        async with self._store.transaction() as db:
            rows, more = await resources.list_rows(db, self._resource, filters, page)
        token = next_page_token(page, resources.cursor_of(rows[-1]) if rows else None, more)
        return [self._resource.from_row(row) for row in rows], token

    async def cancel(
        self,
        context: RequestContext,
        method: str,
        request: Message,
        id_or_name: str,
        namespace: str,
        reason: str,
    ) -> Outcome:
        if len(reason) > 1024:
            raise invalid_argument([FieldViolation("reason", "must be at most 1024 characters")])
        common.resolve_ref(id_or_name, namespace)  # bad ids fail before a key is claimed

        async def work(db: AsyncConnection) -> tuple[Message, uuid.UUID]:
            row = await common.load_row(db, self._resource, id_or_name, namespace, for_update=True)
            run = self._resource.from_row(row)
            if run.status.phase in TERMINAL_PHASES:
                phase = RunPhase.Name(run.status.phase)
                raise DomainError(
                    Code.FAILED_PRECONDITION,
                    "RUN_ALREADY_FINISHED",
                    f"{self._resource.kind} {run.name!r} is {phase} and cannot be cancelled",
                    metadata={"phase": phase},
                )
            previous = RunPhase.Name(run.status.phase)
            cancel_status(run, reason or f"cancelled by {context.principal}")
            saved = await resources.update_row(db, self._resource, row.id, self._resource.to_row(run))
            await common.record_audit(
                db,
                context,
                kind=self._resource.kind,
                entity_id=row.id,
                event="Cancelled",
                namespace=row.namespace,
                payload={"name": run.name, "previousPhase": previous, "reason": reason},
            )
            return self._resource.from_row(saved), row.id

        return await self._store.idempotent(context, method, request, work)


def phase_name(phase: int) -> str:
    if phase not in RunPhase.values() or phase == RunPhase.RUN_PHASE_UNSPECIFIED:
        raise invalid_argument([FieldViolation("phase", f"unknown phase {phase}")])
    return RunPhase.Name(phase)


def cancel_status(run: Any, message: str) -> None:
    """Cancelled is terminal: the run and every unfinished step of it stop here."""
    now = common.utcnow()
    run.status.phase = RunPhase.Cancelled
    run.status.reason = "Cancelled"
    run.status.message = message
    run.status.finish_time.FromDatetime(now)
    for step in getattr(run.status, "step_statuses", []):
        if step.phase not in TERMINAL_PHASES:
            step.phase = RunPhase.Cancelled
            step.finish_time.FromDatetime(now)
