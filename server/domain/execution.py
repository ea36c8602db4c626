"""Run execution: the worker that starts due attempts, watches running ones, and feeds what it sees into one
ingest function (`finish_attempt`), which applies the run state machine.

Everything the worker acts on is in the database: an attempt is due when `next_attempt_at` has passed, a
runtime object may be alive while `runtime_active` is set, and a deadline is `deadline_at`. A restarted
server (or another replica) therefore carries on where the last one stopped, and no timer lives only in
memory. Each phase change commits in one transaction with its run_transitions row and its audit event.

    due (next_attempt_at <= now) --start--> Running, attempt n, runtime_active
    runtime_active + Exited       --finish--> Succeeded | Failed | retry (next_attempt_at = now + backoff)
    runtime_active + Lost         --finish--> Failed/RuntimeLost
    runtime_active + deadline     --stop, finish--> Failed/Timeout
    runtime_active + terminal run --stop--> runtime_active cleared (a cancelled run's process)
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from jangar.server.core.context import RequestContext
from jangar.server.core.errors import Code, DomainError, FieldViolation
from jangar.server.core.kinds import Kind, registry
from jangar.server.core.query import Ref
from jangar.server.core.runner import Outcome, outcome
from jangar.server.core.runtime import (
    JOB,
    Alive,
    Attempt,
    Exited,
    Launch,
    Lost,
    Runtime,
    RuntimeUnavailable,
    StartFailed,
    launch_to_json,
)
from jangar.server.domain import budgets, common, run_lifecycle
from jangar.server.domain.artifact_registration import register_artifacts
from jangar.server.domain.kinds import rules_for
from jangar.server.domain.launch import Limits, PlanProblems, with_cluster_identity
from jangar.server.repository import execution as execution_rows
from jangar.server.repository import outbox, rows
from jangar.server.repository.database import Database, Tx
from jangar.server.repository.mapping import STORED
from jangar.server.repository.writes import NewRow
from jangar.v1 import common_pb2, execution_pb2
from jangar.v1.run_phase_pb2 import RunPhase

log = logging.getLogger("jangar.server.execution")

# The worker's own identity in audit events.
WORKER = RequestContext(request_id="", method="jangar.server/RunWorker", principal="system:run-worker")
BATCH = 32
# The key of a start entry's payload naming the custom resource its run's status is copied to afterwards.
STATUS_COPY = "status_copy"


def executable_kinds() -> tuple[Kind, ...]:
    """The run kinds whose rules say what an attempt executes (AgentRun, ToolRun)."""
    return tuple(k for k in registry().runs if rules_for(k.name).plan is not None)


async def record_phase_change(
    db: Tx,
    context: RequestContext,
    kind: Kind,
    run: Any,
    attempt: int,
    transition: run_lifecycle.Transition,
    payload: dict[str, Any] | None = None,
) -> None:
    """The history row and the audit event of a phase change, in the caller's transaction; `payload`
    replaces the audit event's default one."""
    await execution_rows.record_transition(
        db,
        run_kind=kind.name,
        run_id=run.id,
        attempt=attempt,
        from_phase=transition.from_phase,
        to_phase=transition.to_phase,
        reason=transition.reason,
        message=transition.message,
    )
    if _runtime_of(run) == JOB:
        await queue_status(db, kind, run)
    if transition.is_terminal:
        await budgets.charge(db, context, kind, run)
    await common.record_audit(
        db,
        context,
        kind=kind.name,
        entity_id=run.id,
        event=RunPhase.Name(transition.to_phase),
        namespace=run.namespace,
        payload=payload
        or {
            "name": run.name,
            "from": RunPhase.Name(transition.from_phase),
            "reason": transition.reason,
            "attempt": attempt,
        },
    )


def _runtime_of(run: Any) -> str:
    """The runtime of a run's current attempt; '' for kinds without attempts (an OrchestrationRun)."""
    fields = run.status.DESCRIPTOR.fields_by_name
    return run.status.runtime_ref.type if "runtime_ref" in fields else ""


async def queue_status(db: Tx, kind: Kind, run: Any) -> None:
    """Have the outbox copy the run's status onto its custom resource (so `kubectl get` shows the phase). The
    entry names the resource only: the worker writes the status as it is then, so entries done out of order
    never leave an older one behind."""
    await outbox.insert_entry(db, status_entry(kind, run))


def status_entry(kind: Kind, run: Any) -> NewRow:
    """The outbox row of queue_status."""
    return outbox.entry(
        operation="status",
        run_kind=kind.name,
        run_id=run.id,
        attempt=run.status.attempt,
        payload=status_target(kind, run),
    )


