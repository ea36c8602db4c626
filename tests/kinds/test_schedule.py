"""Schedule: its sample for the conformance suite, the rules of its spec, and firing: one run per scheduled
time however often it fires, the concurrency policies, suspend, the starting deadline, a refused target, the
server's own scheduler, and TriggerSchedule over gRPC and REST."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall_clock
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from jangar.v1 import (
    schedule_pb2,
    schedule_pb2_grpc,
    tool_pb2,
    tool_pb2_grpc,
    tool_run_pb2,
    tool_run_pb2_grpc,
)
from jangar.v1.run_phase_pb2 import RunPhase
from tests.builders import key
from tests.support import reason_of, unique, violated_fields

KIND = "Schedule"

Schedule = schedule_pb2.Schedule
Spec = schedule_pb2.ScheduleSpec
Target = schedule_pb2.ScheduleTarget
Phase = schedule_pb2.ScheduleStatus.Phase
Policy = Spec.ConcurrencyPolicy
SCHEDULE_ID_LABEL = "jangar.proompteng.ai/schedule-id"
# Once a year, at midnight UTC on 1 January: the latest scheduled time before any moment of these tests is
# 2026-01-01T00:00Z, so every firing is for that one time, and the server's scheduler never fires on its own.
YEARLY = "0 0 1 1 *"


def tool_target(tool: str = "linter", **labels: str) -> Target:
    return Target(
        kind=Target.ToolRun,
        tool_run=tool_run_pb2.ToolRunSpec(tool_ref={"name": tool}, parameters={"path": "server/"}),
        labels=labels,
    )


def sample(namespace: str, **labels: str) -> Schedule:
    return Schedule(
        name=unique("schedule"),
        namespace=namespace,
        labels=labels,
        spec=Spec(
            cron=YEARLY,
            timezone="Europe/Berlin",
            concurrency_policy=Policy.Forbid,
            starting_deadline_seconds=0,
            target=tool_target(team="search"),
        ),
    )


def changed_spec() -> tuple[str, Spec]:
    return "spec.cron", Spec(cron="30 2 * * 1-5")


@pytest.fixture
def schedules(channel: grpc.aio.Channel) -> schedule_pb2_grpc.ScheduleServiceStub:
    return schedule_pb2_grpc.ScheduleServiceStub(channel)


@pytest.fixture
def tool_runs(channel: grpc.aio.Channel) -> tool_run_pb2_grpc.ToolRunServiceStub:
    return tool_run_pb2_grpc.ToolRunServiceStub(channel)


async def create_tool(channel: grpc.aio.Channel, namespace: str, name: str = "linter") -> None:
    tool = tool_pb2.Tool(name=name, namespace=namespace, spec=tool_pb2.ToolSpec(image="ghcr.io/x/ruff:1"))
    await tool_pb2_grpc.ToolServiceStub(channel).CreateTool(
        tool_pb2.CreateToolRequest(tool=tool), metadata=key()
    )


async def create(
    schedules, channel, *, policy: int = Policy.Allow, tool: bool = True, **spec: Any
) -> Schedule:
    namespace = unique("ns")
    if tool:
        await create_tool(channel, namespace)
    schedule = Schedule(
        name=unique("schedule"),
        namespace=namespace,
        spec=Spec(cron=YEARLY, concurrency_policy=policy, target=tool_target(), **spec),
    )
    return await schedules.CreateSchedule(
        schedule_pb2.CreateScheduleRequest(schedule=schedule), metadata=key()
    )


async def fire(schedules, schedule: Schedule) -> schedule_pb2.ScheduleFiring:
    return await schedules.FireSchedule(schedule_pb2.FireScheduleRequest(id=schedule.id), metadata=key())


async def trigger(schedules, schedule: Schedule) -> schedule_pb2.ScheduleFiring:
    return await schedules.TriggerSchedule(
        schedule_pb2.TriggerScheduleRequest(id=schedule.id), metadata=key()
    )


async def runs_of(tool_runs, schedule: Schedule) -> list[tool_run_pb2.ToolRun]:
    response = await tool_runs.ListToolRuns(
        tool_run_pb2.ListToolRunsRequest(
            namespace=schedule.namespace, label_selector=f"{SCHEDULE_ID_LABEL}={schedule.id}"
        )
    )
    return list(response.tool_runs)


async def wait_for(check: Callable[[], Any], within: float = 20.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {within} s")
        await asyncio.sleep(0.1)


# Validation.


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s.spec.ClearField("cron"), "spec.cron"),
        (lambda s: setattr(s.spec, "cron", "* * * *"), "spec.cron"),
        (lambda s: setattr(s.spec, "cron", "0 0 * * * *"), "spec.cron"),
        (lambda s: setattr(s.spec, "cron", "61 * * * *"), "spec.cron"),
        (lambda s: setattr(s.spec, "cron", "0 0 L * *"), "spec.cron"),
        (lambda s: setattr(s.spec, "cron", "@hourly"), "spec.cron"),
        (lambda s: setattr(s.spec, "timezone", "Mars/Olympus_Mons"), "spec.timezone"),
        (lambda s: setattr(s.spec, "timezone", "../../etc/passwd"), "spec.timezone"),
        (lambda s: setattr(s.spec, "starting_deadline_seconds", -1), "spec.startingDeadlineSeconds"),
        (lambda s: setattr(s.spec, "concurrency_policy", 9), "spec.concurrencyPolicy"),
        (lambda s: s.spec.ClearField("target"), "spec.target.kind"),
        (lambda s: s.spec.target.ClearField("tool_run"), "spec.target.toolRun"),
        (lambda s: setattr(s.spec.target.agent_run.agent_ref, "name", "coder"), "spec.target.agentRun"),
        (lambda s: s.spec.target.tool_run.tool_ref.ClearField("name"), "spec.target.toolRun.toolRef.name"),
        (
            lambda s: setattr(s.spec.target.tool_run.tool_ref, "name", "Not_A_Name"),
            "spec.target.toolRun.toolRef.name",
        ),
        (lambda s: s.spec.target.tool_run.parameters.update({"": "x"}), "spec.target.toolRun.parameters"),
        (lambda s: s.spec.target.labels.update({"jangar.proompteng.ai/schedule": "x"}), "spec.target.labels"),
        (lambda s: s.spec.target.labels.update({"team": "not a value"}), "spec.target.labels"),
    ],
)
async def test_each_spec_rule_names_its_field(schedules, change, field):
    schedule = sample("schedules")
    change(schedule)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await schedules.CreateSchedule(schedule_pb2.CreateScheduleRequest(schedule=schedule), metadata=key())
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = violated_fields(refused.value)
    assert len(fields) == 1 and fields[0].startswith(field), fields


async def test_an_update_is_validated_too_and_changes_nothing(schedules, channel):
    created = await create(schedules, channel)
    patch = Schedule(spec=Spec(cron="not a cron"))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await schedules.UpdateSchedule(
            schedule_pb2.UpdateScheduleRequest(
                id=created.id, schedule=patch, update_mask=FieldMask(paths=["spec.cron"])
            )
        )
    assert violated_fields(refused.value) == ["spec.cron"]
    assert await schedules.GetSchedule(schedule_pb2.GetScheduleRequest(id=created.id)) == created


# Status.


async def test_next_schedule_time_is_computed_in_the_schedules_time_zone(schedules, channel):
    created = await create(schedules, channel, timezone="America/New_York")
    assert created.status.phase == Phase.Active
    assert created.status.executor == "server"
    # Midnight of 1 January in New York is 05:00 UTC (EST).
    assert created.status.next_schedule_time.ToDatetime(UTC) == datetime(2027, 1, 1, 5, tzinfo=UTC)
    assert [(c.type, c.status) for c in created.status.conditions] == [
        ("Accepted", "True"),
        ("Ready", "True"),
    ]


def _next_spring_forward(zone: ZoneInfo, after: datetime) -> date:
    """The next day on which `zone`'s clocks move forward (its UTC offset grows), within a year of `after`."""
    day = after.astimezone(zone).date()
    for _ in range(367):
        day += timedelta(days=1)
        start = datetime.combine(day, wall_clock(0), zone)
        if (start + timedelta(days=1)).utcoffset() > start.utcoffset():  # type: ignore[operator]
            return day
    raise AssertionError(f"{zone} has no daylight saving time")


