"""Budgets are charged what a run consumed when it reaches its terminal phase, once per budget and run,
whatever delivers that end twice; over the reconciler stream, as a job run's end arrives."""

from __future__ import annotations

import json
import uuid
from datetime import UTC
from decimal import Decimal

from jangar.server.core.kinds import registry
from jangar.v1 import (
    agent_provider_pb2,
    agent_provider_pb2_grpc,
    agent_run_pb2,
    agent_run_pb2_grpc,
    budget_pb2,
)
from jangar.v1.run_phase_pb2 import RunPhase
from tests import builders
from tests.kinds.test_budget import sample
from tests.test_reconciler_ingest import NAMESPACE, condition, eventually, job, job_run, pod, snapshot, stream  # noqa: F401
from tests.transports import GrpcClient, new_key

Amounts = budget_pb2.BudgetAmounts
USAGE = {"status": "succeeded", "usage": {"inputTokens": 1200, "outputTokens": 300, "costUsd": 0.0425}}


async def _budget(channel, namespace: str, **spec) -> budget_pb2.Budget:
    budget = sample(namespace)
    budget.spec.scope.Clear()
    budget.spec.MergeFrom(budget_pb2.BudgetSpec(**spec))
    return (await GrpcClient(registry()["Budget"], channel).create(budget, key=new_key())).resource


async def _current(channel, budget_id: str) -> budget_pb2.Budget:
    return await GrpcClient(registry()["Budget"], channel).get(budget_id)


def _seconds(run: agent_run_pb2.AgentRun) -> Decimal:
    elapsed = run.status.finish_time.ToDatetime(UTC) - run.status.start_time.ToDatetime(UTC)
    return Decimal(str(elapsed.total_seconds()))


def _time(amount: str, seconds: Decimal) -> Decimal:
    return (Decimal(amount) * seconds).quantize(Decimal("0.000001"))


async def _finish(channel, stream, run) -> None:  # noqa: F811
    uid = str(uuid.uuid4())
    await stream.send(snapshot(job(run, uid=uid, active=1)))
    await eventually(channel, run.id, RunPhase.Running)
    report = pod(run, exit_code=0, message=json.dumps(USAGE))
    finished = job(run, uid=uid, succeeded=1, conditions=[condition("Complete")])
    await stream.send(snapshot(report), snapshot(finished))
    await eventually(channel, run.id, RunPhase.Succeeded)
    # The same end, delivered again: resent as it was, and reported anew with later resourceVersions.
    await stream.send(snapshot(report, version=report["metadata"]["resourceVersion"]))
    await stream.send(snapshot(report), snapshot(finished))


async def test_a_finished_run_is_charged_once_to_each_covering_budget(channel, stream, db):  # noqa: F811
    run = await job_run(channel)
    agent = run.spec.agent_ref.name
    by_subject = await _budget(channel, run.namespace, scope={"subjects": [{"kind": "Agent", "name": agent}]})
    by_label = await _budget(channel, run.namespace, scope={"label_selector": f"team={agent}"})
    other_agent = await _budget(
        channel, run.namespace, scope={"subjects": [{"kind": "Agent", "name": "nobody"}]}
    )

    await _finish(channel, stream, run)

    finished = await GrpcClient(registry()["AgentRun"], channel).get(run.id)
    seconds = _seconds(finished)
    charged = await _current(channel, by_subject.id)
    assert charged.status.used.tokens == 1500
    assert charged.status.used.dollars == "0.0425"
    assert Decimal(charged.status.used.cpu) == _time("0.5", seconds)
    assert Decimal(charged.status.used.memory) == _time(str(2**30), seconds)
    assert charged.status.used.gpu == "0"
    assert charged.generation == by_subject.generation  # usage is status, not spec
    # The run carries no `team` label, so the label-scoped budget does not cover it.
    assert (await _current(channel, by_label.id)).status.used == Amounts()
    assert (await _current(channel, other_agent.id)).status.used == Amounts()

    rows = await db.fetch("SELECT budget_id FROM budget_charges WHERE run_id = $1", uuid.UUID(run.id))
    assert [str(r["budget_id"]) for r in rows] == [by_subject.id]
    events = await db.fetch(
        "SELECT payload FROM audit_events WHERE entity_id = $1 AND event_type = 'Charged'",
        uuid.UUID(by_subject.id),
    )
    assert len(events) == 1
    assert json.loads(events[0]["payload"])["runId"] == run.id


async def test_a_spec_change_keeps_the_usage_and_a_new_window_starts_it_at_zero(channel, stream):  # noqa: F811
    run = await job_run(channel)
    budget = await _budget(
        channel,
        run.namespace,
        scope={"subjects": [{"kind": "Agent", "name": run.spec.agent_ref.name}]},
        window=budget_pb2.BudgetSpec.total,  # its window starts at creation, never at a midnight
    )
    await _finish(channel, stream, run)
    client = GrpcClient(registry()["Budget"], channel)
    charged = await client.get(budget.id)
    assert charged.status.used.tokens == 1500

    raised = await client.update(
        budget.id, budget_pb2.Budget(spec=budget_pb2.BudgetSpec(limits=Amounts(tokens=5))), ["spec.limits"]
    )
    assert (raised.generation, raised.status.used) == (2, charged.status.used)
    daily = await client.update(
        budget.id,
        budget_pb2.Budget(spec=budget_pb2.BudgetSpec(window=budget_pb2.BudgetSpec.daily)),
        ["spec.window"],
    )
    assert daily.status.used == Amounts()
    assert daily.status.window_start.ToDatetime(UTC).time().isoformat() == "00:00:00"


async def test_a_run_is_charged_the_resources_its_provider_gave_it(channel, stream, db):  # noqa: F811
    provider = builders.provider(builders.unique("provider"), NAMESPACE)
    provider.spec.workload.image = "ghcr.io/proompteng/runner:1"
    provider.spec.workload.resources.requests.update({"cpu": "2", "memory": "512Mi", "nvidia.com/gpu": "1"})
    provider.spec.workload.resources.limits.update({"memory": "1Gi"})
    await agent_provider_pb2_grpc.AgentProviderServiceStub(channel).CreateAgentProvider(
        agent_provider_pb2.CreateAgentProviderRequest(agent_provider=provider), metadata=builders.key()
    )
    agent = builders.agent(namespace=NAMESPACE)
    agent.spec.provider_ref.name = provider.name
    await builders.create_agent(channel, agent)
    own = builders.agent_run(agent.name, NAMESPACE)
    own.spec.ClearField("workload")  # no resources of its own: the provider's apply
    run = await builders.create_agent_run(agent_run_pb2_grpc.AgentRunServiceStub(channel), own)
    # What the attempt's Job asks for, kept on the run when that attempt is planned.
    assert run.status.requested_resources == provider.spec.workload.resources
    budget = await _budget(
        channel, run.namespace, scope={"subjects": [{"kind": "Agent", "name": agent.name}]}
    )

    await _finish(channel, stream, run)

    finished = await GrpcClient(registry()["AgentRun"], channel).get(run.id)
    assert finished.status.requested_resources == provider.spec.workload.resources
    seconds = _seconds(finished)
    assert seconds > 0
    used = (await _current(channel, budget.id)).status.used
    # Requests, not limits: 512Mi of memory, not 1Gi.
    assert (Decimal(used.cpu), Decimal(used.memory), Decimal(used.gpu)) == (
        _time("2", seconds),
        _time(str(512 * 2**20), seconds),
        _time("1", seconds),
    )
