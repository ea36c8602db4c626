"""The outbox payload as `json`, not `jsonb` (issue 11): it is written once with its change, read once by the
outbox worker and deleted, and never queried into, so converting it to jsonb's binary form on every create
was Postgres work for nothing (~130 µs for a job run's 3 KB `start` payload, measured by inserting the
same document into a json and a jsonb column).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from jangar.migrations.ddl import execute

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The outbox holds only the writes not yet done, so the rewrite is short.
    execute("ALTER TABLE outbox ALTER COLUMN payload TYPE json USING payload::json")


def downgrade() -> None:
    # Migrations are forward-only: a schema change is a new revision.
    raise NotImplementedError("Jangar migrations are forward-only")