@pytest.mark.parametrize("transport", ["grpc", "rest"])
async def test_next_schedule_time_of_a_time_the_clocks_skip_is_the_first_minute_after_the_gap(
    schedules, channel, http, transport
):
    # 02:30 on New York's next spring-forward day does not exist (02:00 EST is followed by 03:00 EDT): the
    # time fires at 03:00 EDT, as a CronJob would, and nextScheduleTime says so in UTC.
    zone = ZoneInfo("America/New_York")
    day = _next_spring_forward(zone, datetime.now(UTC))
    expected = datetime.combine(day, wall_clock(3), zone).astimezone(UTC)
    namespace = unique("ns")
    await create_tool(channel, namespace)
    cron = f"30 2 {day.day} {day.month} *"
    if transport == "grpc":
        schedule = Schedule(
            name=unique("schedule"),
            namespace=namespace,
            spec=Spec(cron=cron, timezone=zone.key, target=tool_target()),
        )
        created = await schedules.CreateSchedule(
            schedule_pb2.CreateScheduleRequest(schedule=schedule), metadata=key()
        )
        got = created.status.next_schedule_time.ToDatetime(UTC)
    else:
        body = {
            "name": unique("schedule"),
            "namespace": namespace,
            "spec": {
                "cron": cron,
                "timezone": zone.key,
                "target": {"kind": "ToolRun", "toolRun": {"toolRef": {"name": "linter"}}},
            },
        }
        response = await http.post("/v1/schedules", json=body, headers={"Idempotency-Key": unique("k")})
        assert response.status_code == 200, response.text
        got = datetime.fromisoformat(response.json()["status"]["nextScheduleTime"].replace("Z", "+00:00"))
    assert got == expected


