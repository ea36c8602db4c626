"""The transactional outbox of Kubernetes writes, and what the reconciler has reported of cluster objects.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from jangar.migrations.ddl import execute

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute(
        """
CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  operation text NOT NULL,
  run_kind text NOT NULL,
  run_id uuid NOT NULL,
  attempt integer NOT NULL,
  payload jsonb NOT NULL,
  available_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  tries integer NOT NULL DEFAULT 0,
  last_error text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX outbox_available_idx ON outbox(available_at, id);
CREATE INDEX outbox_run_idx ON outbox(run_id)
"""
    )
    execute(
        """
CREATE TABLE cluster_objects (
  uid text PRIMARY KEY,
  api_version text NOT NULL,
  kind text NOT NULL,
  namespace text NOT NULL,
  name text NOT NULL,
  resource_version text NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  run_kind text,
  run_id uuid,
  attempt integer,
  facts jsonb NOT NULL DEFAULT '{}'::jsonb,
  terminal_at timestamptz,
  settled boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX cluster_objects_run_idx ON cluster_objects(run_id, attempt);
CREATE INDEX cluster_objects_unsettled_idx ON cluster_objects(terminal_at) WHERE NOT settled;
CREATE INDEX cluster_objects_name_idx ON cluster_objects(kind, namespace, name)
"""
    )


def downgrade() -> None:
    # Migrations are forward-only: a schema change is a new revision.
    raise NotImplementedError("Jangar migrations are forward-only")
