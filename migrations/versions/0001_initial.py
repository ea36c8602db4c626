"""Initial schema: the seed tables, Jangar's columns on them, definitions and idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op

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

ENVELOPE_COLUMNS = """
  ADD COLUMN namespace text NOT NULL,
  ADD COLUMN labels jsonb NOT NULL DEFAULT '{}'::jsonb,
  ADD COLUMN annotations jsonb NOT NULL DEFAULT '{}'::jsonb,
  ADD COLUMN generation bigint NOT NULL DEFAULT 1,
  ADD COLUMN resource_version bigint NOT NULL DEFAULT 1
"""


def _run_columns(parent: str) -> str:
    return f"""
  ADD COLUMN name text NOT NULL,
  ADD COLUMN {parent}_id uuid NOT NULL,
  ADD COLUMN reason text NOT NULL DEFAULT '',
  ADD COLUMN message text NOT NULL DEFAULT '',
  ADD COLUMN start_time timestamptz,
  ADD COLUMN finish_time timestamptz,
  ADD COLUMN status_detail jsonb NOT NULL DEFAULT '{{}}'::jsonb
"""


def _definition_table(table: str) -> str:
    return f"""
CREATE TABLE {table} (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  spec jsonb NOT NULL,
  status jsonb NOT NULL DEFAULT '{{}}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  namespace text NOT NULL,
  labels jsonb NOT NULL DEFAULT '{{}}'::jsonb,
  annotations jsonb NOT NULL DEFAULT '{{}}'::jsonb,
  generation bigint NOT NULL DEFAULT 1,
  resource_version bigint NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX {table}_namespace_name_idx ON {table}(namespace, name);
"""


def _list_indexes(table: str, *filters: str) -> str:
    """Indexes behind every list filter: newest first with the id tie-breaker, per filter column, and GIN
    on labels for label selectors."""
    statements = [
        f"CREATE INDEX {table}_created_idx ON {table}(created_at DESC, id DESC);",
        f"CREATE INDEX {table}_labels_idx ON {table} USING gin (labels);",
    ]
    for column in ("namespace", *filters):
        statements.append(
            f"CREATE INDEX {table}_{column}_created_idx ON {table}({column}, created_at DESC, id DESC);"
        )
    return "\n".join(statements)


def _execute(script: str) -> None:
    # asyncpg prepares each statement, and a prepared statement holds exactly one command.
    for statement in script.split(";"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    _execute(SEED_TABLES)

    _execute(_definition_table("agents"))
    _execute(_list_indexes("agents"))
    _execute(_definition_table("orchestrations"))
    _execute(_list_indexes("orchestrations"))

    _execute(
        f"""ALTER TABLE memory_resources {ENVELOPE_COLUMNS},
  ADD COLUMN spec jsonb NOT NULL,
  ADD COLUMN status_detail jsonb NOT NULL DEFAULT '{{}}'::jsonb"""
    )
    _execute(
        "CREATE UNIQUE INDEX memory_resources_namespace_name_idx ON memory_resources(namespace, memory_name)"
    )
    _execute(_list_indexes("memory_resources"))

    for table, parent in (("agent_runs", "agent"), ("orchestration_runs", "orchestration")):
        _execute(f"ALTER TABLE {table} {ENVELOPE_COLUMNS}, {_run_columns(parent)}")
        _execute(f"CREATE UNIQUE INDEX {table}_namespace_name_idx ON {table}(namespace, name)")
        # `status` holds the phase (Pending, Running, ...).
        _execute(_list_indexes(table, f"{parent}_id", f"{parent}_name", "status"))

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
