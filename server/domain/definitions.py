"""Use cases of the definition kinds (Agent, Memory, Orchestration): create, get, list, update, delete."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncConnection

from jangar.server.domain import common
from jangar.server.domain.context import RequestContext
from jangar.server.domain.errors import (
    Code,
    DomainError,
    FieldViolation,
    PreconditionViolation,
    invalid_argument,
    kind_reason,
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

OUTPUT_ONLY = ("id", "status", "generation", "etag", "create_time", "update_time", "delete_time")
MUTABLE_ROOTS = ("labels", "annotations", "spec")
UNFINISHED_PHASES = [RunPhase.Name(RunPhase.Pending), RunPhase.Name(RunPhase.Running)]


@dataclass(frozen=True)
class RunsOf:
    """Where the runs of a definition live, so that a definition with unfinished runs is not deleted."""

    runs: ResourceTable
    parent_id_column: str


@dataclass(frozen=True)
class DefinitionKind:
    resource: ResourceTable
    validate_spec: Callable[[Any, Violations], None]
    # Sets the status of a newly accepted or changed definition.
    initial_status: Callable[[Any], None]
    runs: RunsOf | None = None


def accepted_status(resource: Any) -> None:
    del resource.status.conditions[:]
    resource.status.conditions.append(
        common.condition("Accepted", "True", "Valid", "the spec passed validation", resource.generation)
    )
    resource.status.observed_generation = resource.generation


def check_etag(kind: str, current: Any, *candidates: str | None) -> None:
    """The first etag given (body, then If-Match) must match; none given means an unconditional change."""
    expected = next((c for c in candidates if c), None)
    if expected is None:
        return
    expected = expected.removeprefix("W/").strip('"')
    if expected != current.etag:
        raise DomainError(
            Code.ABORTED,
            "ETAG_MISMATCH",
            f"{kind} {current.name!r} has changed (etag {current.etag}, request expected {expected}); "
            "read it again and retry",
            metadata={"currentEtag": current.etag},
        )


def already_exists(kind: str, namespace: str, name: str, existing_id: uuid.UUID) -> DomainError:
    return DomainError(
        Code.ALREADY_EXISTS,
        kind_reason(kind, "ALREADY_EXISTS"),
        f"{kind} {name!r} already exists in namespace {namespace!r} with id {existing_id}",
        metadata={"existingId": str(existing_id), "namespace": namespace, "name": name},
    )


def apply_path(source: Message, destination: Message, path: str) -> None:
    """Copies the field at `path` from source to destination, replacing it; a field the source leaves unset
    is cleared (AIP-134). FieldMask.MergeMessage would skip a path whose parent the source leaves unset."""
    *parents, leaf = path.split(".")
    for name in parents:
        source, destination = getattr(source, name), getattr(destination, name)
    destination.ClearField(leaf)
    field = destination.DESCRIPTOR.fields_by_name[leaf]
    value = getattr(source, leaf)
    if field.is_repeated:
        getattr(destination, leaf).MergeFrom(value)  # maps and lists; the destination is empty now
    elif field.message_type is not None:
        if source.HasField(leaf):
            getattr(destination, leaf).CopyFrom(value)
    else:
        setattr(destination, leaf, value)


class DefinitionService:
    def __init__(self, store: Store, kind: DefinitionKind) -> None:
        self._store = store
        self._kind = kind
        self._resource = kind.resource

    def _validate(self, resource: Any) -> None:
        violations = Violations()
        validate_envelope(resource, violations)
        self._kind.validate_spec(resource.spec, violations)
        violations.raise_if_any()

    async def create(
        self,
        context: RequestContext,
        method: str,
        request: Message,
        resource: Any,
    ) -> Outcome:
        normalize_envelope(resource, output_only=OUTPUT_ONLY)
        self._validate(resource)

        async def work(db: AsyncConnection) -> tuple[Message, uuid.UUID]:
            created = type(resource)()
            created.CopyFrom(resource)
            created.generation = 1
            self._kind.initial_status(created)
            row = await resources.insert_row(db, self._resource, self._resource.to_row(created))
            if row is None:
                existing = await resources.find_row(
                    db, self._resource, Ref(namespace=resource.namespace, name=resource.name)
                )
                assert existing is not None, "insert conflicted on a unique index other than the name"
                raise already_exists(self._resource.kind, resource.namespace, resource.name, existing.id)
            await common.record_audit(
                db,
                context,
                kind=self._resource.kind,
                entity_id=row.id,
                event="Created",
                namespace=created.namespace,
                payload={"name": created.name, "generation": 1},
            )
            records.apply_stored(created, row)
            return created, row.id

        return await self._store.idempotent(context, method, request, work)

    async def get(self, id_or_name: str, namespace: str) -> Any:
        async with self._store.transaction() as db:
            return self._resource.from_row(
                await common.load_row(db, self._resource, id_or_name, namespace, for_update=False)
            )

    async def list(
        self, namespace: str, page_size: int, page_token: str, label_selector: str
    ) -> tuple[list[Any], str]:
        only_namespace = common.namespace_filter(namespace)
        selector = common.selector(label_selector)
        page = page_request(
            page_size, page_token, query_hash(self._resource.kind, only_namespace, selector.canonical())
        )
        table = self._resource.table
        filters = [selector_clause(table.c.labels, selector)]
        if only_namespace:
            filters.append(table.c.namespace == only_namespace)
        async with self._store.transaction() as db:
            rows, more = await resources.list_rows(db, self._resource, filters, page)
        token = next_page_token(page, resources.cursor_of(rows[-1]) if rows else None, more)
        return [self._resource.from_row(row) for row in rows], token

    async def update(
        self,
        context: RequestContext,
        id_or_name: str,
        namespace: str,
        patch: Any,
        mask: FieldMask,
        etag: str,
    ) -> Any:
        paths = self._mask_paths(patch, mask)
        async with self._store.transaction() as db:
            row = await common.load_row(db, self._resource, id_or_name, namespace, for_update=True)
            current = self._resource.from_row(row)
            check_etag(self._resource.kind, current, etag, patch.etag, context.if_match)
            updated = type(current)()
            updated.CopyFrom(current)
            for path in paths:
                apply_path(patch, updated, path)
            self._validate(updated)
            if updated == current:
                return current
            spec_changed = updated.spec != current.spec
            if spec_changed:
                updated.generation = current.generation + 1
                self._kind.initial_status(updated)
            values = self._resource.to_row(updated)
            values["generation"] = updated.generation
            saved = await resources.update_row(db, self._resource, row.id, values)
            await common.record_audit(
                db,
                context,
                kind=self._resource.kind,
                entity_id=row.id,
                event="Updated",
                namespace=row.namespace,
                payload={"paths": paths, "generation": updated.generation, "specChanged": spec_changed},
            )
            return self._resource.from_row(saved)

    def _mask_paths(self, patch: Any, mask: FieldMask) -> list[str]:
        paths = list(mask.paths)
        if not paths:
            # An empty mask means "every mutable field the request sets" (AIP-134).
            paths = [
                p
                for p in MUTABLE_ROOTS
                if (p == "spec" and patch.HasField("spec")) or (p != "spec" and getattr(patch, p))
            ]
            if not paths:
                raise invalid_argument(
                    [FieldViolation("updateMask", "names no field and the request sets none")]
                )
        violations = []
        for path in paths:
            root = path.split(".", 1)[0]
            if root not in MUTABLE_ROOTS or (root != "spec" and "." in path):
                violations.append(
                    FieldViolation(
                        "updateMask",
                        f"{path!r} cannot be changed: use labels, annotations, spec or spec.<field>",
                    )
                )
        if violations:
            raise invalid_argument(violations)
        if not FieldMask(paths=paths).IsValidForDescriptor(patch.DESCRIPTOR):
            raise invalid_argument(
                [FieldViolation("updateMask", f"{', '.join(paths)} names a field that does not exist")]
            )
        return paths

    async def delete(self, context: RequestContext, id_or_name: str, namespace: str, etag: str) -> Any:
        async with self._store.transaction() as db:
            row = await common.load_row(db, self._resource, id_or_name, namespace, for_update=True)
            current = self._resource.from_row(row)
            check_etag(self._resource.kind, current, etag, context.if_match)
            await self._refuse_if_in_use(db, current, row.id)
            await resources.delete_row(db, self._resource, row.id)
            await common.record_audit(
                db,
                context,
                kind=self._resource.kind,
                entity_id=row.id,
                event="Deleted",
                namespace=row.namespace,
                payload={"name": current.name, "generation": current.generation, "etag": current.etag},
            )
        current.delete_time.FromDatetime(common.utcnow())
        return current

    async def _refuse_if_in_use(self, db: AsyncConnection, current: Any, row_id: uuid.UUID) -> None:
        runs = self._kind.runs
        if runs is None:
            return
        table = runs.runs.table
        filters = [
            table.c[runs.parent_id_column] == row_id,
            resources.any_of(table.c.status, UNFINISHED_PHASES),
        ]
        rows, _ = await resources.list_rows(db, runs.runs, filters, page_request(5, "", ""))
        if rows:
            raise DomainError(
                Code.FAILED_PRECONDITION,
                kind_reason(self._resource.kind, "IN_USE"),
                f"{self._resource.kind} {current.name!r} has unfinished {runs.runs.kind}s; cancel them first",
                precondition_violations=[
                    PreconditionViolation(
                        "UNFINISHED_RUN", f"{runs.runs.kind}/{r.id}", f"{r.name} is {r.status}"
                    )
                    for r in rows
                ],
            )
