"""The server's side of the reconciler stream, driven over real gRPC as the reconciler drives it: snapshots
of Jobs, Pods and run custom resources, and what each does to its run (docs/reconciler.md). No cluster is
configured for this server, so the outbox entries a run queues stay in the table, where tests read them."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from typing import Any

import grpc
import pytest

from jangar.v1 import (
    agent_pb2,
    agent_pb2_grpc,
    agent_provider_pb2,
    agent_provider_pb2_grpc,
    agent_run_pb2,
    agent_run_pb2_grpc,
    reconciler_pb2,
    reconciler_pb2_grpc,
    run_pb2,
    run_pb2_grpc,
)
from jangar.v1.run_phase_pb2 import RunPhase
from tests import builders

Verdict = reconciler_pb2.SnapshotVerdict
# resourceVersions increase across the whole session, as one API server's do.
_versions = itertools.count(int(time.time() * 1000))
NAMESPACE = "ingest"


def rv() -> str:
    return str(next(_versions))


class Stream:
    """One reconciler session."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._call = reconciler_pb2_grpc.ReconcilerServiceStub(channel).Reconcile()
        self._hello = False
        self._sequence = 0
        self.relists: list[reconciler_pb2.RelistRequest] = []

    async def send(self, *items: reconciler_pb2.SnapshotItem) -> list[int]:
        if not self._hello:
            hello = reconciler_pb2.ReconcilerHello(identity="test")
            await self._call.write(reconciler_pb2.ReconcileRequest(hello=hello))
            self._hello = True
        self._sequence += 1
        batch = reconciler_pb2.SnapshotBatch(sequence=self._sequence, items=list(items))
        await self._call.write(reconciler_pb2.ReconcileRequest(batch=batch))
        while True:
            response = await asyncio.wait_for(self._call.read(), 20)
            if response.WhichOneof("message") == "relist":
                self.relists.append(response.relist)
                continue
            assert response.ack.sequence == self._sequence
            return list(response.ack.verdicts)

    async def close(self) -> None:
        await self._call.done_writing()
        while await self._call.read() is not grpc.aio.EOF:
            pass


def snapshot(
    obj: dict[str, Any], *, deleted: bool = False, version: str | None = None
) -> reconciler_pb2.SnapshotItem:
    metadata = obj["metadata"]
    metadata["resourceVersion"] = version or rv()
    return reconciler_pb2.SnapshotItem(
        object=reconciler_pb2.ObjectSnapshot(
            api_version=obj["apiVersion"],
            kind=obj["kind"],
            namespace=metadata["namespace"],
            name=metadata["name"],
            uid=metadata["uid"],
            resource_version=metadata["resourceVersion"],
            deleted=deleted,
            object=json.dumps(obj).encode(),
        )
    )


def labels(run: Any, attempt: int = 1) -> dict[str, str]:
    return {
        "jangar.proompteng.ai/run-id": run.id,
        "jangar.proompteng.ai/run-kind": "AgentRun",
        "jangar.proompteng.ai/attempt": str(attempt),
        "app.kubernetes.io/managed-by": "jangar",
    }


def job(run: Any, attempt: int = 1, *, uid: str | None = None, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": f"{run.id}-{attempt}",
            "namespace": run.namespace,
            "uid": uid or str(uuid.uuid4()),
            "labels": labels(run, attempt),
        },
        "status": status,
    }


def condition(type_: str, reason: str = "", message: str = "") -> dict[str, str]:
    return {"type": type_, "status": "True", "reason": reason, "message": message}


def pod(run: Any, attempt: int = 1, *, exit_code: int | None = None, message: str = "") -> dict[str, Any]:
    if exit_code is None:
        state: dict[str, Any] = {"running": {"startedAt": "2026-12-01T00:00:00Z"}}
        phase = "Running"
    else:
        state = {"terminated": {"exitCode": exit_code, "message": message, "reason": "Completed"}}
        phase = "Succeeded" if exit_code == 0 else "Failed"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{run.id}-{attempt}-abcde",
            "namespace": run.namespace,
            "uid": str(uuid.uuid4()),
            "labels": {**labels(run, attempt), "job-name": f"{run.id}-{attempt}"},
        },
        "status": {"phase": phase, "containerStatuses": [{"name": "runner", "state": state}]},
    }


