"""Schedule execution: what a write of a Schedule sets up (the server's timer, or the CronJob through the
outbox), and firing, which creates the target's run through the run kind's own use cases.

Whoever fires (the server's scheduler, a CronJob's pod through FireSchedule, a caller through
TriggerSchedule), a firing holds the Schedule's row lock and creates its run with an idempotency key derived
from (Schedule id, scheduled time), which also becomes the run's deliveryId: a second firing for the same
time finds that run and creates nothing, and concurrent ones wait for each other on the lock.

    server executor:  schedule_timers.next_fire_at <= now --claim (SKIP LOCKED)--> fire latest time <= now
    cronJob executor: the CronJob's pod --FireSchedule--> fire latest time <= now (no server timer)
    fire: Suspended / past startingDeadlineSeconds / Forbid with an active run -> Skipped (status, audit)
          otherwise Replace cancels the active runs, then the run is created (refused: phase Invalid)
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.message import Message

from jangar.server.core import cron
from jangar.server.core.context import RequestContext
from jangar.server.core.cron_jobs import (
    ALLOW,
    SCHEDULE_ID_LABEL,
    SCHEDULE_LABEL,
    CronJobSpec,
    cron_job_name,
    fire_path,
)
from jangar.server.core.errors import Code, DomainError, ServiceUnavailable
from jangar.server.core.kinds import Verb, registry
from jangar.server.core.pages import Page
from jangar.server.core.query import ListQuery, Ref
from jangar.server.core.selectors import parse_selector
from jangar.server.core.timestamps import set_timestamp
from jangar.server.domain import common, run_lifecycle
from jangar.server.domain.definitions import WriteHooks
from jangar.server.domain.execution import RunExecution
from jangar.server.domain.idempotency import Outcome, idempotent
from jangar.server.domain.kinds.schedule import TARGET_FIELDS, Phase, Policy
from jangar.server.domain.runs import RunUseCases
from jangar.server.repository import outbox, rows, schedule_timers
from jangar.server.repository.database import Database, Tx, savepoint, unavailable
from jangar.server.repository.mapping import STORED
from jangar.v1 import common_pb2, schedule_pb2
from jangar.v1.run_phase_pb2 import RunPhase

log = logging.getLogger("jangar.server.schedules")

SERVER, CRON_JOB = "server", "cronJob"
# The scheduler's identity: the principal of the runs it creates and of its audit events.
SCHEDULER = RequestContext(request_id="", method="jangar.server/Scheduler", principal="system:scheduler")
SCHEDULED_TIME_ANNOTATION = "schedules.proompteng.ai/scheduled-time"
# The outbox operation that brings a Schedule's CronJob in line with the Schedule as it is then.
CRON_JOB_OPERATION = "cronjob"
BATCH = 32
# Runs cancelled at most per firing under `Replace`, and shown under `Forbid`.
_ACTIVE_SHOWN = 50
# A Schedule whose firing failed unexpectedly (a bug) waits this long, so it cannot hold up the others.
_FAILED_FIRING_DELAY = timedelta(minutes=1)
_STORED = STORED["Schedule"]
CREATED, SKIPPED = "RunCreated", "Skipped"


def _stamp(moment: datetime, *, precise: bool) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if precise else "%Y-%m-%dT%H:%M:%SZ")


def run_key(schedule_id: str, scheduled: datetime, *, precise: bool = False) -> str:
    """The idempotency key, and deliveryId, of the run a Schedule creates for `scheduled`."""
    return f"schedule/{schedule_id}/{_stamp(scheduled, precise=precise)}"


@dataclass
class _Result:
    result: str
    reason: str
    message: str
    run: Any = None
    replaced: list[str] = field(default_factory=list)


class Scheduler(WriteHooks):
    """Fires Schedules; also the write hooks of the Schedule kind."""

    def __init__(
        self,
        database: Database,
        runs: Mapping[str, RunUseCases],
        execution: RunExecution,
        *,
        cron_jobs: bool = False,
    ) -> None:
        self._database = database
        self._runs = runs
        self._execution = execution
        # Whether a Kubernetes CronJob executes each Schedule (a server with a cluster and a fire URL), or
        # this server's own scheduler does.
        self.executor = CRON_JOB if cron_jobs else SERVER

    # Write hooks.

    def prepare(self, schedule: schedule_pb2.Schedule) -> None:
        schedule.status.executor = self.executor
        if self.executor == CRON_JOB:
            schedule.status.cron_job.CopyFrom(
                common_pb2.RuntimeRef(
                    type="CronJob", name=cron_job_name(schedule.name), namespace=schedule.namespace
                )
            )
        else:
            schedule.status.ClearField("cron_job")

    async def saved(self, db: Tx, schedule: schedule_pb2.Schedule) -> None:
        await schedule_timers.set_next(db, schedule.id, self._timer(schedule))
        await self._queue_cron_job(db, schedule)

    async def deleted(self, db: Tx, schedule: schedule_pb2.Schedule) -> None:
        # The timer row goes with the Schedule's (ON DELETE CASCADE).
        await self._queue_cron_job(db, schedule)

    def _timer(self, schedule: schedule_pb2.Schedule) -> datetime | None:
        if (
            self.executor != SERVER
            or schedule.spec.suspend
            or not schedule.status.HasField("next_schedule_time")
        ):
            return None
        return schedule.status.next_schedule_time.ToDatetime(UTC)

    async def _queue_cron_job(self, db: Tx, schedule: schedule_pb2.Schedule) -> None:
        if self.executor != CRON_JOB:
            return
        await _queue_convergence(
            db,
            schedule.namespace,
            schedule.name,
            cron_job_name(schedule.name),
            schedule.id,
            schedule.generation,
        )

    async def cron_jobs_listed(self, db: Tx, namespace: str, listed: set[str]) -> None:
        """A list of the managed CronJobs of a namespace ("": all): a Schedule whose CronJob is missing from
        it (deleted while no reconciler watched) gets a convergence entry, which writes it again."""
        if self.executor != CRON_JOB:
            return
        for schedule in await rows.in_namespace(db, _STORED, namespace):
            if f"{schedule.namespace}/{cron_job_name(schedule.name)}" not in listed:
                await self._queue_cron_job(db, schedule)

    async def cron_job_reported(
        self, db: Tx, namespace: str, name: str, facts: Mapping[str, Any], deleted: bool
    ) -> bool:
        """A snapshot of a CronJob Jangar manages (facts from cluster_facts.cron_job_facts): one deleted or
        edited by hand, or one no Schedule needs any more, gets a convergence entry, which writes it as its
        Schedule is or deletes it. False when it is no Schedule's CronJob, or when this server does not
        execute Schedules with CronJobs (another configuration's objects are left alone)."""
        schedule_name = str(facts.get("scheduleName") or "")
        if self.executor != CRON_JOB or not schedule_name:
            return False
        schedule = await rows.find(db, _STORED, Ref(namespace=namespace, name=schedule_name))
        if schedule is not None and cron_job_name(schedule.name) == name:
            if not deleted and not cron_job_differs(schedule, facts):
                return True
            await _queue_convergence(db, namespace, schedule_name, name, schedule.id, schedule.generation)
        elif not deleted:
            # No Schedule to name the entry after: an id of its own, stable for the CronJob.
            entry_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"cronjob/{namespace}/{name}"))
            await _queue_convergence(db, namespace, schedule_name, name, entry_id, 0)
        return True

    # Firing.

    async def tick(self) -> int:
        """The server executor: fires up to BATCH due Schedules, each in its own transaction."""
        fired = 0
        while fired < BATCH:
            async with self._database.transaction() as db:
                schedule_id = await schedule_timers.claim_due(db, common.utcnow())
                if schedule_id is None:
                    return fired
                try:
                    async with savepoint(db):
                        schedule = await rows.find(db, _STORED, Ref(id=schedule_id))
                        assert schedule is not None, "a timer outlived its Schedule"
                        await self._fire_scheduled(db, SCHEDULER, schedule, common.utcnow())
                except DomainError as error:
                    if error.code == Code.UNAVAILABLE:
                        raise
                    log.error("Schedule %s could not fire: %s", schedule_id, error.message)
                    await self._postpone(db, schedule_id)
                except Exception as error:
                    if isinstance(error, ServiceUnavailable) or unavailable(error):
                        raise  # the database: the round ends, and the Schedule stays due
                    log.exception("Schedule %s could not fire", schedule_id)
                    await self._postpone(db, schedule_id)
            fired += 1
        return fired

    async def _postpone(self, db: Tx, schedule_id: uuid.UUID) -> None:
        await schedule_timers.set_next(db, str(schedule_id), common.utcnow() + _FAILED_FIRING_DELAY)

    async def trigger(
        self, context: RequestContext, request: Message, id_or_name: str, namespace: str
    ) -> Outcome:
        """One run now, under the caller's own idempotency key."""

        async def now(db: Tx, schedule: schedule_pb2.Schedule) -> schedule_pb2.ScheduleFiring:
            moment = common.utcnow()
            result = await self._fire(
                db, context, schedule, moment, run_key(schedule.id, moment, precise=True)
            )
            return await self._record(db, context, schedule, moment, result, scheduled=False)

        return await self._firing(context, request, id_or_name, namespace, now)

    async def fire(
        self, context: RequestContext, request: Message, id_or_name: str, namespace: str
    ) -> Outcome:
        """The latest scheduled time at or before now (what a CronJob's pod asks for)."""

        async def latest(db: Tx, schedule: schedule_pb2.Schedule) -> schedule_pb2.ScheduleFiring:
            return await self._fire_scheduled(db, context, schedule, common.utcnow())

        return await self._firing(context, request, id_or_name, namespace, latest)

    async def _firing(
        self,
        context: RequestContext,
        request: Message,
        id_or_name: str,
        namespace: str,
        firing: Callable[[Tx, schedule_pb2.Schedule], Awaitable[schedule_pb2.ScheduleFiring]],
    ) -> Outcome:
        """A firing requested by a call: idempotent under the caller's key, with the Schedule locked."""
        common.resolve_ref(id_or_name, namespace)  # a bad id fails before a key is claimed

        async def work(db: Tx) -> tuple[Message, str]:
            schedule = await common.load(db, _STORED, id_or_name, namespace, for_update=True)
            return await firing(db, schedule), schedule.id

        return await idempotent(self._database, context, context.method, request, work)

    async def _fire_scheduled(
        self, db: Tx, context: RequestContext, schedule: schedule_pb2.Schedule, now: datetime
    ) -> schedule_pb2.ScheduleFiring:
        spec = schedule.spec
        scheduled = cron.latest_at_or_before(spec.cron, spec.timezone, now)
        deadline = spec.starting_deadline_seconds
        if scheduled is None:
            result = _Result(SKIPPED, "NoScheduledTime", "the cron expression has no time before now")
            scheduled = now
        elif spec.suspend:
            result = _Result(SKIPPED, "Suspended", "spec.suspend is set")
        elif deadline and (now - scheduled).total_seconds() > deadline:
            result = _Result(
                SKIPPED,
                "MissedStartingDeadline",
                f"{_stamp(scheduled, precise=False)} could not fire within startingDeadlineSeconds "
                f"({deadline} s)",
            )
        else:
            result = await self._fire(db, context, schedule, scheduled, run_key(schedule.id, scheduled))
        return await self._record(db, context, schedule, scheduled, result, scheduled=True)

    async def _fire(
        self, db: Tx, context: RequestContext, schedule: schedule_pb2.Schedule, scheduled: datetime, key: str
    ) -> _Result:
        target = schedule.spec.target
        run_kind, spec_field = TARGET_FIELDS[target.kind]
        stored = STORED[run_kind]
        existing = await rows.find_id(db, stored, "delivery_id", key)
        if existing is not None:
            run = await rows.find(db, stored, Ref(id=existing))
            return _Result(CREATED, "AlreadyCreated", f"{run_kind} {run.name} was created for this time", run)
        active = await self._active_runs(db, run_kind, schedule)
        policy = schedule.spec.concurrency_policy
        if active and policy == Policy.Forbid:
            names = ", ".join(f"{r.name} ({RunPhase.Name(r.status.phase)})" for r in active[:5])
            return _Result(
                SKIPPED, "ActiveRunForbidden", f"concurrencyPolicy is Forbid and {names} is active"
            )
        kind = registry()[run_kind]
        run = kind.message_class(
            namespace=schedule.namespace,
            labels={**target.labels, SCHEDULE_LABEL: schedule.name, SCHEDULE_ID_LABEL: schedule.id},
            annotations={SCHEDULED_TIME_ANNOTATION: _stamp(scheduled, precise=True)},
        )
        run.spec.CopyFrom(getattr(target, spec_field))
        create = kind.method(Verb.CREATE)
        request = create.request_class(**{spec_field: run})
        as_scheduler = RequestContext(
            request_id=context.request_id,
            method=create.full_name,
            principal=SCHEDULER.principal,
            idempotency_key=key,
        )
        replaced: list[str] = []
        try:
            async with savepoint(db):
                if policy == Policy.Replace:
                    replaced = await self._cancel(db, run_kind, active, schedule, scheduled)
                outcome = await self._runs[run_kind].create_in(db, as_scheduler, request, run)
        except DomainError as error:
            if error.code in (Code.UNAVAILABLE, Code.ABORTED):
                raise
            return _Result(SKIPPED, "RunRefused", f"the {run_kind} was refused: {error.message}")
        created = kind.message_class.FromString(outcome.response)
        reason = "Replaced" if replaced else "Created"
        return _Result(CREATED, reason, f"created {run_kind} {created.name}", created, replaced)

    async def _active_runs(self, db: Tx, run_kind: str, schedule: schedule_pb2.Schedule) -> list[Any]:
        query = ListQuery(
            page=Page(size=_ACTIVE_SHOWN, after=None, query_hash=""),
            namespace=schedule.namespace,
            selector=parse_selector(f"{SCHEDULE_ID_LABEL}={schedule.id}"),
            phases=[RunPhase.Name(p) for p in sorted(run_lifecycle.UNFINISHED_PHASES)],
        )
        return (await rows.list_page(db, STORED[run_kind], query)).items

    async def _cancel(
        self, db: Tx, run_kind: str, active: list[Any], schedule: schedule_pb2.Schedule, scheduled: datetime
    ) -> list[str]:
        kind = registry()[run_kind]
        message = f"replaced by the run of Schedule {schedule.name} for {_stamp(scheduled, precise=False)}"
        cancelled = []
        for found in active:
            run = await rows.find(db, STORED[run_kind], Ref(id=uuid.UUID(found.id)), for_update=True)
            if run is not None and await self._execution.cancel_in(db, SCHEDULER, kind, run, message):
                cancelled.append(run.id)
        return cancelled

    async def _record(
        self,
        db: Tx,
        context: RequestContext,
        schedule: schedule_pb2.Schedule,
        scheduled_time: datetime,
        result: _Result,
        *,
        scheduled: bool,
    ) -> schedule_pb2.ScheduleFiring:
        """The firing in the Schedule's status, its timer and the audit log; returns what it did."""
        status = schedule.status
        now = common.utcnow()
        refused = result.reason == "RunRefused"
        if result.run is not None:
            status.last_run_id, status.last_run_name = result.run.id, result.run.name
            if scheduled:
                set_timestamp(status.last_schedule_time, scheduled_time)
        if refused:
            status.phase, status.reason, status.message = Phase.Invalid, "RunRefused", result.message
        elif result.result == CREATED or status.phase != Phase.Invalid:
            status.phase = Phase.Suspended if schedule.spec.suspend else Phase.Active
            status.reason = "Suspended" if schedule.spec.suspend else "Scheduled"
            status.message = (
                "spec.suspend is set: scheduled times create no runs"
                if schedule.spec.suspend
                else "scheduled times create runs"
            )
        status.ClearField("next_schedule_time")
        if not schedule.spec.suspend:
            upcoming = cron.next_after(schedule.spec.cron, schedule.spec.timezone, now)
            if upcoming is not None:
                set_timestamp(status.next_schedule_time, upcoming)
        _set_condition(
            status,
            common.condition(
                "LastFire",
                "True" if result.result == CREATED else "False",
                result.reason,
                result.message[:1024],
                schedule.generation,
            ),
        )
        saved = await rows.update(db, _STORED, uuid.UUID(schedule.id), schedule)
        if scheduled:
            await schedule_timers.set_next(db, schedule.id, self._timer(saved))
        payload: dict[str, Any] = {
            "scheduledTime": _stamp(scheduled_time, precise=True),
            "trigger": not scheduled,
            "result": result.result,
            "reason": result.reason,
        }
        if result.run is not None:
            payload["run"] = {"kind": type(result.run).DESCRIPTOR.name, "id": result.run.id}
        if result.replaced:
            payload["replaced"] = result.replaced
        await common.record_audit(
            db,
            context,
            kind="Schedule",
            entity_id=schedule.id,
            event="Triggered" if not scheduled else "Fired" if result.result == CREATED else "Skipped",
            namespace=schedule.namespace,
            payload=payload,
        )
        firing = schedule_pb2.ScheduleFiring(
            schedule=saved,
            result=result.result,
            reason=result.reason,
            message=result.message,
            replaced_run_ids=result.replaced,
        )
        set_timestamp(firing.scheduled_time, scheduled_time)
        if result.run is not None:
            firing.run_kind = type(result.run).DESCRIPTOR.name
            firing.run_id, firing.run_name = result.run.id, result.run.name
        return firing


