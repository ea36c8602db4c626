"""Budget: limits on what the runs in its scope consume, per window. Its status carries what they used in
the current window; domain/budgets.py charges them."""

from __future__ import annotations

import re

from jangar.server.core.quantity import non_negative_quantity_problems
from jangar.server.core.selectors import SelectorSyntaxError, parse_selector
from jangar.server.domain import budgets, common, policy_subjects
from jangar.server.domain.kinds import KindRules
from jangar.server.domain.validation import Violations
from jangar.v1 import budget_pb2

KIND = "Budget"

# Non-negative decimal dollars with at most 6 fractional digits (micro-dollars, finer than any price list).
_DOLLARS = re.compile(r"(0|[1-9][0-9]{0,14})(\.[0-9]{1,6})?")


def validate_resource(budget: budget_pb2.Budget, v: Violations) -> None:
    spec = budget.spec
    limits = spec.limits
    if spec.HasField("limits") and not any(
        (limits.tokens, limits.dollars, limits.cpu, limits.memory, limits.gpu)
    ):
        v.add("spec.limits", "must set at least one of tokens, dollars, cpu, memory, gpu")
    if limits.tokens < 0:
        v.add("spec.limits.tokens", "must be greater than or equal to 0")
    if limits.dollars and not _DOLLARS.fullmatch(limits.dollars):
        v.add("spec.limits.dollars", "must be a decimal number of dollars such as 12.50 (at most 6 decimals)")
    for field in ("cpu", "memory", "gpu"):
        quantity = getattr(limits, field)
        if quantity:
            v.extend(f"spec.limits.{field}", non_negative_quantity_problems(quantity))
    scope = spec.scope
    if scope.subjects and scope.label_selector:
        v.add("spec.scope", "set subjects or labelSelector, not both")
    policy_subjects.validate(v, "spec.scope.subjects", scope.subjects, budget.namespace)
    if scope.label_selector:
        try:
            parse_selector(scope.label_selector)
        except SelectorSyntaxError as error:
            v.add("spec.scope.labelSelector", str(error))


def initial_status(budget: budget_pb2.Budget) -> None:
    """Accepted; usage carries over a spec change unless the change moved the window (a daily Budget made
    monthly starts its month at zero)."""
    common.accepted_status(budget)
    budgets.align_window(budget, common.utcnow())


async def observe(db: object, budget: budget_pb2.Budget) -> None:
    """A window that has turned starts at zero, whether or not a run was charged since."""
    budgets.align_window(budget, common.utcnow())


RULES = KindRules(validate_resource=validate_resource, initial_status=initial_status, observe=observe)