@pytest.fixture
async def stream(channel):
    session = Stream(channel)
    yield session
    await session.close()


async def job_run(channel, *, retry_limit: int = 0, name: str = "") -> agent_run_pb2.AgentRun:
    providers = agent_provider_pb2_grpc.AgentProviderServiceStub(channel)
    with_image = builders.provider(builders.unique("provider"), NAMESPACE)
    with_image.spec.workload.image = "ghcr.io/proompteng/runner:1"
    await providers.CreateAgentProvider(
        agent_provider_pb2.CreateAgentProviderRequest(agent_provider=with_image), metadata=builders.key()
    )
    agent = builders.agent(namespace=NAMESPACE)
    agent.spec.provider_ref.name = with_image.name
    agent.spec.defaults.retry_limit = retry_limit
    await builders.create_agent(channel, agent)
    run = builders.agent_run(agent.name, NAMESPACE, name=name)
    return await builders.create_agent_run(agent_run_pb2_grpc.AgentRunServiceStub(channel), run)


async def get(channel, run_id: str) -> run_pb2.Run:
    return await run_pb2_grpc.RunServiceStub(channel).GetRun(run_pb2.GetRunRequest(id=run_id))


async def eventually(channel, run_id: str, phase: int, within: float = 20.0) -> run_pb2.Run:
    deadline = time.monotonic() + within
    while True:
        view = await get(channel, run_id)
        if view.phase == phase or time.monotonic() > deadline:
            assert RunPhase.Name(view.phase) == RunPhase.Name(phase), view
            return view
        await asyncio.sleep(0.1)


async def until(read, expected, within: float = 20.0) -> None:
    """Polls `read()` until it returns `expected`, then asserts it (with the last value on failure)."""
    deadline = time.monotonic() + within
    value = await read()
    while value != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        value = await read()
    assert value == expected


async def outbox(db, run_id: str, operations: tuple[str, ...] = ("start", "stop")) -> list[tuple[str, int]]:
    """The run's outbox entries of `operations` (Job writes; status copies are "status"), oldest first."""
    rows = await db.fetch(
        "SELECT operation, attempt FROM outbox WHERE run_id = $1 AND operation = ANY($2) ORDER BY id",
        uuid.UUID(run_id),
        list(operations),
    )
    return [(r["operation"], r["attempt"]) for r in rows]


async def test_a_job_run_is_accepted_with_its_first_attempt_queued_in_the_same_transaction(channel, db):
    run = await job_run(channel)
    assert run.status.phase == RunPhase.Pending
    assert run.status.attempt == 1
    assert run.status.runtime_ref.type == "job"
    assert run.status.runtime_ref.name == f"{run.id}-1"
    assert run.status.runtime_ref.namespace == NAMESPACE
    # One entry: the start, which also copies the run's status onto the custom resource it writes.
    assert await outbox(db, run.id, ("start", "stop", "status")) == [("start", 1)]
    payload = await db.fetchval(
        "SELECT payload FROM outbox WHERE run_id = $1 AND operation = 'start'", uuid.UUID(run.id)
    )
    assert json.loads(payload)["status_copy"] == {
        "apiVersion": "agents.proompteng.ai/v1alpha1",
        "plural": "agentruns",
        "namespace": NAMESPACE,
        "name": run.name,
    }
    workload = json.loads(payload)["workload"]
    assert workload["image"] == "ghcr.io/proompteng/runner:1"
    assert workload["labels"]["jangar.proompteng.ai/run-id"] == run.id
    assert workload["owner"]["body"]["metadata"]["name"] == run.name


