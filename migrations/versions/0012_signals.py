"""Signals (a definition kind) and SignalDeliveries (the first record kind: immutable facts about a Signal).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from jangar.migrations.ddl import create_definition_kind, create_record_kind

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_definition_kind("signals")
    create_record_kind("signal_deliveries", "signal")


def downgrade() -> None:
    # Migrations are forward-only: a schema change is a new revision.
    raise NotImplementedError("Jangar migrations are forward-only")
