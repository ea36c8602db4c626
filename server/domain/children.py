"""What runs and records share as children of a parent kind (an AgentRun of its Agent, a SignalDelivery of
its Signal): finding the parent the spec names, inserting under a chosen or generated name with the request's
idempotency key as the unique delivery id, get, and lists filtered by parent."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from jangar.server.core.context import RequestContext
from jangar.server.core.errors import Code, DomainError, FieldViolation, invalid_argument, not_found
from jangar.server.core.kinds import Kind
from jangar.server.core.pages import PageTokens, query_hash
from jangar.server.core.query import ListQuery, Ref
from jangar.server.domain import common
from jangar.server.domain.definitions import already_exists
from jangar.server.domain.kinds import rules_for
from jangar.server.repository import rows
from jangar.server.repository.database import Database, Tx
from jangar.server.repository.mapping import STORED, StoredKind

# Kubernetes' generateName alphabet: no vowels (no words) and no look-alike characters.
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_SUFFIX_LENGTH = 5
_NAME_ATTEMPTS = 3


class ChildUseCases:
    """What the use cases of a run kind and of a record kind hold, and get."""

    def __init__(self, database: Database, kind: Kind, parent: Kind, page_tokens: PageTokens) -> None:
        assert kind.parent is not None
        self._database = database
        self._page_tokens = page_tokens
        self._kind = kind
        self._link = kind.parent
        self._parent = parent
        self._stored = STORED[kind.name]
        self._parent_stored = STORED[parent.name]
        self._rules = rules_for(kind.name)

    async def get(self, id_or_name: str, namespace: str) -> Any:
        async with self._database.connection() as db:  # one statement: no BEGIN and COMMIT around it
            return await common.load(db, self._stored, id_or_name, namespace, for_update=False)

    def _new(self, context: RequestContext, sent: Any, parent: Any) -> Any:
        """The child to insert: what the client sent, of `parent`, made by the request's key."""
        created = type(sent)()
        created.CopyFrom(sent)
        created.delivery_id = context.idempotency_key or ""
        created.generation = 1
        setattr(created, self._link.id_field, parent.id)
        return created

    def _phase_names(self, phases: Sequence[int]) -> list[str]:
        """The phases a list asks for, by name; a kind that does not list by phase has none."""
        return []

    async def list(
        self,
        *,
        namespace: str,
        page_size: int,
        page_token: str,
        label_selector: str,
        filters: Sequence[tuple[str, str]],
        phases: Sequence[int] = (),
    ) -> tuple[list[Any], str]:
        """One page of the kind's children, newest first. `filters` are the kind's own List filters
        (registry ListFilter field, value); empty ones are ignored."""
        kind = self._kind
        only_namespace = common.namespace_filter(namespace)
        selector = common.selector(label_selector)
        phase_names = self._phase_names(phases)
        by_field = {f.field: f for f in kind.list_filters}
        equals: list[tuple[str, object]] = []
        for name, value in filters:
            if value:
                spec = by_field[name]
                equals.append((name, parse_uuid(spec.json_name, value) if spec.is_uuid else value))
        hashed: list[Any] = [phase_names] if kind.lists_by_phase else []
        page = self._page_tokens.page_request(
            page_size,
            page_token,
            query_hash(
                kind.name, only_namespace, selector.canonical(), *hashed, *(value for _, value in filters)
            ),
        )
        query = ListQuery(
            page=page, namespace=only_namespace, selector=selector, phases=phase_names, equals=equals
        )
        async with self._database.connection() as db:
            result = await rows.list_page(db, self._stored, query)
        return result.items, self._page_tokens.next_page_token(page, result.next_cursor)

    async def _audit_created(
        self, db: Tx, context: RequestContext, created: Any, parent: Any, **more: Any
    ) -> None:
        await common.record_audit(
            db,
            context,
            kind=self._kind.name,
            entity_id=created.id,
            event="Created",
            namespace=created.namespace,
            payload={
                "name": created.name,
                "parent": {"kind": self._parent.name, "id": parent.id, "name": parent.name},
                **more,
            },
        )


def generated_name(parent_name: str) -> str:
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(_SUFFIX_LENGTH))
    return f"{parent_name[: 63 - _SUFFIX_LENGTH - 1]}-{suffix}"


def parse_uuid(field: str, value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise invalid_argument([FieldViolation(field, "must be a UUID")]) from None


async def find_parent(db: Tx, kind: Kind, parent: StoredKind, child: Any, *, for_update: bool = False) -> Any:
    """The parent the child's spec names in the child's namespace, or NOT_FOUND (`<PARENT>_NOT_FOUND`)."""
    assert kind.parent is not None
    name = getattr(child.spec, kind.parent.ref_field).name
    found = await rows.find(db, parent, Ref(namespace=child.namespace, name=name), for_update=for_update)
    if found is None:
        raise not_found(parent.kind.name, name, child.namespace)
    return found


async def find_parent_with(
    db: Tx, kind: Kind, parent: StoredKind, child: Any, read_with: tuple[str, tuple[str, ...]] | None
) -> tuple[Any, dict[str, Any]]:
    """`find_parent`, and in the same statement the definition `read_with` names (its kind, and the JSON
    path in the parent's spec that names it), by kind name (None: not found); nothing more when it is
    None."""
    if read_with is None:
        return await find_parent(db, kind, parent, child), {}
    assert kind.parent is not None
    name = getattr(child.spec, kind.parent.ref_field).name
    other, path = read_with
    found, along = await rows.find_with(
        db, parent, Ref(namespace=child.namespace, name=name), STORED[other], path
    )
    if found is None:
        raise not_found(parent.kind.name, name, child.namespace)
    return found, {other: along}


async def insert_child(
    db: Tx,
    stored: StoredKind,
    child: Any,
    parent_name: str,
    columns: dict[str, Any],
    before_insert: Callable[[], Awaitable[dict[str, Any]]] | None = None,
) -> None:
    """Inserts the child under its name, or a name generated from its parent's. `before_insert` runs once
        the name is chosen (a job run plans its first attempt for it) and returns column values that take
    precedence over `columns`. A taken
        chosen name is ALREADY_EXISTS; a taken delivery id (its idempotency record has expired) is refused."""
    kind = stored.kind.name
    chosen_name = child.name
    for _ in range(_NAME_ATTEMPTS):
        if not chosen_name:
            child.name = generated_name(parent_name)
        extra = await before_insert() if before_insert is not None else {}
        if await rows.insert(db, stored, child, **{**columns, **extra}):
            return
        existing = await rows.find(db, stored, Ref(namespace=child.namespace, name=child.name))
        if existing is not None and chosen_name:
            raise already_exists(kind, child.namespace, child.name, existing.id)
        if existing is None:
            break  # not the name: the delivery id is taken
    holder = await rows.find_id(db, stored, "delivery_id", child.delivery_id)
    if holder is None:
        raise DomainError(
            Code.UNAVAILABLE, "NAME_GENERATION_FAILED", "could not generate a unique name; retry"
        )
    raise DomainError(
        Code.ALREADY_EXISTS,
        "DELIVERY_ID_EXISTS",
        f"{kind} {holder} was created with deliveryId {child.delivery_id!r}, whose idempotency record has "
        "expired; use a new Idempotency-Key",
        metadata={"existingId": str(holder)},
    )
