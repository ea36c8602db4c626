"""What the ingest reads from the Kubernetes objects the reconciler reports (plain JSON, as the API server
serves it), and how a finished Job and its Pod's report become an attempt's outcome (docs/reconciler.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jangar.server.core import custom_resources as cr
from jangar.server.core.cron_jobs import SCHEDULE_ID_LABEL, SCHEDULE_LABEL
from jangar.server.core.runner import Outcome, outcome
from jangar.server.domain.run_lifecycle import Reason
from jangar.v1 import execution_pb2

# The container the Job runtime names in every Job it writes (server/runtime/job_manifests.py).
RUNNER_CONTAINER = "runner"

ACTIVE = "active"
PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"


@dataclass(frozen=True)
class Owner:
    """The attempt an object belongs to, from the labels the Job runtime puts on it."""

    run_kind: str
    run_id: str
    attempt: int


def owner(body: Mapping[str, Any]) -> Owner | None:
    labels = (body.get("metadata") or {}).get("labels") or {}
    run_kind, run_id, attempt = (
        labels.get(cr.RUN_KIND_LABEL),
        labels.get(cr.RUN_ID_LABEL),
        labels.get(cr.ATTEMPT_LABEL),
    )
    if not (run_kind and run_id and attempt and str(attempt).isdigit()):
        return None
    return Owner(str(run_kind), str(run_id), int(attempt))


def job_facts(job: Mapping[str, Any]) -> dict[str, Any]:
    """A Job's state: finished (Complete or Failed, with the Failed condition's reason), active, or
    pending. SuccessCriteriaMet and FailureTarget are not final: the Pods may still be terminating."""
    status = job.get("status") or {}
    true = {c.get("type"): c for c in status.get("conditions") or [] if c.get("status") == "True"}
    if "Complete" in true:
        return {"state": SUCCEEDED}
    if "Failed" in true:
        failed = true["Failed"]
        return {
            "state": FAILED,
            "reason": str(failed.get("reason") or ""),
            "message": str(failed.get("message") or "")[:1024],
        }
    if status.get("active") or status.get("ready"):
        return {"state": ACTIVE}
    return {"state": PENDING}


def pod_facts(pod: Mapping[str, Any]) -> dict[str, Any]:
    """A Pod's runner container: running, or terminated with its exit code and termination message."""
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    container = next((c for c in statuses if c.get("name") == RUNNER_CONTAINER), None)
    facts: dict[str, Any] = {"phase": str(status.get("phase") or "")}
    state = (container or {}).get("state") or {}
    if "terminated" in state:
        terminated = state["terminated"] or {}
        facts["terminated"] = True
        facts["exitCode"] = int(terminated.get("exitCode") or 0)
        facts["message"] = str(terminated.get("message") or "")
        facts["reason"] = str(terminated.get("reason") or "")
    elif "running" in state:
        facts["running"] = True
    return facts


def claim_facts(claim: Mapping[str, Any]) -> dict[str, Any]:
    """A PersistentVolumeClaim's phase and bound volume: what a Workspace follows."""
    return {
        "phase": str((claim.get("status") or {}).get("phase") or ""),
        "volumeName": str((claim.get("spec") or {}).get("volumeName") or ""),
    }


def cron_job_facts(cron_job: Mapping[str, Any]) -> dict[str, Any]:
    """What a Schedule decides of its CronJob (compared by schedules.cron_job_differs), and whose it is."""
    labels = (cron_job.get("metadata") or {}).get("labels") or {}
    spec = cron_job.get("spec") or {}
    pod = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    args = ((pod.get("containers") or [{}])[0] or {}).get("args") or []
    return {
        "scheduleName": str(labels.get(SCHEDULE_LABEL) or ""),
        "scheduleId": str(labels.get(SCHEDULE_ID_LABEL) or ""),
        "schedule": str(spec.get("schedule") or ""),
        "timeZone": str(spec.get("timeZone") or ""),
        "suspend": bool(spec.get("suspend")),
        "startingDeadlineSeconds": int(spec.get("startingDeadlineSeconds") or 0),
        "concurrencyPolicy": str(spec.get("concurrencyPolicy") or ""),
        "fires": str(args[-1]) if args else "",
    }


def job_finished(facts: Mapping[str, Any]) -> bool:
    return facts.get("state") in (SUCCEEDED, FAILED)


def attempt_outcome(job: Mapping[str, Any], pod: Mapping[str, Any] | None) -> tuple[Outcome, bool]:
    """The outcome of a finished Job (facts from job_facts) given its Pod's report, if one arrived; and
    whether a retry may follow. A deadline is a timeout whatever the Pod said; otherwise the runner's
    status file (the termination message) or its exit code decides; without a Pod report, the Job's own
    condition does."""
    reported = pod is not None and pod.get("terminated")
    runner = (
        outcome(int(pod["exitCode"]), str(pod.get("message") or "").encode(), {})  # type: ignore[index]
        if reported
        else None
    )
    if job.get("state") == FAILED and job.get("reason") == Reason.DEADLINE_EXCEEDED:
        message = "the Job ran past its activeDeadlineSeconds and was stopped"
        return Outcome(False, Reason.TIMEOUT, message, _runner(runner)), False
    if runner is not None:
        return runner, True
    if job.get("state") == SUCCEEDED:
        return Outcome(True, Reason.SUCCEEDED, "the Job completed", execution_pb2.RunnerStatus()), True
    detail = job.get("message") or "no Pod reported how it ended"
    message = f"the Job failed ({job.get('reason') or 'unknown reason'}): {detail}"
    return Outcome(False, Reason.JOB_FAILED, message, execution_pb2.RunnerStatus()), True


def _runner(result: Outcome | None) -> execution_pb2.RunnerStatus:
    return result.runner if result is not None else execution_pb2.RunnerStatus()