async def test_a_job_run_without_an_image_is_refused(channel):
    providers = agent_provider_pb2_grpc.AgentProviderServiceStub(channel)
    bare = builders.provider(builders.unique("provider"), NAMESPACE)
    await providers.CreateAgentProvider(
        agent_provider_pb2.CreateAgentProviderRequest(agent_provider=bare), metadata=builders.key()
    )
    agent = builders.agent(namespace=NAMESPACE)
    agent.spec.provider_ref.name = bare.name
    await builders.create_agent(channel, agent)
    run = builders.agent_run(agent.name, NAMESPACE)
    run.spec.workload.image = ""
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await builders.create_agent_run(agent_run_pb2_grpc.AgentRunServiceStub(channel), run)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "spec.workload.image" in error.value.details()


async def test_verdicts_tell_new_resent_older_and_foreign_snapshots_apart(channel, stream):
    run = await job_run(channel)
    uid = str(uuid.uuid4())
    first, second = rv(), rv()
    foreign = job(run, uid=str(uuid.uuid4()))
    foreign["metadata"]["labels"] = {"app": "something-else"}
    verdicts = await stream.send(
        snapshot(job(run, uid=uid), version=first),
        snapshot(job(run, uid=uid, active=1), version=second),
        snapshot(job(run, uid=uid), version=first),
        snapshot(job(run, uid=uid, active=1), version=second),
        snapshot(foreign),
    )
    assert verdicts == [
        Verdict.SNAPSHOT_VERDICT_APPLIED,
        Verdict.SNAPSHOT_VERDICT_APPLIED,
        Verdict.SNAPSHOT_VERDICT_STALE,
        Verdict.SNAPSHOT_VERDICT_DUPLICATE,
        Verdict.SNAPSHOT_VERDICT_UNKNOWN,
    ]
    # Across batches too: the server keeps what it has seen.
    assert await stream.send(snapshot(job(run, uid=uid, active=1), version=second)) == [
        Verdict.SNAPSHOT_VERDICT_DUPLICATE
    ]


async def test_an_object_that_is_not_json_is_unknown_and_the_rest_of_the_batch_applies(channel, stream):
    run = await job_run(channel)
    broken = snapshot(job(run))
    broken.object.object = b"{not json"
    listed = snapshot(job(run, active=1))
    assert await stream.send(broken, listed) == [
        Verdict.SNAPSHOT_VERDICT_UNKNOWN,
        Verdict.SNAPSHOT_VERDICT_APPLIED,
    ]
    await eventually(channel, run.id, RunPhase.Running)


async def test_a_batch_over_500_items_is_refused(channel):
    session = Stream(channel)
    item = reconciler_pb2.SnapshotItem(
        list_completed=reconciler_pb2.ListCompleted(api_version="v1", kind="Pod", resource_version="1")
    )
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await session.send(*([item] * 501))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "at most 500" in error.value.details()


async def test_an_active_job_makes_the_run_running_and_the_pods_status_file_decides(channel, stream):
    run = await job_run(channel)
    uid = str(uuid.uuid4())
    await stream.send(snapshot(job(run, uid=uid, active=1)))
    view = await eventually(channel, run.id, RunPhase.Running)
    assert view.history[-1].reason == "Started"
    report = {"status": "succeeded", "usage": {"inputTokens": 120, "outputTokens": 30, "costUsd": 0.01}}
    await stream.send(
        snapshot(pod(run, exit_code=0, message=json.dumps(report))),
        snapshot(job(run, uid=uid, succeeded=1, conditions=[condition("Complete")])),
    )
    done = await eventually(channel, run.id, RunPhase.Succeeded)
    assert done.runner.status == "succeeded"
    assert done.runner.usage.input_tokens == 120


async def test_the_runner_status_wins_over_a_completed_job(channel, stream):
    run = await job_run(channel)
    uid = str(uuid.uuid4())
    await stream.send(
        snapshot(job(run, uid=uid, succeeded=1, conditions=[condition("Complete")])),
        snapshot(pod(run, exit_code=0, message=json.dumps({"status": "failed", "error": "tests failed"}))),
    )
    view = await eventually(channel, run.id, RunPhase.Failed)
    assert view.reason == "RunnerFailed"
    assert view.runner.error == "tests failed"


