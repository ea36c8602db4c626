"""SQLAlchemy Core table definitions for the repository layer.

The four seed tables (agent_runs, memory_resources, orchestration_runs, audit_events) keep exactly the seed's
columns, types, defaults and unique indexes; Jangar's own columns are added after them.

Every kind in the registry gets its table here without being named: a definition kind the `definitions`
shape (table named after its plural), a run kind the `runs` shape with its parent's columns, a record kind
the definition shape plus its parent's columns and the delivery id. Only a kind
whose storage differs (Memory, which lives in the seed's memory_resources) is declared by hand, in
`SPECIAL_TABLES`. The migrations in migrations/versions are the source of truth for the schema; these
definitions mirror them for queries, and `alembic check` (run by tests/test_schema.py) fails when the two
disagree.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from jangar.server.core.kinds import Category, Kind, registry

metadata = MetaData()


def _id() -> Column:
    return Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))


def _timestamps() -> list[Column]:
    return [
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


def _envelope() -> list[Column]:
    """Columns every Jangar resource has beyond the seed's."""
    return [
        Column("namespace", Text, nullable=False),
        Column("labels", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("annotations", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("generation", BigInteger, nullable=False, server_default=text("1")),
        Column("resource_version", BigInteger, nullable=False, server_default=text("1")),
    ]


def _definition_columns() -> list[Column]:
    return [
        _id(),
        Column("name", Text, nullable=False),
        Column("spec", JSONB, nullable=False),
        Column("status", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        *_timestamps(),
        *_envelope(),
    ]


def _record_columns(parent: str) -> list[Column]:
    """A record is a definition's row that also names its parent and the key that created it
    (migrations/ddl.py record_table)."""
    return [
        *_definition_columns(),
        Column("delivery_id", Text, nullable=False),
        Column(f"{parent}_id", UUID(as_uuid=True), nullable=False),
        Column(f"{parent}_name", Text, nullable=False),
    ]


memory_resources = Table(
    "memory_resources",
    metadata,
    _id(),
    Column("memory_name", Text, nullable=False),
    Column("provider", Text, nullable=False),
    Column("status", Text, nullable=False),
    # Only the Secret reference ({"name", "key"}) is ever stored here, never a secret value.
    Column("connection_secret", JSONB),
    *_timestamps(),
    *_envelope(),
    Column("spec", JSONB, nullable=False),
    Column("status_detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
)


def _run_columns(parent: str) -> list[Column]:
    return [
        _id(),
        Column(f"{parent}_name", Text, nullable=False),
        Column("delivery_id", Text, nullable=False),
        Column("provider", Text, nullable=False),
        Column("status", Text, nullable=False),
        Column("external_run_id", Text),
        Column("payload", JSONB, nullable=False),
        *_timestamps(),
        *_envelope(),
        Column("name", Text, nullable=False),
        Column(f"{parent}_id", UUID(as_uuid=True), nullable=False),
        Column("reason", Text, nullable=False, server_default=text("''")),
        Column("message", Text, nullable=False, server_default=text("''")),
        Column("start_time", DateTime(timezone=True)),
        Column("finish_time", DateTime(timezone=True)),
        Column("status_detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        # Execution (migration 0006): the attempt, the runtime that executes it, whether a runtime object
        # may still be alive (the worker stops it once the run is terminal), and the persisted timers.
        Column("attempt", Integer, nullable=False, server_default=text("0")),
        Column("runtime", Text, nullable=False, server_default=text("''")),
        Column("runtime_active", Boolean, nullable=False, server_default=text("false")),
        Column("next_attempt_at", DateTime(timezone=True)),
        Column("deadline_at", DateTime(timezone=True)),
    ]


# Kinds whose rows do not have the shape of their category.
SPECIAL_TABLES: dict[str, Table] = {"Memory": memory_resources}


def _table_of(kind: Kind) -> Table:
    if kind.name in SPECIAL_TABLES:
        return SPECIAL_TABLES[kind.name]
    if kind.category is Category.DEFINITION:
        return Table(kind.plural, metadata, *_definition_columns())
    assert kind.parent is not None, f"{kind.category} kind {kind.name} has no parent"
    columns = _run_columns if kind.category is Category.RUN else _record_columns
    return Table(kind.plural, metadata, *columns(kind.parent.column_prefix))


# The table of every kind, by kind name.
KIND_TABLES: dict[str, Table] = {kind.name: _table_of(kind) for kind in registry()}

audit_events = Table(
    "audit_events",
    metadata,
    _id(),
    Column("entity_type", Text, nullable=False),
    Column("entity_id", UUID(as_uuid=True), nullable=False),
    Column("event_type", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", Text, nullable=False, server_default=text("''")),
    Column("request_id", Text, nullable=False, server_default=text("''")),
    Column("delivery_id", Text),
    Column("namespace", Text),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("principal", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("method", Text, nullable=False),
    Column("fingerprint", LargeBinary, nullable=False),
    # The serialized response message, returned byte for byte on a replay. NULL only inside the transaction
    # that claimed the key, so no other transaction ever sees it NULL.
    Column("response", LargeBinary),
    Column("resource_id", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("response_code", Integer, nullable=False, server_default=text("0")),
)

# Secrets the server generates for itself, one per purpose, shared by every replica through the database
# (server/repository/server_keys.py).
server_keys = Table(
    "server_keys",
    metadata,
    Column("purpose", Text, primary_key=True),
    Column("key", LargeBinary, nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Every phase change of every run, oldest first per run (migration 0006).
run_transitions = Table(
    "run_transitions",
    metadata,
    _id(),
    Column("run_kind", Text, nullable=False),
    Column("run_id", UUID(as_uuid=True), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("from_phase", Text, nullable=False),
    Column("to_phase", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()")),
)

# Kubernetes writes waiting for the outbox worker (migration 0007): a row commits with the change that needs
# it and is deleted once the write is done.
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    # "start" (payload: the attempt's Launch), "stop" (the attempt), "status" (a custom resource's status).
    Column("operation", Text, nullable=False),
    Column("run_kind", Text, nullable=False),
    Column("run_id", UUID(as_uuid=True), nullable=False),
    Column("attempt", Integer, nullable=False),
    # json, not jsonb (migration 0015): written once, read once, never queried into.
    Column("payload", JSON, nullable=False),
    Column("available_at", DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()")),
    Column("tries", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text, nullable=False, server_default=text("''")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()")),
)

# The last state the reconciler reported of each cluster object (migration 0007), by uid: what makes a
# resent snapshot a duplicate, an older one stale, and a Job's outcome wait for its Pod's report.
cluster_objects = Table(
    "cluster_objects",
    metadata,
    Column("uid", Text, primary_key=True),
    Column("api_version", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("namespace", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("resource_version", Text, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default=text("false")),
    Column("run_kind", Text),
    Column("run_id", UUID(as_uuid=True)),
    Column("attempt", Integer),
    # What the ingest read from the object: a Pod's container termination, a Job's state.
    Column("facts", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    # When a Job was first seen finished, until its run's outcome is decided (settled).
    Column("terminal_at", DateTime(timezone=True)),
    Column("settled", Boolean, nullable=False, server_default=text("false")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()")),
)

# The specs a definition has had, one row per generation (migration 0008); written with the create or update
# that changed the spec, deleted with the definition.
definition_revisions = Table(
    "definition_revisions",
    metadata,
    Column("resource_id", UUID(as_uuid=True), primary_key=True),
    Column("number", BigInteger, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("spec", JSONB, nullable=False),
    Column("actor", Text, nullable=False),
    # NULL for the revisions migration 0008 recorded from the specs definitions already had.
    Column("audit_event_id", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()")),
)

# What each run was charged to each Budget (migration 0009); the key makes a charge happen once.
budget_charges = Table(
    "budget_charges",
    metadata,
    Column("budget_id", UUID(as_uuid=True), primary_key=True),
    Column("run_id", UUID(as_uuid=True), primary_key=True),
    Column("run_kind", Text, nullable=False),
    Column("amounts", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()")),
)

# When the server's own scheduler fires each Schedule next (migration 0010). NULL: never, because the
# Schedule is suspended or a Kubernetes CronJob fires it. The row goes with its Schedule.
schedule_timers = Table(
    "schedule_timers",
    metadata,
    Column(
        "schedule_id",
        UUID(as_uuid=True),
        ForeignKey("schedules.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("next_fire_at", DateTime(timezone=True)),
)
