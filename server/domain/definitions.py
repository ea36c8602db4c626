"""Use cases of every definition kind (Agent, AgentProvider, Memory, Orchestration, ...): create, get, list,
update, delete. One class serves them all; what differs per kind comes from its Kind (the descriptors) and
its KindRules (domain/kinds/)."""

from __future__ import annotations

import uuid
from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from jangar.server.core.context import RequestContext
from jangar.server.core.errors import (
    Code,
    DomainError,
    FieldViolation,
    PreconditionViolation,
    invalid_argument,
    kind_reason,
)
from jangar.server.core.field_behavior import is_mutable_path, is_set, mutable_fields
from jangar.server.core.kinds import Category, Kind, registry
from jangar.server.core.pages import Page, PageTokens, query_hash
from jangar.server.core.query import ListQuery, Ref
from jangar.server.core.timestamps import set_timestamp
from jangar.server.domain import common, revisions, run_lifecycle
from jangar.server.domain.idempotency import Outcome, idempotent
from jangar.server.domain.kinds import rules_for
from jangar.server.domain.validation import check_resource, normalize_envelope
from jangar.server.repository import rows
from jangar.server.repository.database import Database, Tx
from jangar.server.repository.mapping import STORED
from jangar.v1.run_phase_pb2 import RunPhase

# Unfinished runs shown when a delete is refused because of them.
_IN_USE_SHOWN = 5


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


