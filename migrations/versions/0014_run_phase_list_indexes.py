"""Indexes for run lists filtered by parent and phase together (issue 11: ListAgentRuns at 1,000,000 runs).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from jangar.migrations.ddl import execute, phase_list_indexes

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table, parent in (
        ("agent_runs", "agent"),
        ("orchestration_runs", "orchestration"),
        ("tool_runs", "tool"),
    ):
        execute(phase_list_indexes(table, parent))


def downgrade() -> None:
    # Migrations are forward-only: a schema change is a new revision.
    raise NotImplementedError("Jangar migrations are forward-only")