async def test_a_job_past_its_deadline_ends_the_run_failed_timeout(channel, stream):
    run = await job_run(channel)
    failed = condition("Failed", "DeadlineExceeded", "Job was active longer than specified deadline")
    await stream.send(snapshot(job(run, failed=1, conditions=[failed])))
    view = await eventually(channel, run.id, RunPhase.Failed)
    assert view.reason == "Timeout"


async def test_a_failed_job_with_a_pod_report_fails_with_the_exit_code(channel, stream):
    run = await job_run(channel)
    failed = condition("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    await stream.send(snapshot(pod(run, exit_code=3)), snapshot(job(run, failed=1, conditions=[failed])))
    view = await eventually(channel, run.id, RunPhase.Failed)
    assert view.reason == "ExitCode"
    assert view.runner.exit_code == 3


async def test_a_finished_job_without_a_pod_report_asks_for_a_pod_list_which_decides(channel, stream):
    run = await job_run(channel)
    failed = condition("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    await stream.send(snapshot(job(run, failed=1, conditions=[failed])))
    # The Pod's report may still be on its way: the server waits, and asks for the namespace's Pods.
    assert (await get(channel, run.id)).phase == RunPhase.Pending
    assert [(r.kind, r.namespace) for r in stream.relists] == [("Pod", NAMESPACE)]
    listed = reconciler_pb2.ListCompleted(
        api_version="v1", kind="Pod", namespace=NAMESPACE, resource_version=rv(), names=[]
    )
    await stream.send(reconciler_pb2.SnapshotItem(list_completed=listed))
    view = await eventually(channel, run.id, RunPhase.Failed, within=5)
    assert view.reason == "JobFailed"
    assert "BackoffLimitExceeded" in view.message


async def test_a_pod_list_older_than_the_finished_job_decides_nothing(channel, stream):
    run = await job_run(channel)
    older = rv()
    failed = condition("Failed", "BackoffLimitExceeded", "")
    await stream.send(snapshot(job(run, failed=1, conditions=[failed])))
    stale = reconciler_pb2.ListCompleted(
        api_version="v1", kind="Pod", namespace=NAMESPACE, resource_version=older, names=[]
    )
    await stream.send(reconciler_pb2.SnapshotItem(list_completed=stale))
    assert (await get(channel, run.id)).phase == RunPhase.Pending
    # The Pod's report, which the old list could not have shown, still decides.
    await stream.send(snapshot(pod(run, exit_code=4)))
    view = await eventually(channel, run.id, RunPhase.Failed, within=5)
    assert (view.reason, view.runner.exit_code) == ("ExitCode", 4)


async def test_a_pod_list_with_the_pods_report_decides_with_its_exit_code(channel, stream):
    run = await job_run(channel)
    failed = condition("Failed", "BackoffLimitExceeded", "")
    await stream.send(snapshot(job(run, failed=1, conditions=[failed])))
    reported = pod(run, exit_code=7)
    listed = reconciler_pb2.ListCompleted(
        api_version="v1",
        kind="Pod",
        namespace=NAMESPACE,
        resource_version=rv(),
        names=[f"{NAMESPACE}/{reported['metadata']['name']}"],
    )
    await stream.send(snapshot(reported), reconciler_pb2.SnapshotItem(list_completed=listed))
    view = await eventually(channel, run.id, RunPhase.Failed, within=5)
    assert view.reason == "ExitCode"
    assert view.runner.exit_code == 7


async def _lock_waits(db, count: int, within: float = 20.0) -> None:
    """Until `count` sessions of the database wait for a lock."""
    query = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    deadline = time.monotonic() + within
    while await db.fetchval(query) < count:
        assert time.monotonic() < deadline, f"fewer than {count} sessions wait for a lock"
        await asyncio.sleep(0.05)


async def test_a_pod_list_and_the_pods_report_in_two_sessions_at_once_decide_on_the_report(
    channel, stream, db
):
    # A reconciler that reconnected (to this server or another replica) while its old session's last batch
    # was still being applied: that batch brings the Pod's report, and the new session's Pod list finds the
    # Job undecided. The list must not decide without the report another transaction is writing, and neither
    # batch may fail.
    run = await job_run(channel)
    failed = condition("Failed", "BackoffLimitExceeded", "")
    await stream.send(snapshot(job(run, failed=1, conditions=[failed])))
    old_session = Stream(channel)
    async with db.acquire() as holder:
        # Both batches are held at the run's row, the report's first, while they are half applied.
        hold = holder.transaction()
        await hold.start()
        await holder.execute("SELECT 1 FROM agent_runs WHERE id = $1 FOR UPDATE", uuid.UUID(run.id))
        report = asyncio.create_task(old_session.send(snapshot(pod(run, exit_code=5))))
        await _lock_waits(db, 1)
        listed = reconciler_pb2.ListCompleted(
            api_version="v1", kind="Pod", namespace=NAMESPACE, resource_version=rv(), names=[]
        )
        pod_list = asyncio.create_task(stream.send(reconciler_pb2.SnapshotItem(list_completed=listed)))
        await _lock_waits(db, 2)
        await hold.commit()
    assert await report == [Verdict.SNAPSHOT_VERDICT_APPLIED]
    assert await pod_list == [Verdict.SNAPSHOT_VERDICT_APPLIED]
    view = await eventually(channel, run.id, RunPhase.Failed, within=5)
    assert (view.reason, view.runner.exit_code) == ("ExitCode", 5)
    await old_session.close()


async def test_an_older_state_applied_last_by_a_second_session_does_not_replace_the_newer(
    channel, stream, db
):
    # Two sessions at once, each judging its snapshot of the Pod new: the newer state (the report) commits
    # first, the older (still running) after it. The server keeps the report, and the Job's end is decided
    # on it.
    run = await job_run(channel)
    reported, running = pod(run, exit_code=6), pod(run)
    running["metadata"]["uid"] = reported["metadata"]["uid"]
    older, newer = rv(), rv()
    old_session = Stream(channel)
    async with db.acquire() as holder:
        hold = holder.transaction()
        await hold.start()
        await holder.execute("SELECT 1 FROM agent_runs WHERE id = $1 FOR UPDATE", uuid.UUID(run.id))
        first = asyncio.create_task(stream.send(snapshot(reported, version=newer)))
        await _lock_waits(db, 1)
        second = asyncio.create_task(old_session.send(snapshot(running, version=older)))
        await _lock_waits(db, 2)
        await hold.commit()
    assert await first == [Verdict.SNAPSHOT_VERDICT_APPLIED]
    assert await second == [Verdict.SNAPSHOT_VERDICT_APPLIED]
    stored = "SELECT resource_version FROM cluster_objects WHERE uid = $1"
    assert await db.fetchval(stored, reported["metadata"]["uid"]) == newer
    failed = condition("Failed", "BackoffLimitExceeded", "")
    await stream.send(snapshot(job(run, failed=1, conditions=[failed])))
    view = await eventually(channel, run.id, RunPhase.Failed, within=5)
    assert (view.reason, view.runner.exit_code) == ("ExitCode", 6)
    await old_session.close()


async def test_a_deleted_job_asks_for_a_relist_and_ends_job_missing_once_a_list_confirms(channel, stream):
    run = await job_run(channel)
    gone = job(run, active=1)
    await stream.send(snapshot(gone))
    await eventually(channel, run.id, RunPhase.Running)
    await stream.send(snapshot(gone, deleted=True))
    assert [(r.kind, r.namespace) for r in stream.relists] == [("Job", NAMESPACE)]
    assert (await get(channel, run.id)).phase == RunPhase.Running
    listed = reconciler_pb2.ListCompleted(
        api_version="batch/v1", kind="Job", namespace=NAMESPACE, resource_version=rv(), names=[]
    )
    await stream.send(reconciler_pb2.SnapshotItem(list_completed=listed))
    view = await eventually(channel, run.id, RunPhase.Failed)
    assert view.reason == "JobMissing"


async def test_a_list_that_still_has_the_job_changes_nothing(channel, stream):
    run = await job_run(channel)
    present = job(run, active=1)
    await stream.send(snapshot(present))
    listed = reconciler_pb2.ListCompleted(
        api_version="batch/v1",
        kind="Job",
        namespace=NAMESPACE,
        resource_version=rv(),
        names=[f"{NAMESPACE}/{run.id}-1"],
    )
    await stream.send(reconciler_pb2.SnapshotItem(list_completed=listed))
    assert (await get(channel, run.id)).phase == RunPhase.Running


async def test_a_failed_attempt_with_retries_left_queues_the_next_attempt(channel, stream, db):
    run = await job_run(channel, retry_limit=1)
    failed = condition("Failed", "BackoffLimitExceeded", "")
    await stream.send(snapshot(pod(run, exit_code=1)), snapshot(job(run, failed=1, conditions=[failed])))
    await until(lambda: outbox(db, run.id), [("start", 1), ("start", 2)])
    view = await get(channel, run.id)
    assert view.attempt == 2
    assert view.runtime_ref.name == f"{run.id}-2"
    # News of attempt 1 is stale now.
    await stream.send(snapshot(job(run, 1, succeeded=1, conditions=[condition("Complete")])))
    assert (await get(channel, run.id)).attempt == 2
    await stream.send(
        snapshot(pod(run, 2, exit_code=0)), snapshot(job(run, 2, conditions=[condition("Complete")]))
    )
    await eventually(channel, run.id, RunPhase.Succeeded)


async def test_cancel_queues_the_jobs_deletion_and_a_job_seen_afterwards_is_deleted_again(
    channel, stream, db
):
    run = await job_run(channel)
    stub = agent_run_pb2_grpc.AgentRunServiceStub(channel)
    cancelled = await stub.CancelAgentRun(
        agent_run_pb2.CancelAgentRunRequest(id=run.id, reason="not needed"), metadata=builders.key()
    )
    assert cancelled.status.phase == RunPhase.Cancelled
    assert await outbox(db, run.id) == [("start", 1), ("stop", 1)]
    await db.execute("DELETE FROM outbox WHERE run_id = $1 AND operation = 'stop'", uuid.UUID(run.id))
    # The Job appears anyway (its start was written just before the cancel): it is deleted.
    await stream.send(snapshot(job(run, active=1)))
    assert await outbox(db, run.id) == [("start", 1), ("stop", 1)]
    assert (await get(channel, run.id)).phase == RunPhase.Cancelled


def custom_resource(name: str, agent_name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "agents.proompteng.ai/v1alpha1",
        "kind": "AgentRun",
        "metadata": {"name": name, "namespace": NAMESPACE, "uid": str(uuid.uuid4()), "labels": labels},
        "spec": {
            "agentRef": {"name": agent_name},
            "goal": {"objective": "adopted"},
            "workload": {"image": "ghcr.io/proompteng/runner:1"},
        },
    }


async def test_a_run_created_with_kubectl_is_adopted_with_its_delivery_id(channel, stream, db):
    template = await job_run(channel)
    agent = await agent_pb2_grpc.AgentServiceStub(channel).GetAgent(
        agent_pb2.GetAgentRequest(id=template.spec.agent_ref.name, namespace=NAMESPACE)
    )
    name = builders.unique("adopted")
    resource = custom_resource(name, agent.name, **{"agents.proompteng.ai/delivery-id": f"d-{name}"})
    assert await stream.send(snapshot(resource)) == [Verdict.SNAPSHOT_VERDICT_APPLIED]
    stub = agent_run_pb2_grpc.AgentRunServiceStub(channel)
    adopted = await stub.GetAgentRun(agent_run_pb2.GetAgentRunRequest(id=name, namespace=NAMESPACE))
    assert adopted.delivery_id == f"d-{name}"
    assert adopted.spec.goal.objective == "adopted"
    assert await outbox(db, adopted.id) == [("start", 1)]
    # Sent again (a reconnect): still one run.
    await stream.send(snapshot(resource))
    count = await db.fetchval("SELECT count(*) FROM agent_runs WHERE delivery_id = $1", f"d-{name}")
    assert count == 1


async def test_an_invalid_kubectl_run_gets_an_invalid_spec_condition_through_the_outbox(channel, stream, db):
    name = builders.unique("invalid")
    resource = custom_resource(name, "no-such-agent")
    assert await stream.send(snapshot(resource)) == [Verdict.SNAPSHOT_VERDICT_APPLIED]
    row = await db.fetchrow(
        "SELECT payload FROM outbox WHERE operation = 'status' AND payload->>'name' = $1", name
    )
    status = json.loads(row["payload"])["status"]
    assert status["reason"] == "InvalidSpec"
    assert status["conditions"][0]["reason"] == "InvalidSpec"
    assert "no-such-agent" in status["message"]
    stub = agent_run_pb2_grpc.AgentRunServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.GetAgentRun(agent_run_pb2.GetAgentRunRequest(id=name, namespace=NAMESPACE))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


async def test_artifacts_a_job_runner_reports_are_registered_once_however_often_the_end_arrives(
    channel, stream, db
):
    run = await job_run(channel)
    digest = "sha256:" + "c" * 64
    report = {
        "status": "succeeded",
        "artifacts": [
            {
                "name": "patch",
                "path": "out/changes.patch",
                "uri": "s3://runs/changes.patch",
                "digest": digest,
            },
            {"name": "scratch", "path": "out/scratch.txt"},  # left in the Pod: no URI, not registered
        ],
    }
    uid = str(uuid.uuid4())
    finished = job(run, uid=uid, succeeded=1, conditions=[condition("Complete")])
    await stream.send(snapshot(pod(run, exit_code=0, message=json.dumps(report))), snapshot(finished))
    done = await eventually(channel, run.id, RunPhase.Succeeded)
    # The same end again: another Pod of the attempt reporting, and the Job at a newer version.
    await stream.send(
        snapshot(pod(run, exit_code=0, message=json.dumps(report))), snapshot(dict(finished, status={}))
    )
    await stream.send(snapshot(job(run, uid=uid, succeeded=1, conditions=[condition("Complete")])))

    view = await get(channel, run.id)
    [artifact] = view.artifacts
    assert (artifact.spec.uri, artifact.spec.digest) == ("s3://runs/changes.patch", digest)
    assert (artifact.spec.producer_ref.kind, artifact.spec.producer_ref.id) == ("AgentRun", run.id)
    assert [a.artifact_id for a in done.runner.artifacts] == [artifact.id, ""]
    count = await db.fetchval("SELECT count(*) FROM artifacts WHERE spec->'producerRef'->>'id' = $1", run.id)
    assert count == 1


async def test_two_sessions_changing_two_runs_in_opposite_orders_both_apply(channel, stream, db):
    # Two sessions at once (a reconnect while the old session's batch is applied), each with a batch that
    # changes the same two runs, in opposite orders. Each run's row is locked to change it; taken in the
    # batch's order, session 1 would hold A and wait for B while session 2 held B and waited for A, and
    # Postgres would abort one of them (a deadlock). Both must apply.
    first_run, second_run = await job_run(channel), await job_run(channel)
    old_session = Stream(channel)
    async with db.acquire() as holder:
        # Both sessions are held at their batch's first run until both wait.
        hold = holder.transaction()
        await hold.start()
        await holder.execute(
            "SELECT 1 FROM agent_runs WHERE id = ANY($1::uuid[]) FOR UPDATE",
            [uuid.UUID(first_run.id), uuid.UUID(second_run.id)],
        )
        one = asyncio.create_task(
            old_session.send(snapshot(job(first_run, active=1)), snapshot(job(second_run, active=1)))
        )
        await _lock_waits(db, 1)
        two = asyncio.create_task(
            stream.send(snapshot(job(second_run, active=1)), snapshot(job(first_run, active=1)))
        )
        await _lock_waits(db, 2)
        await hold.commit()
    applied = [Verdict.SNAPSHOT_VERDICT_APPLIED] * 2
    assert (await one, await two) == (applied, applied)
    for run in (first_run, second_run):
        await eventually(channel, run.id, RunPhase.Running, within=5)
    await old_session.close()