def already_exists(kind: str, namespace: str, name: str, existing_id: str) -> DomainError:
    return DomainError(
        Code.ALREADY_EXISTS,
        kind_reason(kind, "ALREADY_EXISTS"),
        f"{kind} {name!r} already exists in namespace {namespace!r} with id {existing_id}",
        metadata={"existingId": existing_id, "namespace": namespace, "name": name},
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


class WriteHooks:
    """What a kind does besides storing itself when it is written (a Schedule's timer and CronJob, a
    Workspace's volume, a Memory's store), in the transaction of the write. Every hook does nothing unless
    a kind's hooks override it."""

    def prepare(self, resource: Any) -> None:
        """Completes the status of a resource about to be created or to get a new spec."""

    async def created(self, db: Tx, resource: Any) -> Any:
        """The resource was inserted; returns it as it is now stored. By default, what `saved` does."""
        await self.saved(db, resource)
        return resource

    async def changed(self, db: Tx, before: Any, after: Any) -> None:
        """The spec is about to change from `before` to `after` (the row is not written yet)."""

    async def saved(self, db: Tx, resource: Any) -> None:
        """The resource's spec changed (and, unless `created` says otherwise, it was created)."""

    async def deleted(self, db: Tx, resource: Any) -> None:
        """The resource was deleted."""


class DefinitionUseCases:
    def __init__(
        self, database: Database, kind: Kind, page_tokens: PageTokens, hooks: WriteHooks | None = None
    ) -> None:
        self._hooks = hooks or WriteHooks()
        self._database = database
        self._page_tokens = page_tokens
        self._kind = kind
        self._stored = STORED[kind.name]
        self._rules = rules_for(kind.name)
        self._mutable = mutable_fields(kind.descriptor)

    def _validate(self, resource: Any) -> None:
        check_resource(resource, self._rules)

    def _set_status(self, resource: Any) -> None:
        (self._rules.initial_status or common.accepted_status)(resource)
        self._hooks.prepare(resource)

    async def create(self, context: RequestContext, request: Message, resource: Any) -> Outcome:
        normalize_envelope(resource)
        self._validate(resource)

        async def work(db: Tx) -> tuple[Message, str]:
            created = type(resource)()
            created.CopyFrom(resource)
            created.generation = 1
            self._set_status(created)
            await self._check_references(db, created)
            if self._rules.observe is not None:
                await self._rules.observe(db, created)
            if not await rows.insert(db, self._stored, created):
                existing = await rows.find(
                    db, self._stored, Ref(namespace=created.namespace, name=created.name)
                )
                assert existing is not None, "insert conflicted on a unique index other than the name"
                raise already_exists(self._kind.name, created.namespace, created.name, existing.id)
            created = await self._hooks.created(db, created)
            event_id = await common.record_audit(
                db,
                context,
                kind=self._kind.name,
                entity_id=created.id,
                event="Created",
                namespace=created.namespace,
                payload={"name": created.name, "generation": 1},
            )
            if self._kind.keeps_revisions:
                await revisions.record(db, self._kind, created, context.principal, event_id)
            return created, created.id

        return await idempotent(self._database, context, context.method, request, work)

    async def get(self, id_or_name: str, namespace: str) -> Any:
        async with self._database.transaction() as db:
            return await common.load(db, self._stored, id_or_name, namespace, for_update=False)

    async def list(
        self, namespace: str, page_size: int, page_token: str, label_selector: str
    ) -> tuple[list[Any], str]:
        only_namespace = common.namespace_filter(namespace)
        selector = common.selector(label_selector)
        page = self._page_tokens.page_request(
            page_size, page_token, query_hash(self._kind.name, only_namespace, selector.canonical())
        )
        query = ListQuery(page=page, namespace=only_namespace, selector=selector)
        async with self._database.transaction() as db:
            result = await rows.list_page(db, self._stored, query)
        return result.items, self._page_tokens.next_page_token(page, result.next_cursor)

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
        async with self._database.transaction() as db:
            current = await common.load(db, self._stored, id_or_name, namespace, for_update=True)
            check_etag(self._kind.name, current, etag, patch.etag, context.if_match)
            updated = type(current)()
            updated.CopyFrom(current)
            for path in paths:
                apply_path(patch, updated, path)
            self._validate(updated)
            if updated == current:
                return current
            spec_changed = updated.spec != current.spec
            if spec_changed:
                await self._check_references(db, updated)
                updated.generation = current.generation + 1
                self._set_status(updated)
                if self._rules.observe is not None:
                    await self._rules.observe(db, updated)
                await self._hooks.changed(db, current, updated)
            saved = await rows.update(
                db, self._stored, uuid.UUID(current.id), updated, generation=updated.generation
            )
            if spec_changed:
                await self._hooks.saved(db, saved)
            event_id = await common.record_audit(
                db,
                context,
                kind=self._kind.name,
                entity_id=current.id,
                event="Updated",
                namespace=current.namespace,
                payload={"paths": paths, "generation": updated.generation, "specChanged": spec_changed},
            )
            if spec_changed and self._kind.keeps_revisions:
                await revisions.record(db, self._kind, saved, context.principal, event_id)
            return saved

    def _mask_paths(self, patch: Any, mask: FieldMask) -> list[str]:
        paths = list(mask.paths)
        if not paths:
            # An empty mask means "every mutable field the request sets" (AIP-134).
            paths = [name for name in self._mutable if is_set(patch, name)]
            if not paths:
                raise invalid_argument(
                    [FieldViolation("updateMask", "names no field and the request sets none")]
                )
        descriptor = self._kind.descriptor
        violations = []
        for path in paths:
            root = path.split(".", 1)[0]
            field = descriptor.fields_by_name.get(root)
            nested_ok = field is not None and field.message_type is not None and not field.is_repeated
            if root not in self._mutable or ("." in path and not nested_ok):
                violations.append(FieldViolation("updateMask", f"{path!r} cannot be changed: {self._hint()}"))
        if violations:
            raise invalid_argument(violations)
        if not FieldMask(paths=paths).IsValidForDescriptor(descriptor):
            raise invalid_argument(
                [FieldViolation("updateMask", f"{', '.join(paths)} names a field that does not exist")]
            )
        frozen = [p for p in paths if not is_mutable_path(descriptor, p)]
        if frozen:
            raise invalid_argument(
                [FieldViolation("updateMask", f"{p!r} is immutable: {self._hint()}") for p in frozen]
            )
        return paths

    def _hint(self) -> str:
        nested = [f"{name}.<field>" for name in self._mutable if _is_nested(self._kind, name)]
        names = [*self._mutable, *nested]
        return "use " + ", ".join(names[:-1]) + " or " + names[-1]

    async def delete(self, context: RequestContext, id_or_name: str, namespace: str, etag: str) -> Any:
        async with self._database.transaction() as db:
            current = await common.load(db, self._stored, id_or_name, namespace, for_update=True)
            check_etag(self._kind.name, current, etag, context.if_match)
            await self._refuse_if_in_use(db, current)
            await rows.delete_row(db, self._stored, uuid.UUID(current.id))
            if self._kind.keeps_revisions:
                await revisions.forget(db, current)
            await self._hooks.deleted(db, current)
            await common.record_audit(
                db,
                context,
                kind=self._kind.name,
                entity_id=current.id,
                event="Deleted",
                namespace=current.namespace,
                payload={"name": current.name, "generation": current.generation, "etag": current.etag},
            )
        set_timestamp(current.delete_time, common.utcnow())
        return current

    async def _check_references(self, db: Tx, resource: Any) -> None:
        """Every resource the spec names must exist in its namespace. Each is locked FOR SHARE until the
        transaction ends, so a concurrent delete of it waits and then sees the new reference."""
        violations = []
        for reference in self._kind.references:
            name = getattr(resource.spec, reference.field).name
            if not name:
                continue
            target = Ref(namespace=resource.namespace, name=name)
            if await rows.find(db, STORED[reference.kind], target, for_share=True) is None:
                violations.append(
                    FieldViolation(
                        f"{reference.json_path}.name",
                        f"{reference.kind} {name!r} does not exist in namespace {resource.namespace!r}",
                    )
                )
        if violations:
            raise invalid_argument(violations, reason="REFERENCE_NOT_FOUND")

    async def _refuse_if_in_use(self, db: Tx, current: Any) -> None:
        await self._refuse_if_running(db, current)
        await self._refuse_if_referenced(db, current)

    async def _refuse_if_referenced(self, db: Tx, current: Any) -> None:
        for referrer, reference in registry().referrers(self._kind):
            spec_path = (*reference.json_path.split(".")[1:], "name")
            # A finished run no longer uses what it named; an unfinished one does.
            phases = (
                sorted(RunPhase.Name(p) for p in run_lifecycle.UNFINISHED_PHASES) if referrer.is_run else []
            )
            found = await rows.referrers(
                db, STORED[referrer.name], spec_path, current.namespace, current.name, _IN_USE_SHOWN, phases
            )
            if found:
                raise DomainError(
                    Code.FAILED_PRECONDITION,
                    kind_reason(self._kind.name, "IN_USE"),
                    f"{self._kind.name} {current.name!r} is named by {referrer.name}s; change or delete them "
                    "first",
                    precondition_violations=[
                        PreconditionViolation(
                            "REFERENCED",
                            f"{referrer.name}/{resource.id}",
                            f"{resource.name} names it in {reference.json_path}",
                        )
                        for resource in found
                    ],
                    http_status=409,
                )

    async def _refuse_if_running(self, db: Tx, current: Any) -> None:
        unfinished = [RunPhase.Name(p) for p in sorted(run_lifecycle.UNFINISHED_PHASES)]
        # Records (a Signal's deliveries) are history and outlive their parent: they do not hold it.
        for child in registry().children(self._kind, Category.RUN):
            assert child.parent is not None
            query = ListQuery(
                page=Page(size=_IN_USE_SHOWN, after=None, query_hash=""),
                phases=unfinished,
                equals=((child.parent.id_field, uuid.UUID(current.id)),),
            )
            runs = (await rows.list_page(db, STORED[child.name], query)).items
            if runs:
                raise DomainError(
                    Code.FAILED_PRECONDITION,
                    kind_reason(self._kind.name, "IN_USE"),
                    f"{self._kind.name} {current.name!r} has unfinished {child.name}s; cancel them first",
                    precondition_violations=[
                        PreconditionViolation(
                            "UNFINISHED_RUN",
                            f"{child.name}/{run.id}",
                            f"{run.name} is {RunPhase.Name(run.status.phase)}",
                        )
                        for run in runs
                    ],
                    http_status=409,
                )


def _is_nested(kind: Kind, name: str) -> bool:
    field = kind.descriptor.fields_by_name[name]
    return field.message_type is not None and not field.is_repeated
