"""Tool and ToolRun: container commands and their runs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from jangar.migrations.ddl import create_definition_kind, create_run_kind

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_definition_kind("tools")
    create_run_kind("tool_runs", "tool")


def downgrade() -> None:
    # Migrations are forward-only: a schema change is a new revision.
    raise NotImplementedError("Jangar migrations are forward-only")
