"""SQL for the charges of runs to Budgets: one row per (budget, run), the guard of charging exactly once."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert

from jangar.server.repository.database import Tx
from jangar.server.repository.tables import budget_charges

_ADD = insert(budget_charges).on_conflict_do_nothing().returning(budget_charges.c.budget_id)


async def add(
    db: Tx, *, budget_id: uuid.UUID, run_id: uuid.UUID, run_kind: str, amounts: dict[str, str]
) -> bool:
    """Records the charge; False, writing nothing, when the run was already charged to the budget."""
    values = {"budget_id": budget_id, "run_id": run_id, "run_kind": run_kind, "amounts": amounts}
    return (await db.execute(_ADD, values)).first() is not None
