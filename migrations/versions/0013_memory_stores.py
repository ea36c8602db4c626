"""Memory stores: the extensions every embedded store uses (pgvector for embeddings, pg_trgm for the
lexical fallback). Each Memory's records live in a schema of its own, created and dropped with the Memory
(server/repository/memory_store.py), so this revision adds no table.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from jangar.migrations.ddl import execute

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute("CREATE EXTENSION IF NOT EXISTS vector")
    execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
