"""Conversion between table rows and API messages, for every kind in the registry. Specs and statuses are
stored as the proto3 JSON of their messages (lowerCamelCase, defaults omitted), which is also the spec of the
matching custom resource. Every kind gets its mapping from its category (definition, run, record); only a kind
with its own storage (Memory) has one written here."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cachetools import LRUCache
from google.protobuf.message import Message
from sqlalchemy import Row, Table

from jangar.server.core import proto_json
from jangar.server.core.kinds import Category, Kind, Parent, registry
from jangar.server.core.timestamps import set_timestamp, set_timestamp_if_any
from jangar.server.repository.tables import KIND_TABLES
from jangar.v1 import memory_pb2
from jangar.v1.run_phase_pb2 import RunPhase


def to_json(message: Message) -> dict[str, Any]:
    return proto_json.to_dict(message)


def from_json(data: dict[str, Any] | None, message: Message) -> None:
    if data:
        # Rows written by a newer server may carry fields this one does not know: keep reading them.
        proto_json.parse_dict(data, message)


def etag(resource_version: int) -> str:
    return str(resource_version)


def _envelope_from_row(message: Any, row: Row, name: str) -> None:
    message.id = str(row.id)
    message.name = name
    message.namespace = row.namespace
    message.labels.update(row.labels)
    message.annotations.update(row.annotations)
    message.generation = row.generation
    message.etag = etag(row.resource_version)
    set_timestamp(message.create_time, row.created_at)
    set_timestamp(message.update_time, row.updated_at)


def apply_stored(message: Any, row: Row) -> None:
    """Fills in what the database assigned on insert, so a created resource needs no read back."""
    message.id = str(row.id)
    message.etag = etag(row.resource_version)
    set_timestamp(message.create_time, row.created_at)
    set_timestamp(message.update_time, row.updated_at)


def assign_stored(message: Any, now: datetime) -> uuid.UUID:
    """What the database assigns on insert, assigned by the server instead (rows.new_row): the id (kept
    when the caller chose it already), the first etag, and the create and update time."""
    row_id = uuid.UUID(message.id) if message.id else uuid.uuid4()
    message.id = str(row_id)
    message.etag = etag(1)
    set_timestamp(message.create_time, now)
    set_timestamp(message.update_time, now)
    return row_id


def _envelope_to_row(message: Any) -> dict[str, Any]:
    return {
        "namespace": message.namespace,
        "labels": dict(message.labels),
        "annotations": dict(message.annotations),
    }


@dataclass(frozen=True)
class StoredKind:
    """How one kind is stored: its table, the column that holds its name, and the row mappings."""

    kind: Kind
    table: Table
    name_column: str
    to_row: Callable[[Any], dict[str, Any]]
    from_row: Callable[[Row], Any]

    @property
    def name(self) -> Any:
        return self.table.c[self.name_column]

    @property
    def spec_column(self) -> str:
        """The column holding the spec: a run's is the seed's `payload`."""
        return "payload" if self.kind.is_run else "spec"


# Definition kinds: spec and status as JSON.

# How many bytes (serialized) of one definition kind's messages are kept: a create reads its parent and the
# definitions its attempt is planned from (an Agent, its AgentProvider) on every request, and turning their
# JSON into messages was a tenth of the create's CPU. Records (many, rarely read twice) keep none.
CACHED_BYTES_PER_KIND = 8 * 1024 * 1024


def _definition_mappers(
    message_class: type[Any], *, cached: bool = True
) -> tuple[Callable[[Any], dict[str, Any]], Callable[[Row], Any]]:
    def to_row(message: Any) -> dict[str, Any]:
        return {
            **_envelope_to_row(message),
            "name": message.name,
            "spec": to_json(message.spec),
            "status": to_json(message.status),
        }

    # Keyed by what changes with every write of the row: rows.update, the only writer of definition rows,
    # bumps resource_version, and a row deleted and created again has another id or create time. The row is
    # still read every time; only its conversion is skipped, so a change by any replica is seen at once.
    parsed: LRUCache[tuple[Any, ...], Any] = LRUCache(
        CACHED_BYTES_PER_KIND, getsizeof=lambda message: message.ByteSize() + 1
    )

    def parse(row: Row) -> Any:
        message = message_class()
        _envelope_from_row(message, row, row.name)
        from_json(row.spec, message.spec)
        from_json(row.status, message.status)
        return message

    def from_row(row: Row) -> Any:
        if not cached:
            return parse(row)
        key = (row.id, row.resource_version, row.created_at, row.updated_at)
        known = parsed.get(key)
        if known is None:
            known = parse(row)
            with contextlib.suppress(ValueError):  # larger than the whole cache: kept only by the caller
                parsed[key] = known
        message = message_class()
        message.CopyFrom(known)  # callers change what they read (an update): never the cached one
        return message

    return to_row, from_row


# Runs and records: the parent's columns (`agent_id`, `agent_name`) and the delivery id.


def _child_to_row(link: Parent, message: Any) -> dict[str, Any]:
    return {
        f"{link.column_prefix}_name": getattr(message.spec, link.ref_field).name,
        f"{link.column_prefix}_id": uuid.UUID(getattr(message, link.id_field)),
        "delivery_id": message.delivery_id,
    }


def _child_from_row(link: Parent, message: Any, row: Row) -> None:
    message.delivery_id = row.delivery_id
    setattr(message, link.id_field, str(getattr(row, f"{link.column_prefix}_id")))


# Records: a definition's row plus the child's columns.


def _record_mappers(kind: Kind) -> tuple[Callable[[Any], dict[str, Any]], Callable[[Row], Any]]:
    assert kind.parent is not None
    link = kind.parent
    definition_to_row, definition_from_row = _definition_mappers(kind.message_class, cached=False)

    def to_row(record: Any) -> dict[str, Any]:
        return {**definition_to_row(record), **_child_to_row(link, record)}

    def from_row(row: Row) -> Any:
        record = definition_from_row(row)
        _child_from_row(link, record, row)
        return record

    return to_row, from_row


# Memory: the seed's columns carry the store type (provider), the phase (status) and the Secret reference.


def _memory_to_row(memory: memory_pb2.Memory) -> dict[str, Any]:
    status = memory_pb2.MemoryStatus()
    status.CopyFrom(memory.status)
    status.ClearField("phase")
    secret = memory.spec.connection.secret_ref
    return {
        **_envelope_to_row(memory),
        "memory_name": memory.name,
        "provider": memory_pb2.MemorySpec.Type.Name(memory.spec.type),
        "status": memory_pb2.MemoryStatus.Phase.Name(memory.status.phase),
        "connection_secret": to_json(secret) if secret.name else None,
        "spec": to_json(memory.spec),
        "status_detail": to_json(status),
    }


def _memory_from_row(row: Row) -> memory_pb2.Memory:
    memory = memory_pb2.Memory()
    _envelope_from_row(memory, row, row.memory_name)
    from_json(row.spec, memory.spec)
    from_json(row.status_detail, memory.status)
    memory.status.phase = memory_pb2.MemoryStatus.Phase.Value(row.status)
    return memory


# Runs: phase, reason, message and times are columns (filtered, sorted, shown by the Run view); the rest of
# the status is JSON in status_detail; the spec is the seed's `payload`.

_RUN_STATUS_COLUMNS = ("phase", "reason", "message", "start_time", "finish_time")


def _run_mappers(kind: Kind) -> tuple[Callable[[Any], dict[str, Any]], Callable[[Row], Any]]:
    assert kind.parent is not None
    message_class = kind.message_class
    link = kind.parent

    def to_row(run: Any) -> dict[str, Any]:
        detail = type(run.status)()
        detail.CopyFrom(run.status)
        for field in _RUN_STATUS_COLUMNS:
            detail.ClearField(field)
        return {
            **_envelope_to_row(run),
            "name": run.name,
            **_child_to_row(link, run),
            "status": RunPhase.Name(run.status.phase),
            "reason": run.status.reason,
            "message": run.status.message,
            "start_time": run.status.start_time.ToDatetime() if run.status.HasField("start_time") else None,
            "finish_time": run.status.finish_time.ToDatetime()
            if run.status.HasField("finish_time")
            else None,
            "payload": to_json(run.spec),
            "status_detail": to_json(detail),
        }

    def from_row(row: Row) -> Any:
        run = message_class()
        _envelope_from_row(run, row, row.name)
        _child_from_row(link, run, row)
        from_json(row.payload, run.spec)
        from_json(row.status_detail, run.status)
        run.status.phase = RunPhase.Value(row.status)
        run.status.reason = row.reason
        run.status.message = row.message
        set_timestamp_if_any(run.status.start_time, row.start_time)
        set_timestamp_if_any(run.status.finish_time, row.finish_time)
        return run

    return to_row, from_row


def _stored(kind: Kind) -> StoredKind:
    table = KIND_TABLES[kind.name]
    if kind.name == "Memory":
        return StoredKind(kind, table, "memory_name", _memory_to_row, _memory_from_row)
    if kind.category is Category.RUN:
        mappers = _run_mappers(kind)
    elif kind.category is Category.RECORD:
        mappers = _record_mappers(kind)
    else:
        mappers = _definition_mappers(kind.message_class)
    return StoredKind(kind, table, "name", *mappers)


# How every kind is stored, by kind name.
STORED: dict[str, StoredKind] = {kind.name: _stored(kind) for kind in registry()}
