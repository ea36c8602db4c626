"""Charging Budgets: when a run reaches its terminal phase, what it consumed is added to every Budget of its
namespace whose scope covers it, in the transaction of that transition and exactly once (a budget_charges
row per budget and run; a second delivery of the same end finds the run terminal and the row taken).

What a run consumed: the model tokens and dollars its runner reported (`status.runner.usage`), and the
resource time Jangar meters itself: the CPU, memory and `nvidia.com/gpu` its first attempt's container
requested (requests, else limits; the run's own or its provider's, recorded in `status.requestedResources`
when that attempt is planned) times its running time (start to finish)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from jangar.server.core.context import RequestContext
from jangar.server.core.kinds import Kind
from jangar.server.core.quantity import parse_quantity
from jangar.server.core.query import Ref
from jangar.server.core.runtime import Launch
from jangar.server.core.selectors import parse_selector
from jangar.server.core.timestamps import set_timestamp
from jangar.server.domain import common, policy_subjects
from jangar.server.repository import budget_charges, rows
from jangar.server.repository.database import Tx
from jangar.server.repository.mapping import STORED
from jangar.v1 import budget_pb2

Window = budget_pb2.BudgetSpec.Window
_MICRO = Decimal("0.000001")
# Resource names in a container's requests and limits, by the Budget amount they are charged to.
METERED_RESOURCES = {"cpu": "cpu", "memory": "memory", "gpu": "nvidia.com/gpu"}


@dataclass(frozen=True)
class Amounts:
    """What one run consumed, in the units of BudgetAmounts."""

    tokens: int
    dollars: Decimal
    cpu: Decimal
    memory: Decimal
    gpu: Decimal

    def as_json(self) -> dict[str, str]:
        return {
            "tokens": str(self.tokens),
            "dollars": decimal_text(self.dollars),
            **{field: decimal_text(getattr(self, field)) for field in METERED_RESOURCES},
        }


def decimal_text(value: Decimal) -> str:
    """A decimal rounded to micro-units, without exponent or trailing zeros: `12.5`, `3600`, `0.000001`."""
    text = format(value.quantize(_MICRO), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def window_start(window: int, now: datetime, current: datetime | None) -> datetime:
    """Where the window containing `now` begins; a `total` window begins once, when the Budget does."""
    if window == Window.daily:
        return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if window == Window.monthly:
        return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return current or now


def align_window(budget: budget_pb2.Budget, now: datetime) -> None:
    """Moves the Budget's status into the window containing `now`, starting its usage at zero when the
    window changed."""
    status = budget.status
    current = status.window_start.ToDatetime(UTC) if status.HasField("window_start") else None
    start = window_start(budget.spec.window, now, current)
    if start != current:
        status.used.Clear()
        set_timestamp(status.window_start, start)


def consumed(run: Any) -> Amounts:
    status = run.status
    usage = status.runner.usage if "runner" in status.DESCRIPTOR.fields_by_name else None
    seconds = Decimal(0)
    if status.HasField("start_time") and status.HasField("finish_time"):
        elapsed = status.finish_time.ToDatetime(UTC) - status.start_time.ToDatetime(UTC)
        seconds = max(Decimal(0), Decimal(str(elapsed.total_seconds())))
    requested = _requested(run)
    return Amounts(
        tokens=(usage.input_tokens + usage.output_tokens) if usage is not None else 0,
        dollars=Decimal(repr(usage.cost_usd)) if usage is not None else Decimal(0),
        **{field: requested.get(name, Decimal(0)) * seconds for field, name in METERED_RESOURCES.items()},
    )


REQUESTED = "requested_resources"


def record_requested(run: Any, launch: Launch) -> None:
    """Keeps what the run's first planned attempt requests, for kinds whose status has room for it: the
    launch resolved the run's own resources against its provider's, and the Job is written from it."""
    if REQUESTED not in run.status.DESCRIPTOR.fields_by_name or run.status.HasField(REQUESTED):
        return
    requested = getattr(run.status, REQUESTED)
    requested.SetInParent()
    for part in ("limits", "requests"):
        getattr(requested, part).update(launch.workload.resources.get(part) or {})


def _requested(run: Any) -> dict[str, Decimal]:
    """The resources a run requested (requests, else limits): as its first attempt was planned, or, for a
    run planned before that was recorded, its own spec's."""
    if REQUESTED in run.status.DESCRIPTOR.fields_by_name and run.status.HasField(REQUESTED):
        resources = getattr(run.status, REQUESTED)
    elif "workload" in run.spec.DESCRIPTOR.fields_by_name and run.spec.HasField("workload"):
        resources = run.spec.workload.resources
    else:
        return {}
    found = {}
    for name in METERED_RESOURCES.values():
        text = resources.requests.get(name) or resources.limits.get(name)
        if text:
            found[name] = parse_quantity(text)
    return found


def covers(budget: budget_pb2.Budget, subject: tuple[str, str], labels: dict[str, str]) -> bool:
    scope = budget.spec.scope
    if scope.subjects:
        return policy_subjects.names(scope.subjects, subject)
    if scope.label_selector:
        return parse_selector(scope.label_selector).matches(labels)
    return True  # no scope: every run of the namespace


def add(used: budget_pb2.BudgetAmounts, amounts: Amounts) -> None:
    used.tokens += amounts.tokens
    used.dollars = decimal_text(Decimal(used.dollars or "0") + amounts.dollars)
    for field in METERED_RESOURCES:
        total = parse_quantity(getattr(used, field) or "0") + getattr(amounts, field)
        setattr(used, field, decimal_text(total))


async def charge(db: Tx, context: RequestContext, kind: Kind, run: Any) -> None:
    """Charges a run that just reached its terminal phase to the Budgets that cover it."""
    stored = STORED["Budget"]
    candidates = await rows.in_namespace(db, stored, run.namespace)
    if not candidates or kind.parent is None:
        return
    subject = policy_subjects.run_subject(kind, run)
    covering = sorted(
        (b for b in candidates if covers(b, subject, dict(run.labels))), key=lambda b: uuid.UUID(b.id)
    )
    if not covering:
        return
    amounts = consumed(run)
    now = common.utcnow()
    for candidate in covering:  # in id order, so concurrent charges lock budgets in one order
        budget = await rows.find(db, stored, Ref(id=uuid.UUID(candidate.id)), for_update=True)
        if budget is None or not covers(budget, subject, dict(run.labels)):
            continue  # deleted or rescoped since it was read
        taken = await budget_charges.add(
            db,
            budget_id=uuid.UUID(budget.id),
            run_id=uuid.UUID(run.id),
            run_kind=kind.name,
            amounts=amounts.as_json(),
        )
        if not taken:
            continue
        align_window(budget, now)
        add(budget.status.used, amounts)
        await rows.update(db, stored, uuid.UUID(budget.id), budget)
        await common.record_audit(
            db,
            context,
            kind="Budget",
            entity_id=budget.id,
            event="Charged",
            namespace=budget.namespace,
            payload={"runKind": kind.name, "runId": run.id, "runName": run.name, **amounts.as_json()},
        )
