"""Schedules on Kubernetes: a server whose KUBECONFIG names the fake API server (tests/fakekube) and that
knows its in-cluster REST address writes each Schedule's CronJob through its outbox, changes it with the
Schedule, deletes it with the Schedule, and never fires the Schedule itself; the CronJob's pod fires it
through FireSchedule, one run per scheduled time however often the pod calls. A reconciler reports the
CronJobs back, so one deleted or edited by hand is written again, and one no Schedule needs is removed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from jangar.server.core.cron_jobs import cron_job_name
from jangar.v1 import (
    schedule_pb2,
    schedule_pb2_grpc,
    tool_pb2,
    tool_pb2_grpc,
    tool_run_pb2,
    tool_run_pb2_grpc,
)
from tests import cluster
from tests.builders import key
from tests.cluster import fake_cluster
from tests.fakekube import FakeKube
from tests.support import ReconcilerProcess, ServerProcess, unique

NAMESPACE = "scheduled"
FIRE_URL = "http://jangar.jangar.svc:8080"
Spec = schedule_pb2.ScheduleSpec


@pytest.fixture(scope="module")
async def kube() -> AsyncIterator[FakeKube]:
    async with fake_cluster(NAMESPACE) as fake:
        yield fake


@pytest.fixture(scope="module")
async def database(own_database) -> str:
    return await own_database("schedule_cron_jobs")


@pytest.fixture(scope="module")
async def cluster_server(kube: FakeKube, database: str, work_dir: Path) -> AsyncIterator[ServerProcess]:
    async with cluster.cluster_server(
        kube, database, work_dir, "schedules", JANGAR_SCHEDULE_FIRE_URL=FIRE_URL
    ) as process:
        yield process


@pytest.fixture(scope="module")
async def reconciler(
    kube: FakeKube, cluster_server: ServerProcess, work_dir: Path
) -> AsyncIterator[ReconcilerProcess]:
    async with cluster.cluster_reconciler(kube, cluster_server, work_dir, "schedules") as process:
        yield process


@pytest.fixture(scope="module")
async def cluster_channel(cluster_server: ServerProcess):
    async with grpc.aio.insecure_channel(cluster_server.address) as channel:
        yield channel


async def create_schedule(channel: grpc.aio.Channel, **spec: object) -> schedule_pb2.Schedule:
    tools = tool_pb2_grpc.ToolServiceStub(channel)
    tool = tool_pb2.Tool(
        name=unique("tool"), namespace=NAMESPACE, spec=tool_pb2.ToolSpec(image="ghcr.io/x/ruff:1")
    )
    await tools.CreateTool(tool_pb2.CreateToolRequest(tool=tool), metadata=key())
    schedule = schedule_pb2.Schedule(
        name=unique("nightly"),
        namespace=NAMESPACE,
        spec=Spec(
            cron="0 3 * * *",
            target=schedule_pb2.ScheduleTarget(
                kind=schedule_pb2.ScheduleTarget.ToolRun,
                tool_run=tool_run_pb2.ToolRunSpec(tool_ref={"name": tool.name}),
            ),
            **spec,
        ),
    )
    stub = schedule_pb2_grpc.ScheduleServiceStub(channel)
    return await stub.CreateSchedule(schedule_pb2.CreateScheduleRequest(schedule=schedule), metadata=key())


def container_of(cron_job: dict) -> dict:
    return cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]


async def test_a_schedule_is_executed_by_its_cron_job(kube, cluster_channel, database):
    created = await create_schedule(cluster_channel, timezone="Europe/Berlin", starting_deadline_seconds=120)
    name = cron_job_name(created.name)
    assert created.status.executor == "cronJob"
    assert (created.status.cron_job.type, created.status.cron_job.name) == ("CronJob", name)

    cron_job = await kube.wait_for(lambda: kube.get("cronjobs", name, NAMESPACE))
    spec = cron_job["spec"]
    assert (spec["schedule"], spec["timeZone"], spec["suspend"]) == ("0 3 * * *", "Europe/Berlin", False)
    assert spec["startingDeadlineSeconds"] == 120
    # Jangar applies the Schedule's concurrency policy when it is fired; the pods only knock.
    assert spec["concurrencyPolicy"] == "Allow"
    assert cron_job["metadata"]["labels"]["jangar.proompteng.ai/schedule-id"] == created.id
    container = container_of(cron_job)
    assert container["args"][-1] == f"{FIRE_URL}/v1/schedules/{created.id}:fire"
    assert "Idempotency-Key: $(JOB_NAME)" in container["args"]
    assert container["env"][0]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.labels['batch.kubernetes.io/job-name']"
    )

    # The server does not fire a Schedule its CronJob executes.
    connection = await asyncpg.connect(database.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        timer = await connection.fetchval(
            "SELECT next_fire_at FROM schedule_timers WHERE schedule_id = $1", uuid.UUID(created.id)
        )
    finally:
        await connection.close()
    assert timer is None


async def test_the_cron_jobs_pod_fires_one_run_per_scheduled_time(kube, cluster_channel):
    created = await create_schedule(cluster_channel)
    schedules = schedule_pb2_grpc.ScheduleServiceStub(cluster_channel)
    request = schedule_pb2.FireScheduleRequest(id=created.id)
    # What the pod sends: its Job's name, the same for every retried pod of that Job.
    job = [("idempotency-key", f"{cron_job_name(created.name)}-29412345")]
    first = await schedules.FireSchedule(request, metadata=job)
    retried = schedules.FireSchedule(request, metadata=job)
    assert await retried == first
    assert ("idempotent-replayed", "true") in tuple(await retried.initial_metadata())
    # Another pod for the same scheduled time (a duplicate Job) finds the run that time created.
    duplicate = await schedules.FireSchedule(request, metadata=key())
    assert first.result == "RunCreated" and first.run_id
    assert (duplicate.reason, duplicate.run_id) == ("AlreadyCreated", first.run_id)

    runs = await tool_run_pb2_grpc.ToolRunServiceStub(cluster_channel).ListToolRuns(
        tool_run_pb2.ListToolRunsRequest(
            namespace=NAMESPACE, label_selector=f"jangar.proompteng.ai/schedule-id={created.id}"
        )
    )
    assert [r.id for r in runs.tool_runs] == [first.run_id]


async def test_update_and_suspend_change_the_cron_job_and_delete_removes_it(kube, cluster_channel):
    created = await create_schedule(cluster_channel, timezone="Europe/Berlin")
    name = cron_job_name(created.name)
    await kube.wait_for(lambda: kube.get("cronjobs", name, NAMESPACE))
    schedules = schedule_pb2_grpc.ScheduleServiceStub(cluster_channel)

    patch = schedule_pb2.Schedule(spec=Spec(cron="*/10 * * * *", suspend=True))
    updated = await schedules.UpdateSchedule(
        schedule_pb2.UpdateScheduleRequest(
            id=created.id,
            schedule=patch,
            update_mask=FieldMask(paths=["spec.cron", "spec.suspend", "spec.timezone"]),
            etag=created.etag,
        )
    )
    assert updated.status.phase == schedule_pb2.ScheduleStatus.Suspended

    def changed() -> dict | None:
        found = kube.get("cronjobs", name, NAMESPACE)
        return found if found and found["spec"]["suspend"] else None

    spec = (await kube.wait_for(changed))["spec"]
    assert spec["schedule"] == "*/10 * * * *"
    assert "timeZone" not in spec  # removed with the Schedule's time zone

    await schedules.DeleteSchedule(schedule_pb2.DeleteScheduleRequest(id=created.id, etag=updated.etag))
    await kube.wait_for(lambda: kube.get("cronjobs", name, NAMESPACE) is None)


async def test_a_cron_job_deleted_or_edited_by_hand_is_written_again(kube, reconciler, cluster_channel):
    created = await create_schedule(cluster_channel, timezone="Europe/Berlin")
    name = cron_job_name(created.name)
    first = await kube.wait_for(lambda: kube.get("cronjobs", name, NAMESPACE))

    kube.store.delete(kube.resource("cronjobs"), NAMESPACE, name)
    again = await kube.wait_for(
        lambda: (
            (found := kube.get("cronjobs", name, NAMESPACE))
            and found["metadata"]["uid"] != first["metadata"]["uid"]
            and found
        ),
        within=20,
    )
    assert (again["spec"]["schedule"], again["spec"]["timeZone"]) == ("0 3 * * *", "Europe/Berlin")
    assert container_of(again)["args"][-1] == f"{FIRE_URL}/v1/schedules/{created.id}:fire"

    # kubectl edit: another schedule, suspended, its time zone dropped.
    kube.merge_patch(
        "cronjobs", name, {"spec": {"schedule": "* * * * *", "suspend": True, "timeZone": None}}, NAMESPACE
    )

    def restored() -> dict | None:
        found = kube.get("cronjobs", name, NAMESPACE)
        spec = (found or {}).get("spec") or {}
        wanted = (spec.get("schedule"), spec.get("suspend"), spec.get("timeZone"))
        return found if wanted == ("0 3 * * *", False, "Europe/Berlin") else None

    await kube.wait_for(restored, within=20)


async def test_a_cron_job_no_schedule_needs_is_removed(kube, reconciler, cluster_channel):
    # A CronJob left behind by a Schedule that is gone (deleted while no server wrote CronJobs, say): the
    # one a live Schedule wrote, relabelled as a deleted Schedule's.
    live = await create_schedule(cluster_channel)
    template = await kube.wait_for(lambda: kube.get("cronjobs", cron_job_name(live.name), NAMESPACE))
    gone = unique("gone")
    labels = {
        **template["metadata"]["labels"],
        "jangar.proompteng.ai/schedule": gone,
        "jangar.proompteng.ai/schedule-id": str(uuid.uuid4()),
    }
    kube.create(
        "cronjobs",
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": cron_job_name(gone), "labels": labels},
            "spec": template["spec"],
        },
        NAMESPACE,
    )
    # One without Jangar's label is nobody's business.
    kube.create(
        "cronjobs",
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "someone-elses", "labels": {"jangar.proompteng.ai/schedule": gone}},
            "spec": template["spec"],
        },
        NAMESPACE,
    )
    await kube.wait_for(lambda: kube.get("cronjobs", cron_job_name(gone), NAMESPACE) is None, within=20)
    assert kube.get("cronjobs", "someone-elses", NAMESPACE) is not None
    assert kube.get("cronjobs", cron_job_name(live.name), NAMESPACE) is not None
