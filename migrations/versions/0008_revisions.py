"""Revision history of definitions: one immutable row per spec a definition has had.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from jangar.migrations.ddl import execute

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The definition kinds that keep revisions, as of this revision, and their tables.
BACKFILLED = {
    "Agent": "agents",
    "AgentProvider": "agent_providers",
    "Tool": "tools",
    "Orchestration": "orchestrations",
}


def upgrade() -> None:
    # One table for every kind: a resource id is a UUID, unique across kinds, and the primary key's index
    # serves the only reads (a resource's revisions newest first, and two of them by number).
    execute(
        """
CREATE TABLE definition_revisions (
  resource_id uuid NOT NULL,
  number bigint NOT NULL,
  kind text NOT NULL,
  spec jsonb NOT NULL,
  actor text NOT NULL,
  audit_event_id uuid,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (resource_id, number)
)
"""
    )
    # History begins now: each existing definition's current spec is its first recorded revision, written
    # by the upgrade itself (actor system:migration) and by no request (no audit event).
    for kind, table in BACKFILLED.items():
        execute(
            f"""
INSERT INTO definition_revisions (resource_id, number, kind, spec, actor, audit_event_id, created_at)
SELECT id, generation, '{kind}', spec, 'system:migration', NULL, updated_at FROM {table}
"""
        )


def downgrade() -> None:
    # Migrations are forward-only: a schema change is a new revision.
    raise NotImplementedError("Jangar migrations are forward-only")