def status_target(kind: Kind, run: Any) -> dict[str, str]:
    """The custom resource a status copy is written to."""
    return {
        "apiVersion": kind.crd_api_version,
        "plural": kind.crd_plural,
        "namespace": run.namespace,
        "name": run.name,
    }


class RunExecution:
    """Starts and watches the attempts of every executable run kind on the runtimes this server has."""

    def __init__(
        self,
        database: Database,
        runtimes: Mapping[str, Runtime],
        retry_backoff_seconds: float = run_lifecycle.DEFAULT_RETRY_BACKOFF_SECONDS,
    ) -> None:
        self._retry_base = retry_backoff_seconds
        self._database = database
        self._runtimes = dict(runtimes)
        # Runtimes the worker polls; a Job's state comes from the reconciler instead.
        self._watched = [name for name in self._runtimes if name != JOB]
        self._startable = sorted({*self._runtimes, JOB})
        self._kinds = executable_kinds()

    def add_runtime(self, runtime: Runtime) -> None:
        """A runtime that became available after start-up (the Job runtime, once the cluster client is
        configured)."""
        self._runtimes[runtime.type] = runtime
        self._watched = [name for name in self._runtimes if name != JOB]

    async def tick(self) -> None:
        """One round: start what is due, then look at everything that may be running. Job attempts are
        submitted through the outbox by any server (the outbox worker of one with a cluster writes them)."""
        for kind in self._kinds:
            await self._start_due(kind)
            if self._watched:
                await self._watch(kind)

    # Starting.

    async def _start_due(self, kind: Kind) -> None:
        launches: list[tuple[Launch, str]] = []
        async with self._database.connection() as db:
            if not await execution_rows.any_due(db, STORED[kind.name], self._startable, common.utcnow()):
                return
        async with self._database.transaction() as db:
            now = common.utcnow()
            for run, state in await execution_rows.due(db, STORED[kind.name], self._startable, now, BATCH):
                if state.runtime == JOB:
                    await self.submit(db, kind, run, await _parent(db, kind, run), state.attempt + 1)
                    continue
                launch = await self._claim(db, kind, run, state)
                if launch is not None:
                    launches.append((launch, state.runtime))
        for launch, runtime in launches:
            try:
                await self._runtimes[runtime].start(launch)
            except StartFailed as error:
                await self.finish_attempt(kind, launch.attempt, _start_failed(str(error)), retryable=False)
            except OSError as error:
                log.warning("could not start %s: %s", launch.attempt.name, error.strerror or error)
                await self.finish_attempt(
                    kind, launch.attempt, _start_failed("the runtime could not start the process")
                )

    async def _claim(self, db: Tx, kind: Kind, run: Any, state: execution_rows.Execution) -> Launch | None:
        """Attempt n + 1 of a due run: planned, recorded as started (Running), committed before the runtime
        is asked to start it, so a crash in between leaves an attempt the watcher finds Lost."""
        parent = await _parent(db, kind, run)
        number = state.attempt + 1
        rules = rules_for(kind.name)
        assert rules.plan is not None and rules.limits is not None
        now = common.utcnow()
        try:
            launch = await rules.plan(db, run, parent, number)
        except PlanProblems as problems:
            transition = _fail(run, "InvalidSpec", str(problems), now)
            run_lifecycle.apply_transition(run.status, transition)
            await rows.update(db, STORED[kind.name], uuid.UUID(run.id), run, next_attempt_at=None)
            await record_phase_change(db, WORKER, kind, run, state.attempt, transition)
            return None
        budgets.record_requested(run, launch)
        limits: Limits = rules.limits(run, parent)
        run.status.attempt = number
        run.status.runtime_ref.CopyFrom(common_pb2.RuntimeRef(type=state.runtime, name=launch.attempt.name))
        transition = run_lifecycle.decide(
            run.status.phase,
            RunPhase.Running,
            reason=run_lifecycle.Reason.STARTED,
            message=f"attempt {number} started",
            now=now,
            has_start_time=run.status.HasField("start_time"),
            has_finish_time=False,
        )
        if transition is not None:
            run_lifecycle.apply_transition(run.status, transition)
        else:
            run.status.message = f"attempt {number} started"
        deadline = now + timedelta(seconds=limits.timeout_seconds) if limits.timeout_seconds else None
        await _save_attempt(db, kind, run, launch.attempt.name, number, deadline)
        if transition is not None:
            await record_phase_change(db, WORKER, kind, run, number, transition)
        else:
            await _audit_attempt(db, kind, run, "AttemptStarted", number, {})
        return launch

    async def plan_submission(
        self,
        db: Tx,
        kind: Kind,
        run: Any,
        parent: Any,
        number: int,
        *,
        admission: bool = False,
        read_along: Mapping[str, Any] | None = None,
    ) -> Launch:
        """The launch of attempt `number` of a Job run, its status fields set on `run` (attempt, runtime
        reference, message). Raises PlanProblems; at `admission` also when the run names no image.
        `read_along`: what the plan reads, read with the parent (KindRules.read_with_parent)."""
        rules = rules_for(kind.name)
        assert rules.plan is not None
        if read_along:
            launch = await rules.plan(db, run, parent, number, read_along)
        else:
            launch = await rules.plan(db, run, parent, number)
        if admission and not launch.workload.image:
            raise PlanProblems(
                [
                    FieldViolation(
                        "spec.workload.image",
                        "a job run needs a container image: set it here or in the definition's workload",
                    )
                ]
            )
        budgets.record_requested(run, launch)
        run.status.attempt = number
        run.status.runtime_ref.CopyFrom(
            common_pb2.RuntimeRef(type=JOB, name=launch.attempt.name, namespace=run.namespace)
        )
        run.status.message = f"attempt {number} queued for Kubernetes"
        return with_cluster_identity(kind, run, launch)

    @staticmethod
    def submission_columns(launch: Launch) -> dict[str, Any]:
        """The run row's execution columns once `launch` is queued."""
        return {
            "attempt": launch.attempt.number,
            "runtime_active": True,
            "next_attempt_at": None,
            "deadline_at": None,
            # The seed's column for "what executes this run", kept in step with status.runtimeRef.
            "external_run_id": launch.attempt.name,
        }

    async def queue(self, db: Tx, launch: Launch) -> None:
        """The outbox entry that has a server with a cluster write the attempt's objects."""
        await outbox.insert_entry(db, self.start_entry(launch))

    @staticmethod
    def start_entry(launch: Launch, status_copy: Mapping[str, str] | None = None) -> NewRow:
        """The outbox row of `queue`, for a change written in one statement. With `status_copy`
        (status_target), the worker also copies the run's status onto that custom resource once the
        attempt's objects are written: a create's first attempt, whose resource the start itself may create,
        needs that copy, and one entry doing both costs a create one row less and the outbox one claim
        less than two entries."""
        payload = launch_to_json(launch)
        if status_copy is not None:
            payload[STATUS_COPY] = dict(status_copy)
        return outbox.entry(
            operation="start",
            run_kind=launch.attempt.run_kind,
            run_id=launch.attempt.run_id,
            attempt=launch.attempt.number,
            payload=payload,
        )

    async def submit(self, db: Tx, kind: Kind, run: Any, parent: Any, number: int) -> Any:
        """Attempt `number` of a Job run (a retry), in the caller's transaction: planned, and its Kubernetes
        writes queued in the outbox. The run's phase does not change: it becomes Running when the reconciler
        reports the Job active. (A create does the same in its own transaction, before its insert.)"""
        try:
            launch = await self.plan_submission(db, kind, run, parent, number)
        except PlanProblems as problems:
            transition = _fail(run, "InvalidSpec", str(problems), common.utcnow())
            run_lifecycle.apply_transition(run.status, transition)
            saved = await rows.update(db, STORED[kind.name], uuid.UUID(run.id), run, next_attempt_at=None)
            await record_phase_change(db, WORKER, kind, run, number - 1, transition)
            return saved
        await self.queue(db, launch)
        saved = await rows.update(
            db, STORED[kind.name], uuid.UUID(run.id), run, **self.submission_columns(launch)
        )
        await _audit_attempt(db, kind, run, "AttemptSubmitted", number, {"job": launch.attempt.name})
        return saved

    async def stop_job(self, db: Tx, kind: Kind, run: Any, attempt: int) -> None:
        """Queue the deletion of a Job run's current attempt (cancel), in the caller's transaction."""
        await outbox.add(
            db,
            operation="stop",
            run_kind=kind.name,
            run_id=run.id,
            attempt=attempt,
            payload={"namespace": run.namespace},
        )
        await execution_rows.set_inactive(db, STORED[kind.name], uuid.UUID(run.id), attempt)

    async def cancel_in(
        self, db: Tx, context: RequestContext, kind: Kind, run: Any, message: str, reason: str = ""
    ) -> Any | None:
        """Cancel `run` (loaded FOR UPDATE) in the caller's transaction: Cancelled, its Job's deletion
        queued; None when it had already finished (a terminal phase never changes)."""
        now = common.utcnow()
        transition = run_lifecycle.cancel(
            run.status.phase, message=message, now=now, has_finish_time=run.status.HasField("finish_time")
        )
        if transition is None:
            return None
        previous = RunPhase.Name(run.status.phase)
        run_lifecycle.apply_transition(run.status, transition)
        run_lifecycle.cancel_steps(run, message, now)
        saved = await rows.update(db, STORED[kind.name], uuid.UUID(run.id), run, next_attempt_at=None)
        await self.after_cancel(db, kind, run)
        attempt = run.status.attempt if "attempt" in run.status.DESCRIPTOR.fields_by_name else 0
        await record_phase_change(
            db,
            context,
            kind,
            run,
            attempt,
            transition,
            payload={"name": run.name, "previousPhase": previous, "reason": reason},
        )
        return saved

    async def after_cancel(self, db: Tx, kind: Kind, run: Any) -> None:
        """A run was cancelled in the caller's transaction: a Job attempt that may be alive is deleted."""
        loaded = await execution_rows.load(db, STORED[kind.name], uuid.UUID(run.id))
        if loaded is not None and loaded[1].runtime == JOB and loaded[1].runtime_active:
            await self.stop_job(db, kind, run, loaded[1].attempt)

    async def mark_running(self, db: Tx, kind: Kind, run: Any, attempt: int, message: str) -> None:
        """The attempt's Job is active: a Pending run becomes Running (a retry's run already is)."""
        now = common.utcnow()
        transition = run_lifecycle.decide(
            run.status.phase,
            RunPhase.Running,
            reason=run_lifecycle.Reason.STARTED,
            message=message,
            now=now,
            has_start_time=run.status.HasField("start_time"),
            has_finish_time=False,
        )
        if transition is None:
            return
        run_lifecycle.apply_transition(run.status, transition)
        await rows.update(db, STORED[kind.name], uuid.UUID(run.id), run)
        await record_phase_change(db, WORKER, kind, run, attempt, transition)

    # Watching.

    async def _watch(self, kind: Kind) -> None:
        stored = STORED[kind.name]
        async with self._database.transaction() as db:
            active = await execution_rows.active(db, stored, self._watched, BATCH * 4)
        for item in active:
            attempt = Attempt(kind.name, str(item.run_id), item.attempt)
            runtime = self._runtimes[item.runtime]
            if item.phase not in execution_rows.UNFINISHED:
                # Terminal (cancelled) while its process runs: stop it; the run keeps its phase.
                await runtime.stop(attempt)
                async with self._database.transaction() as db:
                    await execution_rows.set_inactive(db, stored, item.run_id, item.attempt)
                continue
            observed = await runtime.observe(attempt)
            if isinstance(observed, Alive):
                if item.deadline_at is not None and item.deadline_at <= common.utcnow():
                    await runtime.stop(attempt)
                    await self.finish_attempt(kind, attempt, _timed_out(), retryable=False)
            elif isinstance(observed, Exited):
                await self.finish_attempt(
                    kind,
                    attempt,
                    outcome(observed.exit_code, observed.status_file, observed.artifacts, observed.files),
                )
            elif isinstance(observed, Lost):
                lost = Outcome(False, run_lifecycle.Reason.RUNTIME_LOST, observed.message, _no_report())
                await self.finish_attempt(kind, attempt, lost, retryable=False)

    async def finish_attempt(
        self, kind: Kind, attempt: Attempt, result: Outcome, *, retryable: bool = True
    ) -> None:
        """The one ingest function: an attempt ended with `result`. Stale news (another attempt, a run that
        already finished or is no longer watched) changes nothing, so observers may report twice."""
        async with self._database.transaction() as db:
            await self.finish_in(db, kind, attempt, result, retryable=retryable)

    async def finish_in(
        self, db: Tx, kind: Kind, attempt: Attempt, result: Outcome, *, retryable: bool = True
    ) -> bool:
        """finish_attempt in the caller's transaction; False when the news was stale."""
        stored = STORED[kind.name]
        loaded = await execution_rows.load(db, stored, uuid.UUID(attempt.run_id))
        if loaded is None:
            return False
        run, state = loaded
        if state.attempt != attempt.number or not state.runtime_active:
            return False
        if run_lifecycle.is_terminal(run.status.phase):
            await execution_rows.set_inactive(db, stored, uuid.UUID(run.id), attempt.number)
            return False
        run.status.runner.CopyFrom(result.runner)
        now = common.utcnow()
        limits = rules_for(kind.name).limits(run, await _parent(db, kind, run))  # type: ignore[misc]
        if result.succeeded:
            decision = run_lifecycle.AttemptOutcome.SUCCEED
        else:
            decision = run_lifecycle.attempt_outcome(
                attempt.number, limits.retry_limit, failed=True, retryable=retryable
            )
        columns: dict[str, Any] = {"runtime_active": False, "deadline_at": None}
        if decision == run_lifecycle.AttemptOutcome.RETRY:
            delay = run_lifecycle.retry_backoff_seconds(attempt.number, base=self._retry_base)
            run.status.message = (
                f"attempt {attempt.number} failed ({result.reason}: {result.message}); "
                f"attempt {attempt.number + 1} starts in {delay:g} s"
            )
            columns["next_attempt_at"] = now + timedelta(seconds=delay)
            await rows.update(db, stored, uuid.UUID(run.id), run, **columns)
            await _audit_attempt(
                db,
                kind,
                run,
                "AttemptFailed",
                attempt.number,
                {"reason": result.reason, "retryIn": delay},
            )
            return True
        target = RunPhase.Succeeded if result.succeeded else RunPhase.Failed
        transition = run_lifecycle.decide(
            run.status.phase,
            target,
            reason=result.reason,
            message=result.message,
            now=now,
            has_start_time=run.status.HasField("start_time"),
            has_finish_time=run.status.HasField("finish_time"),
        )
        assert transition is not None
        run_lifecycle.apply_transition(run.status, transition)
        # Once per run: this is its one terminal transition, and the run row is locked until it commits.
        await register_artifacts(db, WORKER, kind, run)
        await rows.update(db, stored, uuid.UUID(run.id), run, **columns)
        await record_phase_change(db, WORKER, kind, run, attempt.number, transition)
        return True

    async def logs(self, kind: Kind, run: Any, attempt: int, tail_bytes: int) -> execution_pb2.RunLogs:
        """The tail of an attempt's output, from the runtime that ran it."""
        runtime = self._runtimes.get(run.status.runtime_ref.type)
        if runtime is None or attempt == 0:
            return execution_pb2.RunLogs(attempt=attempt)
        try:
            text, truncated = await runtime.logs(
                Attempt(kind.name, run.id, attempt, run.namespace), tail_bytes
            )
        except RuntimeUnavailable as error:
            raise DomainError(
                Code.UNAVAILABLE, "LOGS_UNAVAILABLE", f"the run's output cannot be read now: {error}"
            ) from None
        return execution_pb2.RunLogs(attempt=attempt, text=text, truncated=truncated)