async def test_suspend_stops_scheduled_times_but_not_triggers(schedules, channel, tool_runs):
    created = await create(schedules, channel)
    suspended = await schedules.UpdateSchedule(
        schedule_pb2.UpdateScheduleRequest(
            id=created.id,
            schedule=Schedule(spec=Spec(suspend=True)),
            update_mask=FieldMask(paths=["spec.suspend"]),
        )
    )
    assert suspended.status.phase == Phase.Suspended
    assert not suspended.status.HasField("next_schedule_time")

    skipped = await fire(schedules, suspended)
    assert (skipped.result, skipped.reason, skipped.run_id) == ("Skipped", "Suspended", "")
    assert await runs_of(tool_runs, created) == []

    triggered = await trigger(schedules, suspended)
    assert triggered.result == "RunCreated"
    assert [r.id for r in await runs_of(tool_runs, created)] == [triggered.run_id]
    assert triggered.schedule.status.phase == Phase.Suspended


# One scheduled time, one run.


async def test_firing_twice_for_the_same_time_creates_one_run(schedules, channel, tool_runs, db):
    created = await create(schedules, channel)
    first = await fire(schedules, created)
    second = await fire(schedules, created)

    assert (first.result, first.reason) == ("RunCreated", "Created")
    assert (second.result, second.reason) == ("RunCreated", "AlreadyCreated")
    assert second.run_id == first.run_id
    assert first.scheduled_time.ToDatetime(UTC) == datetime(2026, 1, 1, tzinfo=UTC)
    runs = await runs_of(tool_runs, created)
    assert [r.id for r in runs] == [first.run_id]
    run = runs[0]
    assert run.delivery_id == f"schedule/{created.id}/2026-01-01T00:00:00Z"
    assert run.labels["jangar.proompteng.ai/schedule"] == created.name
    assert run.annotations["schedules.proompteng.ai/scheduled-time"] == "2026-01-01T00:00:00.000000Z"
    got = await schedules.GetSchedule(schedule_pb2.GetScheduleRequest(id=created.id))
    assert got.status.last_run_id == first.run_id
    assert got.status.last_schedule_time.ToDatetime(UTC) == datetime(2026, 1, 1, tzinfo=UTC)
    # The run is created by the scheduler's principal, through the run kind's own create.
    actors = await db.fetch(
        "SELECT actor, event_type FROM audit_events WHERE entity_id = $1", uuid.UUID(first.run_id)
    )
    assert [(a["actor"], a["event_type"]) for a in actors] == [("system:scheduler", "Created")]


