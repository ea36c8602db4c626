"""AgentProvider: how an Agent's runs are executed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from jangar.migrations.ddl import create_definition_kind

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_definition_kind("agent_providers")


def downgrade() -> None:
    # Migrations are forward-only: a schema change is a new revision.
    raise NotImplementedError("Jangar migrations are forward-only")
