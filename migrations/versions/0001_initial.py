"""Initial schema: the seed tables, Jangar's columns on them, definitions and idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from jangar.migrations.ddl import ENVELOPE_COLUMNS, definition_table, list_indexes, run_columns
from jangar.migrations.ddl import execute as _execute

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Verbatim from the seed (jangar-implementation-requirements.md, section 2.1): these are the contract.
SEED_TABLES = """
CREATE TABLE IF NOT EXISTS agent_runs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  agent_name text NOT NULL,
  delivery_id text NOT NULL,
  provider text NOT NULL,
  status text NOT NULL,
  external_run_id text,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX IF NOT EXISTS agent_runs_delivery_id_idx ON agent_runs(delivery_id);

CREATE TABLE IF NOT EXISTS memory_resources (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  memory_name text NOT NULL,
  provider text NOT NULL,
  status text NOT NULL,
  connection_secret jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS orchestration_runs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  orchestration_name text NOT NULL,
  delivery_id text NOT NULL,
  provider text NOT NULL,
  status text NOT NULL,
  external_run_id text,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX IF NOT EXISTS orchestration_runs_delivery_id_idx ON orchestration_runs(delivery_id);

CREATE TABLE IF NOT EXISTS audit_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  entity_type text NOT NULL,
  entity_id uuid NOT NULL,
  event_type text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
"""


def upgrade() -> None:
    _execute(SEED_TABLES)

    _execute(definition_table("agents"))
    _execute(list_indexes("agents"))
    _execute(definition_table("orchestrations"))
    _execute(list_indexes("orchestrations"))

    _execute(
        f"""ALTER TABLE memory_resources {ENVELOPE_COLUMNS},
  ADD COLUMN spec jsonb NOT NULL,
  ADD COLUMN status_detail jsonb NOT NULL DEFAULT '{{}}'::jsonb"""
    )
    _execute(
        "CREATE UNIQUE INDEX memory_resources_namespace_name_idx ON memory_resources(namespace, memory_name)"
    )
    _execute(list_indexes("memory_resources"))

    for table, parent in (("agent_runs", "agent"), ("orchestration_runs", "orchestration")):
        _execute(f"ALTER TABLE {table} {ENVELOPE_COLUMNS}, {run_columns(parent)}")
        _execute(f"CREATE UNIQUE INDEX {table}_namespace_name_idx ON {table}(namespace, name)")
        # `status` holds the phase (Pending, Running, ...).
        _execute(list_indexes(table, f"{parent}_id", f"{parent}_name", "status"))

    _execute(
        """ALTER TABLE audit_events
  ADD COLUMN actor text NOT NULL DEFAULT '',
  ADD COLUMN request_id text NOT NULL DEFAULT '',
  ADD COLUMN delivery_id text,
  ADD COLUMN namespace text"""
    )
    _execute("CREATE INDEX audit_events_entity_idx ON audit_events(entity_type, entity_id, created_at)")
    _execute("CREATE INDEX audit_events_created_idx ON audit_events(created_at DESC, id DESC)")

    _execute(
        """
CREATE TABLE idempotency_keys (
  principal text NOT NULL,
  key text NOT NULL,
  method text NOT NULL,
  fingerprint bytea NOT NULL,
  response bytea,
  resource_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  response_code integer NOT NULL DEFAULT 0,
  PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys(created_at);
"""
    )


def downgrade() -> None:
    # Migrations are forward-only: a schema change is a new revision.
    raise NotImplementedError("Jangar migrations are forward-only")