async def test_a_late_time_past_the_starting_deadline_is_skipped(schedules, channel, tool_runs):
    created = await create(schedules, channel, starting_deadline_seconds=60)
    skipped = await fire(schedules, created)
    assert (skipped.result, skipped.reason) == ("Skipped", "MissedStartingDeadline")
    assert await runs_of(tool_runs, created) == []
    last = {c.type: c for c in skipped.schedule.status.conditions}["LastFire"]
    assert (last.status, last.reason) == ("False", "MissedStartingDeadline")


# Concurrency policies.


async def test_forbid_skips_while_a_run_is_active_and_records_why(schedules, channel, tool_runs, db):
    created = await create(schedules, channel, policy=Policy.Forbid)
    first = await fire(schedules, created)
    skipped = await trigger(schedules, created)

    assert (skipped.result, skipped.reason, skipped.run_id) == ("Skipped", "ActiveRunForbidden", "")
    assert first.run_name in skipped.message
    assert [r.id for r in await runs_of(tool_runs, created)] == [first.run_id]
    events = await db.fetch(
        "SELECT event_type, payload->>'reason' AS reason FROM audit_events WHERE entity_id = $1 "
        "ORDER BY created_at",
        uuid.UUID(created.id),
    )
    assert [(e["event_type"], e["reason"]) for e in events] == [
        ("Created", None),
        ("Fired", "Created"),
        ("Triggered", "ActiveRunForbidden"),
    ]

    await tool_runs.CancelToolRun(tool_run_pb2.CancelToolRunRequest(id=first.run_id), metadata=key())
    again = await trigger(schedules, created)
    assert again.result == "RunCreated"


async def test_replace_cancels_the_active_run_then_creates(schedules, channel, tool_runs):
    created = await create(schedules, channel, policy=Policy.Replace)
    first = await fire(schedules, created)
    replacing = await trigger(schedules, created)

    assert (replacing.result, replacing.reason) == ("RunCreated", "Replaced")
    assert list(replacing.replaced_run_ids) == [first.run_id]
    runs = {r.id: r for r in await runs_of(tool_runs, created)}
    assert runs[first.run_id].status.phase == RunPhase.Cancelled
    assert runs[replacing.run_id].status.phase == RunPhase.Pending


async def test_allow_creates_a_run_every_time(schedules, channel, tool_runs):
    created = await create(schedules, channel, policy=Policy.Allow)
    ids = {(await trigger(schedules, created)).run_id for _ in range(2)}
    ids.add((await fire(schedules, created)).run_id)
    assert len(ids) == 3
    assert {r.id for r in await runs_of(tool_runs, created)} == ids


# A target the run kind refuses.


async def test_a_refused_run_makes_the_schedule_invalid_until_a_run_is_created(schedules, channel, tool_runs):
    created = await create(schedules, channel, tool=False)
    refused = await fire(schedules, created)
    assert (refused.result, refused.reason) == ("Skipped", "RunRefused")
    assert refused.schedule.status.phase == Phase.Invalid
    assert "linter" in refused.schedule.status.message

    await create_tool(channel, created.namespace)
    recovered = await fire(schedules, created)
    assert (recovered.result, recovered.reason) == ("RunCreated", "Created")
    assert recovered.schedule.status.phase == Phase.Active


# The server's own scheduler.


async def test_the_server_fires_a_due_schedule_once_per_scheduled_time(schedules, channel, tool_runs, db):
    created = await create(schedules, channel)
    created = await schedules.UpdateSchedule(
        schedule_pb2.UpdateScheduleRequest(
            id=created.id,
            schedule=Schedule(spec=Spec(cron="* * * * *")),
            update_mask=FieldMask(paths=["spec.cron"]),
        )
    )
    schedule_id = uuid.UUID(created.id)
    for _ in range(2):
        # Due now rather than at the next minute: what a server that was down for a while finds.
        await db.execute(
            "UPDATE schedule_timers SET next_fire_at = now() - interval '1 second' WHERE schedule_id = $1",
            schedule_id,
        )
        await wait_for(
            lambda: db.fetchval(
                "SELECT next_fire_at > now() FROM schedule_timers WHERE schedule_id = $1", schedule_id
            )
        )
    runs = await runs_of(tool_runs, created)
    times = {r.annotations["schedules.proompteng.ai/scheduled-time"] for r in runs}
    # Each firing is for the latest minute: both rounds may fall in the same one, never two runs for one.
    assert 1 <= len(runs) == len(times) <= 2
    got = await schedules.GetSchedule(schedule_pb2.GetScheduleRequest(id=created.id))
    assert got.status.last_run_id in {r.id for r in runs}
    assert got.status.next_schedule_time.ToDatetime(UTC) > datetime.now(UTC)


