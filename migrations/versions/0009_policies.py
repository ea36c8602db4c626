"""ApprovalPolicy, SecretBinding and Budget, and the charges of runs to budgets.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from jangar.migrations.ddl import create_definition_kind, execute

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_definition_kind("approval_policies")
    create_definition_kind("secret_bindings")
    create_definition_kind("budgets")
    # One row per (budget, run) charged: the primary key makes a second charge of the same run impossible,
    # whatever delivers its terminal transition twice.
    execute(
        """
CREATE TABLE budget_charges (
  budget_id uuid NOT NULL,
  run_id uuid NOT NULL,
  run_kind text NOT NULL,
  amounts jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (budget_id, run_id)
)
"""
    )


def downgrade() -> None:
    # Migrations are forward-only: a schema change is a new revision.
    raise NotImplementedError("Jangar migrations are forward-only")