async def _parent(db: Tx, kind: Kind, run: Any) -> Any:
    assert kind.parent is not None
    parent_kind = registry()[kind.parent.kind]
    parent_id = getattr(run, kind.parent.id_field)
    parent = await rows.find(db, STORED[parent_kind.name], Ref(id=uuid.UUID(parent_id)))
    if parent is None:
        # Runs keep their parent while unfinished (its delete is refused), so this is a broken invariant.
        raise RuntimeError(f"{kind.name} {run.id} has lost its {parent_kind.name} {parent_id}")
    return parent


async def _save_attempt(db: Tx, kind: Kind, run: Any, name: str, number: int, deadline: Any) -> Any:
    """The run row with attempt `number` started or submitted: its runtime object may be alive."""
    return await rows.update(
        db,
        STORED[kind.name],
        uuid.UUID(run.id),
        run,
        attempt=number,
        runtime_active=True,
        next_attempt_at=None,
        deadline_at=deadline,
        # The seed's column for "what executes this run", kept in step with status.runtimeRef.
        external_run_id=name,
    )


def _fail(run: Any, reason: str, message: str, now: Any) -> run_lifecycle.Transition:
    transition = run_lifecycle.decide(
        run.status.phase,
        RunPhase.Failed,
        reason=reason,
        message=message,
        now=now,
        has_start_time=run.status.HasField("start_time"),
        has_finish_time=run.status.HasField("finish_time"),
    )
    assert transition is not None
    return transition


def _no_report() -> execution_pb2.RunnerStatus:
    return execution_pb2.RunnerStatus()


def _start_failed(message: str) -> Outcome:
    return Outcome(False, "StartFailed", message, _no_report())


def _timed_out() -> Outcome:
    return Outcome(
        False, run_lifecycle.Reason.TIMEOUT, "the attempt ran past its timeout and was stopped", _no_report()
    )


async def _audit_attempt(
    db: Tx, kind: Kind, run: Any, event: str, attempt: int, extra: dict[str, Any]
) -> None:
    await common.record_audit(
        db,
        WORKER,
        kind=kind.name,
        entity_id=run.id,
        event=event,
        namespace=run.namespace,
        payload={"name": run.name, "attempt": attempt, **extra},
    )