async def _queue_convergence(
    db: Tx, namespace: str, schedule_name: str, cron_job: str, schedule_id: str, generation: int
) -> None:
    """The entry names the Schedule and the CronJob only: the worker writes the CronJob the Schedule needs
    when it runs (or deletes it when no Schedule needs it any more), so entries done out of order converge."""
    await outbox.add(
        db,
        operation=CRON_JOB_OPERATION,
        run_kind="Schedule",
        run_id=schedule_id,
        attempt=int(generation),
        payload={"namespace": namespace, "name": schedule_name, "cronJob": cron_job},
    )


def cron_job_differs(schedule: schedule_pb2.Schedule, facts: Mapping[str, Any]) -> bool:
    """Whether a CronJob (its facts) says other than what the Schedule needs of it: what the Schedule
    decides (cron, zone, suspend, deadline, whose it is, what its pod fires) and the `Allow` policy."""
    spec = cron_job_spec(schedule)
    wanted = {
        "scheduleId": spec.schedule_id,
        "schedule": spec.cron,
        "timeZone": spec.timezone,
        "suspend": spec.suspend,
        "startingDeadlineSeconds": spec.starting_deadline_seconds,
        "concurrencyPolicy": ALLOW,
    }
    fires = str(facts.get("fires") or "")
    return any(facts.get(k) != v for k, v in wanted.items()) or not fires.endswith(
        fire_path(spec.schedule_id)
    )


def cron_job_spec(schedule: schedule_pb2.Schedule) -> CronJobSpec:
    """What the Schedule's CronJob must say."""
    return CronJobSpec(
        namespace=schedule.namespace,
        name=cron_job_name(schedule.name),
        schedule_id=schedule.id,
        schedule_name=schedule.name,
        cron=schedule.spec.cron,
        timezone=schedule.spec.timezone,
        suspend=schedule.spec.suspend,
        starting_deadline_seconds=int(schedule.spec.starting_deadline_seconds),
        labels={SCHEDULE_LABEL: schedule.name, SCHEDULE_ID_LABEL: schedule.id},
    )


def _set_condition(status: Any, condition: common_pb2.Condition) -> None:
    kept = [c for c in status.conditions if c.type != condition.type]
    del status.conditions[:]
    status.conditions.extend([*kept, condition])
