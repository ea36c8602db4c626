"""SQL shapes the migrations share. A revision calls these at the time it runs, so a shape is never changed
once a revision uses it: a new shape gets a new function."""

from __future__ import annotations

from alembic import op

ENVELOPE_COLUMNS = """
  ADD COLUMN namespace text NOT NULL,
  ADD COLUMN labels jsonb NOT NULL DEFAULT '{}'::jsonb,
  ADD COLUMN annotations jsonb NOT NULL DEFAULT '{}'::jsonb,
  ADD COLUMN generation bigint NOT NULL DEFAULT 1,
  ADD COLUMN resource_version bigint NOT NULL DEFAULT 1
"""


def run_columns(parent: str) -> str:
    """Jangar's columns of a run table, added after the seed's."""
    return f"""
  ADD COLUMN name text NOT NULL,
  ADD COLUMN {parent}_id uuid NOT NULL,
  ADD COLUMN reason text NOT NULL DEFAULT '',
  ADD COLUMN message text NOT NULL DEFAULT '',
  ADD COLUMN start_time timestamptz,
  ADD COLUMN finish_time timestamptz,
  ADD COLUMN status_detail jsonb NOT NULL DEFAULT '{{}}'::jsonb
"""


def definition_table(table: str) -> str:
    """A definition kind's table: the envelope, spec and status as jsonb, names unique per namespace."""
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


def list_indexes(table: str, *filters: str) -> str:
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


def execute(script: str) -> None:
    """Runs a script of several statements: asyncpg prepares each statement, and a prepared statement
    holds exactly one command."""
    for statement in script.split(";"):
        if statement.strip():
            op.execute(statement)


def create_definition_kind(table: str) -> None:
    """Everything a new definition kind needs: its table and its list indexes."""
    execute(definition_table(table))
    execute(list_indexes(table))


def run_table(table: str, parent: str) -> str:
    """A run kind's table for a kind that has no seed table: the seed's run columns (as agent_runs has them,
    `status` holding the phase) followed by Jangar's, with the deliveryId unique as in the seed."""
    return f"""
CREATE TABLE {table} (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  {parent}_name text NOT NULL,
  delivery_id text NOT NULL,
  provider text NOT NULL,
  status text NOT NULL,
  external_run_id text,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX {table}_delivery_id_idx ON {table}(delivery_id);
ALTER TABLE {table} {ENVELOPE_COLUMNS}, {run_columns(parent)};
CREATE UNIQUE INDEX {table}_namespace_name_idx ON {table}(namespace, name);
"""


def create_run_kind(table: str, parent: str) -> None:
    """Everything a new run kind needs: its table and the indexes behind its list filters."""
    execute(run_table(table, parent))
    execute(list_indexes(table, f"{parent}_id", f"{parent}_name", "status"))


def record_table(table: str, parent: str) -> str:
    """A record kind's table: a definition's columns, then the parent it belongs to and the idempotency key
    that created it (unique, as a run's deliveryId is)."""
    return f"""
{definition_table(table)}
ALTER TABLE {table}
  ADD COLUMN delivery_id text NOT NULL,
  ADD COLUMN {parent}_id uuid NOT NULL,
  ADD COLUMN {parent}_name text NOT NULL;
CREATE UNIQUE INDEX {table}_delivery_id_idx ON {table}(delivery_id);
"""


def create_record_kind(table: str, parent: str) -> None:
    """Everything a new record kind needs: its table and the indexes behind its parent filters."""
    execute(record_table(table, parent))
    execute(list_indexes(table, f"{parent}_id", f"{parent}_name"))


def phase_list_indexes(table: str, parent: str) -> str:
    """A run kind's indexes for lists filtered by its parent (id or name) and phase together, newest first:
    with the parent's index alone, a list of one agent's Running runs reads every run of that agent until a
    page is full (tens of thousands of rows at a million runs)."""
    return "\n".join(
        f"CREATE INDEX {table}_{column}_status_created_idx "
        f"ON {table}({column}, status, created_at DESC, id DESC);"
        for column in (f"{parent}_id", f"{parent}_name")
    )
