"""Workspace and Artifact: shared volumes for runs, and the files runs produce.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from jangar.migrations.ddl import create_definition_kind, execute

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_definition_kind("workspaces")
    create_definition_kind("artifacts")
    # The server's upkeep looks for what has outlived its TTL (docs/storage.md): only rows that have a TTL
    # and have not expired yet are candidates, so these partial indexes stay small however many expired.
    execute(
        """
CREATE INDEX workspaces_expiry_idx ON workspaces(created_at)
  WHERE (spec ? 'ttlSeconds') AND (status->>'phase' IS DISTINCT FROM 'Expired');
CREATE INDEX artifacts_expiry_idx ON artifacts(created_at)
  WHERE (spec->'lifecycle' ? 'ttlDays') AND (status->>'phase' IS DISTINCT FROM 'Expired')
"""
    )


def downgrade() -> None:
    # Migrations are forward-only: a schema change is a new revision.
    raise NotImplementedError("Jangar migrations are forward-only")
