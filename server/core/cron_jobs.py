"""The Kubernetes CronJob that executes a Schedule on a cluster: its deterministic name, what the domain
asks of it (CronJobSpec), and the port the outbox worker writes it through (runtime/cron_jobs.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from jangar.server.core.custom_resources import LABEL_PREFIX

# Kubernetes refuses longer CronJob names: the controller appends an 11-character suffix to name each Job.
MAX_NAME = 52
SCHEDULE_LABEL = LABEL_PREFIX + "schedule"
SCHEDULE_ID_LABEL = LABEL_PREFIX + "schedule-id"
CRON_JOB_API = ("batch/v1", "CronJob")
# The CronJob's own concurrency policy: its pods only ask Jangar to fire, and Jangar applies the Schedule's.
ALLOW = "Allow"


def cron_job_name(schedule_name: str) -> str:
    """Unique per Schedule name in its namespace, and the same on every replica and every retry: the
    name's first 43 characters and 8 hex digits of its hash (a Schedule name may be 63 characters long)."""
    digest = hashlib.sha256(schedule_name.encode()).hexdigest()[:8]
    return f"{schedule_name[: MAX_NAME - 9]}-{digest}"


def fire_path(schedule_id: str) -> str:
    """The REST path a Schedule's CronJob pod POSTs to (after Jangar's address)."""
    return f"/v1/schedules/{schedule_id}:fire"


@dataclass(frozen=True)
class CronJobSpec:
    """A Schedule as its CronJob needs it."""

    namespace: str
    name: str
    schedule_id: str
    schedule_name: str
    cron: str
    timezone: str
    suspend: bool
    starting_deadline_seconds: int
    labels: Mapping[str, str] = field(default_factory=dict)


class CronJobs(Protocol):
    """Writes CronJobs; both calls are idempotent, and raise RuntimeUnavailable (retry later) or StartFailed
    (the cluster refuses the object)."""

    async def apply(self, spec: CronJobSpec) -> None:
        """Creates the CronJob, or brings an existing one in line with `spec`."""
        ...

    async def delete(self, namespace: str, name: str) -> None:
        """Deletes the CronJob (and its Jobs); one already gone is deleted."""
        ...
