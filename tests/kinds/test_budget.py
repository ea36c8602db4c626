"""Budget: its sample for the conformance suite, the rules of its spec, and its window."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest

from jangar.server.core.kinds import registry
from jangar.v1 import budget_pb2
from tests.support import unique
from tests.transports import TRANSPORTS, client_for, new_key, refused

KIND = "Budget"

Budget = budget_pb2.Budget
Spec = budget_pb2.BudgetSpec
Amounts = budget_pb2.BudgetAmounts


def sample(namespace: str, **labels: str) -> Budget:
    return Budget(
        name=unique("budget"),
        namespace=namespace,
        labels=labels,
        spec=Spec(
            limits=Amounts(tokens=1_000_000, dollars="250.00", cpu="36000", memory="3600Gi", gpu="0"),
            scope={"subjects": [{"kind": "Agent", "name": "release-bot"}]},
            window=Spec.monthly,
        ),
    )


def changed_spec() -> tuple[str, Spec]:
    return "spec.limits", Spec(limits=Amounts(tokens=2_000_000))


@pytest.fixture(params=TRANSPORTS)
def client(request: pytest.FixtureRequest):
    return client_for(registry()[KIND], request.param, request)


def _spec(**fields) -> Spec:
    return Spec(**{"limits": Amounts(tokens=10), **fields})


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        (Spec(window=Spec.daily), ["spec.limits"]),
        (Spec(limits=Amounts()), ["spec.limits"]),
        (_spec(limits=Amounts(tokens=-1)), ["spec.limits.tokens"]),
        (_spec(limits=Amounts(dollars="12.5.0")), ["spec.limits.dollars"]),
        (_spec(limits=Amounts(dollars="-3")), ["spec.limits.dollars"]),
        (_spec(limits=Amounts(dollars="0.0000001")), ["spec.limits.dollars"]),
        (_spec(limits=Amounts(cpu="lots")), ["spec.limits.cpu"]),
        (_spec(limits=Amounts(memory="-1Gi")), ["spec.limits.memory"]),
        (_spec(limits=Amounts(gpu="1x")), ["spec.limits.gpu"]),
        (_spec(scope={"label_selector": "team in (a"}), ["spec.scope.labelSelector"]),
        (
            _spec(scope={"label_selector": "team=a", "subjects": [{"kind": "Agent", "name": "a"}]}),
            ["spec.scope"],
        ),
        (_spec(scope={"subjects": [{"kind": "Budget", "name": "a"}]}), ["spec.scope.subjects[0].kind"]),
        (_spec(scope={"subjects": [{"kind": "Agent"}]}), ["spec.scope.subjects[0].name"]),
    ],
)
async def test_each_rule_names_its_field_and_nothing_is_written(client, db, spec, fields):
    budget = sample(unique("ns"))
    budget.spec.CopyFrom(spec)
    error = await refused(
        client.create(budget, key=new_key()), grpc.StatusCode.INVALID_ARGUMENT, 400, "INVALID_ARGUMENT"
    )
    assert error.violations == fields
    assert await db.fetchval("SELECT count(*) FROM budgets WHERE name = $1", budget.name) == 0


@pytest.mark.parametrize(
    ("window", "start"),
    [
        (Spec.daily, lambda now: now.replace(hour=0, minute=0, second=0, microsecond=0)),
        (Spec.monthly, lambda now: now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)),
    ],
)
async def test_a_new_budget_starts_its_window_at_zero(client, window, start):
    budget = sample(unique("ns"))
    budget.spec.window = window
    before = datetime.now(UTC)
    created = (await client.create(budget, key=new_key())).resource
    assert created.status.window_start.ToDatetime(UTC) in (start(before), start(datetime.now(UTC)))
    assert created.status.used == Amounts()


async def test_a_total_window_starts_when_the_budget_is_created(client):
    budget = sample(unique("ns"))
    budget.spec.window = Spec.total
    before = datetime.now(UTC)
    created = (await client.create(budget, key=new_key())).resource
    assert before <= created.status.window_start.ToDatetime(UTC) <= datetime.now(UTC)
