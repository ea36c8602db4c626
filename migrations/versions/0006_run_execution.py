"""Run execution: each run's attempt, runtime, timers and whether its runtime object may still be alive, and
the history of every phase change.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from jangar.migrations.ddl import execute

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

RUN_TABLES = ("agent_runs", "orchestration_runs", "tool_runs")


def upgrade() -> None:
    for table in RUN_TABLES:
        execute(
            f"""
ALTER TABLE {table}
  ADD COLUMN attempt integer NOT NULL DEFAULT 0,
  ADD COLUMN runtime text NOT NULL DEFAULT '',
  ADD COLUMN runtime_active boolean NOT NULL DEFAULT false,
  ADD COLUMN next_attempt_at timestamptz,
  ADD COLUMN deadline_at timestamptz;
CREATE INDEX {table}_due_idx ON {table}(runtime, next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX {table}_active_idx ON {table}(runtime) WHERE runtime_active
"""
        )
    execute(
        """
CREATE TABLE run_transitions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  run_kind text NOT NULL,
  run_id uuid NOT NULL,
  attempt integer NOT NULL,
  from_phase text NOT NULL,
  to_phase text NOT NULL,
  reason text NOT NULL,
  message text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX run_transitions_run_idx ON run_transitions(run_id, created_at)
"""
    )


def downgrade() -> None:
    # Migrations are forward-only: a schema change is a new revision.
    raise NotImplementedError("Jangar migrations are forward-only")
