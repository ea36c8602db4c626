"""The ingest's reading of a CronJob (cluster_facts.cron_job_facts) agrees with what the outbox worker writes
(runtime/cron_jobs.manifest): a CronJob as Jangar wrote it never looks edited, or every report of it would
queue another write; and each field a Schedule decides, changed by hand, does look edited."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from jangar.server.domain.cluster_facts import cron_job_facts
from jangar.server.domain.schedules import cron_job_differs, cron_job_spec
from jangar.server.runtime.cron_jobs import manifest
from jangar.v1 import schedule_pb2


def schedule(**spec: Any) -> schedule_pb2.Schedule:
    return schedule_pb2.Schedule(
        id="8a3c52a8-2b1a-4f0e-9a36-0d1f5c8e7b21",
        name="nightly",
        namespace="team-a",
        spec=schedule_pb2.ScheduleSpec(cron="0 3 * * *", **spec),
    )


def written(of: schedule_pb2.Schedule) -> dict[str, Any]:
    """The CronJob as created: the nulls of the merge patch are not stored."""
    body = manifest(cron_job_spec(of), "http://jangar.jangar.svc:8080", "curlimages/curl:8.11.1")
    body["spec"] = {k: v for k, v in body["spec"].items() if v is not None}
    return body


@pytest.mark.parametrize(
    "spec", [{}, {"timezone": "Europe/Berlin", "starting_deadline_seconds": 120}, {"suspend": True}]
)
def test_a_cron_job_as_written_matches_its_schedule(spec):
    wanted = schedule(**spec)
    assert not cron_job_differs(wanted, cron_job_facts(written(wanted)))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("schedule", "* * * * *"),
        ("timeZone", "Asia/Tokyo"),
        ("suspend", True),
        ("startingDeadlineSeconds", 5),
        ("concurrencyPolicy", "Forbid"),
    ],
)
def test_a_field_the_schedule_decides_edited_by_hand_differs(field, value):
    wanted = schedule()
    edited = copy.deepcopy(written(wanted))
    edited["spec"][field] = value
    assert cron_job_differs(wanted, cron_job_facts(edited))


def test_a_cron_job_that_fires_another_schedule_or_belongs_to_another_differs():
    wanted = schedule()
    retargeted = written(wanted)
    container = retargeted["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    container["args"][-1] = "http://jangar.jangar.svc:8080/v1/schedules/other:fire"
    assert cron_job_differs(wanted, cron_job_facts(retargeted))
    relabelled = written(wanted)
    relabelled["metadata"]["labels"]["jangar.proompteng.ai/schedule-id"] = "another"
    assert cron_job_differs(wanted, cron_job_facts(relabelled))
