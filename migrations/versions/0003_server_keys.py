"""Server keys: secrets the server generates for itself (the page token key), so that every replica and
every restart shares them without configuration.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
CREATE TABLE server_keys (
  purpose text PRIMARY KEY,
  key bytea NOT NULL,
  create_time timestamptz NOT NULL DEFAULT now()
)
"""
    )


def downgrade() -> None:
    # Migrations are forward-only: a schema change is a new revision.
    raise NotImplementedError("Jangar migrations are forward-only")
