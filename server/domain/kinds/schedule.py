"""Schedule: the rules of its spec (a cron expression and time zone cronsim accepts, the target's run spec
checked by the target kind's own rules) and the status a newly accepted or changed Schedule gets."""

from __future__ import annotations

from jangar.server.core import cron
from jangar.server.core.custom_resources import LABEL_PREFIX
from jangar.server.core.timestamps import set_timestamp
from jangar.server.domain import common
from jangar.server.domain.kinds import KindRules, rules_for
from jangar.server.domain.validation import MAX_SECONDS, Violations
from jangar.v1 import schedule_pb2

KIND = "Schedule"

Target = schedule_pb2.ScheduleTarget
Phase = schedule_pb2.ScheduleStatus.Phase
Policy = schedule_pb2.ScheduleSpec.ConcurrencyPolicy

# The run kind of each target kind, and the target's field that holds its spec (also the field of the run
# kind's Create request that carries the run).
TARGET_FIELDS: dict[int, tuple[str, str]] = {
    Target.AgentRun: ("AgentRun", "agent_run"),
    Target.ToolRun: ("ToolRun", "tool_run"),
    Target.OrchestrationRun: ("OrchestrationRun", "orchestration_run"),
}
_JSON_NAMES = {"agent_run": "agentRun", "tool_run": "toolRun", "orchestration_run": "orchestrationRun"}


def _rebased(inner: Violations, old: str, new: str, v: Violations) -> None:
    """Another kind's violations (`spec.agentRef`), at their place in the Schedule
    (`spec.target.agentRun.agentRef`)."""
    for item in inner.items:
        v.add(new + item.field.removeprefix(old), item.description)


def _validate_target(target: schedule_pb2.ScheduleTarget, v: Violations) -> None:
    if target.kind == Target.KIND_UNSPECIFIED:
        return  # REQUIRED reports it, with the values it accepts
    if target.kind not in TARGET_FIELDS:
        v.add("spec.target.kind", "must be one of " + ", ".join(Target.Kind.Name(k) for k in TARGET_FIELDS))
        return
    run_kind, wanted = TARGET_FIELDS[target.kind]
    for _, field in TARGET_FIELDS.values():
        path = f"spec.target.{_JSON_NAMES[field]}"
        if field != wanted and target.HasField(field):
            v.add(path, f"must not be set when spec.target.kind is {run_kind}")
    path = f"spec.target.{_JSON_NAMES[wanted]}"
    if not target.HasField(wanted):
        v.add(path, f"is required when spec.target.kind is {run_kind}: the spec of the {run_kind} to create")
        return
    inner = Violations()
    rules_for(run_kind).validate_spec(getattr(target, wanted), inner)
    _rebased(inner, "spec", path, v)
    labels = Violations()
    labels.metadata(target.labels, {})
    _rebased(labels, "labels", "spec.target.labels", v)
    for key in target.labels:
        if key.startswith(LABEL_PREFIX):
            v.add(f"spec.target.labels[{key!r}]", f"keys under {LABEL_PREFIX} are set by Jangar")


def validate_spec(spec: schedule_pb2.ScheduleSpec, v: Violations) -> None:
    if spec.cron:
        v.extend("spec.cron", cron.expression_problems(spec.cron))
    if spec.timezone:
        v.extend("spec.timezone", cron.timezone_problems(spec.timezone))
    if spec.concurrency_policy not in Policy.values():
        v.add("spec.concurrencyPolicy", "must be one of Allow, Forbid, Replace")
    if not 0 <= spec.starting_deadline_seconds <= MAX_SECONDS:
        v.add("spec.startingDeadlineSeconds", f"must be between 0 and {MAX_SECONDS}")
    _validate_target(spec.target, v)


def initial_status(schedule: schedule_pb2.Schedule) -> None:
    """Accepted, and Active or Suspended with the next scheduled time from now. What the Schedule has done
    (last times, last run, the LastFire condition) stays."""
    status = schedule.status
    last_fire = [c for c in status.conditions if c.type == "LastFire"]
    common.accepted_status(schedule)
    status.ClearField("next_schedule_time")
    if schedule.spec.suspend:
        status.phase = Phase.Suspended
        status.reason, status.message = "Suspended", "spec.suspend is set: scheduled times create no runs"
        ready = common.condition("Ready", "False", "Suspended", status.message, schedule.generation)
    else:
        status.phase = Phase.Active
        status.reason, status.message = "Scheduled", "scheduled times create runs"
        upcoming = cron.next_after(schedule.spec.cron, schedule.spec.timezone, common.utcnow())
        if upcoming is not None:
            set_timestamp(status.next_schedule_time, upcoming)
        ready = common.condition("Ready", "True", "Scheduled", status.message, schedule.generation)
    status.conditions.extend([ready, *last_fire])


RULES = KindRules(validate_spec=validate_spec, initial_status=initial_status)