# TriggerSchedule over gRPC and REST.


async def test_trigger_over_grpc_replays_for_the_same_key(schedules, channel, tool_runs):
    created = await create(schedules, channel)
    metadata = key()
    request = schedule_pb2.TriggerScheduleRequest(id=created.id)
    first = await schedules.TriggerSchedule(request, metadata=metadata)
    replay = schedules.TriggerSchedule(request, metadata=metadata)
    assert await replay == first
    assert ("idempotent-replayed", "true") in tuple(await replay.initial_metadata())
    assert [r.id for r in await runs_of(tool_runs, created)] == [first.run_id]


async def test_trigger_over_rest(schedules, channel, http, tool_runs):
    created = await create(schedules, channel)
    headers = {"Idempotency-Key": f"rest-{uuid.uuid4()}"}
    path = f"/v1/schedules/{created.name}:trigger?namespace={created.namespace}"
    response = await http.post(path, json={}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"] == "RunCreated" and body["runKind"] == "ToolRun"
    assert body["schedule"]["status"]["lastRunId"] == body["runId"]

    replay = await http.post(path, json={}, headers=headers)
    assert replay.json() == body
    assert replay.headers.get("idempotent-replayed") == "true"

    missing = await http.post(path, json={})
    assert missing.status_code == 400
    assert [r.id for r in await runs_of(tool_runs, created)] == [body["runId"]]


async def test_trigger_of_a_missing_schedule_is_not_found(schedules):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await schedules.TriggerSchedule(
            schedule_pb2.TriggerScheduleRequest(id=str(uuid.uuid4())), metadata=key()
        )
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    assert reason_of(refused.value) == "SCHEDULE_NOT_FOUND"


async def test_fire_over_rest_as_the_cron_jobs_pod_sends_it(schedules, channel, http, tool_runs):
    created = await create(schedules, channel)
    path = f"/v1/schedules/{created.id}:fire"
    job = {"Idempotency-Key": f"{created.name}-29412345", "Content-Type": "application/json"}
    first = await http.post(path, content="{}", headers=job)
    assert first.status_code == 200, first.text
    retried = await http.post(path, content="{}", headers=job)
    other_pod = await http.post(path, content="{}", headers={"Idempotency-Key": f"rest-{uuid.uuid4()}"})
    assert retried.content == first.content and retried.headers.get("idempotent-replayed") == "true"
    assert other_pod.json()["reason"] == "AlreadyCreated"
    assert other_pod.json()["runId"] == first.json()["runId"]
    assert first.json()["scheduledTime"] == "2026-01-01T00:00:00Z"
    assert [r.id for r in await runs_of(tool_runs, created)] == [first.json()["runId"]]


async def test_replace_cancels_nothing_when_the_new_run_is_refused(schedules, channel, tool_runs, db):
    created = await create(schedules, channel, policy=Policy.Replace)
    first = await fire(schedules, created)
    # The target now names a Tool that does not exist: the new run will be refused.
    missing = Schedule(spec=Spec(target=tool_target("gone")))
    await schedules.UpdateSchedule(
        schedule_pb2.UpdateScheduleRequest(
            id=created.id, schedule=missing, update_mask=FieldMask(paths=["spec.target"])
        )
    )
    refused = await trigger(schedules, created)

    assert (refused.result, refused.reason, list(refused.replaced_run_ids)) == ("Skipped", "RunRefused", [])
    runs = await runs_of(tool_runs, created)
    assert [(r.id, r.status.phase) for r in runs] == [(first.run_id, RunPhase.Pending)]
    assert (
        await db.fetchval(
            "SELECT count(*) FROM idempotency_keys WHERE principal = 'system:scheduler' AND key LIKE $1",
            f"schedule/{created.id}/%",
        )
        == 1
    )  # the first run's; the refused one left no claim
