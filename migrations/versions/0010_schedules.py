"""Schedule: its definition table, and the persisted next firing time of each Schedule the server fires.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from jangar.migrations.ddl import create_definition_kind, execute

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_definition_kind("schedules")
    execute(
        """
CREATE TABLE schedule_timers (
  schedule_id uuid PRIMARY KEY REFERENCES schedules(id) ON DELETE CASCADE,
  next_fire_at timestamptz
);
CREATE INDEX schedule_timers_due_idx ON schedule_timers(next_fire_at) WHERE next_fire_at IS NOT NULL
"""
    )


def downgrade() -> None:
    # Migrations are forward-only: a schema change is a new revision.
    raise NotImplementedError("Jangar migrations are forward-only")
