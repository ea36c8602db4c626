"""Use cases of every run kind (AgentRun, OrchestrationRun, ...): create, get, list, cancel. Phase changes go
through the run state machine (run_lifecycle), which is the one place that knows which changes are legal."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf.message import Message

from jangar.server.core.context import RequestContext
from jangar.server.core.errors import Code, DomainError, FieldViolation, invalid_argument
from jangar.server.core.kinds import Kind
from jangar.server.core.pages import PageTokens
from jangar.server.core.runtime import JOB, LOCAL, RUNTIME_TYPES, Launch
from jangar.server.domain import children, common, run_lifecycle
from jangar.server.domain.execution import RunExecution, status_target
from jangar.server.domain.idempotency import (
    Outcome,
    Prepare,
    Prepared,
    Work,
    idempotent,
    idempotent_create,
    idempotent_in,
)
from jangar.server.domain.kinds import RUN_PROVIDER_NATIVE
from jangar.server.domain.launch import ADMISSION_RUN_ID, PlanProblems, RuntimePolicy
from jangar.server.domain.parent_reads import ParentRead, ParentReads
from jangar.server.domain.validation import check_resource, normalize_envelope
from jangar.server.repository import execution, rows, writes
from jangar.server.repository.database import Database, Tx
from jangar.server.repository.writes import NewRow
from jangar.v1 import execution_pb2
from jangar.v1.run_phase_pb2 import RunPhase

MAX_CANCEL_REASON = 1024
DEFAULT_LOG_TAIL_BYTES = 64 * 1024
MAX_LOG_TAIL_BYTES = 1024 * 1024


def phase_name(phase: int) -> str:
    try:
        return run_lifecycle.phase_name(phase)
    except ValueError:
        raise invalid_argument([FieldViolation("phase", f"unknown phase {phase}")]) from None


def pending_status(run: Any) -> None:
    """The status of a run that passed validation and waits to start."""
    run.status.phase = RunPhase.Pending
    run.status.reason = run_lifecycle.Reason.ACCEPTED
    run.status.message = "waiting to start"
    run.status.observed_generation = 1
    run.status.conditions.append(
        common.condition("Accepted", "True", "Valid", "the run passed validation", 1)
    )


class RunUseCases(children.ChildUseCases):
    def __init__(
        self,
        database: Database,
        kind: Kind,
        parent: Kind,
        page_tokens: PageTokens,
        runtimes: RuntimePolicy,
        execution: RunExecution,
    ) -> None:
        super().__init__(database, kind, parent, page_tokens)
        self._parents = ParentReads(kind, self._parent_stored, self._rules.read_with_parent)
        self._runtimes = runtimes
        self._execution = execution

    async def create(self, context: RequestContext, request: Message, run: Any) -> Outcome:
        self._check(run)
        prepare, work = self._creation(context, run)
        return await idempotent_create(self._database, context, context.method, request, prepare, work)

    async def create_in(self, db: Tx, context: RequestContext, request: Message, run: Any) -> Outcome:
        """`create` in the caller's transaction, under the context's own idempotency key (a Schedule
        firing): step by step, since the caller's transaction already holds other writes."""
        self._check(run)
        _, work = self._creation(context, run)
        return await idempotent_in(db, context, context.method, request, work)

    def _check(self, run: Any) -> None:
        normalize_envelope(run)
        check_resource(run, self._rules)

    def _creation(self, context: RequestContext, run: Any) -> tuple[Prepare, Work]:
        """The create as rows for one statement (`prepare`, assuming the name is free), and step by step in a
        transaction (`work`, for everything else: a taken name, a replay, a caller's transaction)."""

        async def prepare(db: Tx) -> Prepared:
            created, parent, provider, runtime, read = await self._accept(db, context, run, remembered=True)
            if not created.name:
                created.name = children.generated_name(parent.name)
            launch = await self._plan_first(db, created, parent, runtime, read.read_along)
            columns = self._columns(runtime, launch)
            row = rows.new_row(self._stored, created, now=common.utcnow(), provider=provider, **columns)
            records = self._records(context, created, parent, runtime, launch)
            return Prepared(
                created, created.id, [row, *records], read.unchanged, lambda: self._parents.forget(run)
            )

        async def work(db: Tx) -> tuple[Message, str]:
            created, parent, provider, runtime, read = await self._accept(db, context, run)
            launch = await self._insert(db, created, parent, provider, runtime, read.read_along)
            await writes.insert_all(db, self._records(context, created, parent, runtime, launch))
            return created, created.id

        return prepare, work

    async def _accept(
        self, db: Tx, context: RequestContext, run: Any, *, remembered: bool = False
    ) -> tuple[Any, Any, str, str, ParentRead]:
        """The run as it is created (Pending, its parent's id, a server-assigned id), the parent, the
        provider it records, its runtime and the parent's read (with what its plan reads with it,
        KindRules.read_with_parent; `remembered`: as last read, see parent_reads); refused (DomainError)
        when it could never start. Writes nothing: the place for admission checks that must hold before a
        run exists."""
        read = await self._parents.read(db, run, remembered=remembered)
        parent = read.parent
        created = self._new(context, run, parent)
        # Assigned here, not by the database: a job run's first attempt is planned for its id.
        created.id = str(uuid.uuid4())
        pending_status(created)
        prepare = self._rules.prepare_run
        provider = prepare(created, parent) if prepare is not None else RUN_PROVIDER_NATIVE
        runtime = await self._admit(db, created, parent)
        return created, parent, provider, runtime, read

    async def _plan_first(
        self, db: Tx, run: Any, parent: Any, runtime: str, read_along: Mapping[str, Any]
    ) -> Launch | None:
        """A job run's first attempt, planned for the run's id and name (refused, 400, when it cannot be);
        None for other runtimes."""
        if runtime != JOB:
            return None
        try:
            return await self._execution.plan_submission(
                db, self._kind, run, parent, 1, admission=True, read_along=read_along
            )
        except PlanProblems as problems:
            raise invalid_argument(problems.problems) from None

    def _columns(self, runtime: str, launch: Launch | None) -> dict[str, Any]:
        """The new run row's execution columns. A local run is due at once, for the worker of a server with
        the local runtime; a job run's first attempt is queued with the create."""
        columns: dict[str, Any] = {
            "runtime": runtime,
            "next_attempt_at": common.utcnow() if runtime == LOCAL else None,
        }
        if launch is not None:
            columns.update(self._execution.submission_columns(launch))
        return columns

    def _records(
        self, context: RequestContext, created: Any, parent: Any, runtime: str, launch: Launch | None
    ) -> list[NewRow]:
        """What is written with a new run: its first phase change, its audit event, and for a job run the
        outbox entry of its first attempt, which also copies its status onto its custom resource."""
        written = [
            execution.transition_row(
                run_kind=self._kind.name,
                run_id=created.id,
                attempt=0,
                from_phase=RunPhase.RUN_PHASE_UNSPECIFIED,
                to_phase=RunPhase.Pending,
                reason=created.status.reason,
                message=created.status.message,
            ),
            common.audit_row(
                context,
                kind=self._kind.name,
                entity_id=created.id,
                event="Created",
                namespace=created.namespace,
                payload={
                    "name": created.name,
                    "parent": {"kind": self._parent.name, "id": parent.id, "name": parent.name},
                    "phase": RunPhase.Name(created.status.phase),
                    **({"runtime": runtime} if runtime else {}),
                },
            ),
        ]
        if launch is not None:
            written.append(self._execution.start_entry(launch, status_target(self._kind, created)))
        return written

    async def _admit(self, db: Tx, run: Any, parent: Any) -> str:
        """The run's runtime, once its templates render for it: a run that could never start is refused
        now rather than failed later. Returns '' for a kind that does not execute (an OrchestrationRun)."""
        if self._rules.plan is None:
            return ""
        runtime = run.spec.runtime.type or self._runtimes.default
        if runtime not in RUNTIME_TYPES:
            raise invalid_argument(
                [FieldViolation("spec.runtime.type", f"must be one of {', '.join(RUNTIME_TYPES)}")]
            )
        if runtime not in self._runtimes.enabled:
            raise DomainError(
                Code.FAILED_PRECONDITION,
                "RUNTIME_DISABLED",
                f"the {runtime!r} runtime is not enabled on this server"
                + (" (JANGAR_LOCAL_RUNTIME=1 enables it)" if runtime == LOCAL else ""),
                metadata={"runtime": runtime},
            )
        if runtime == JOB:
            # Planned once, by the submission in the same transaction, which refuses it the same way.
            return runtime
        candidate = type(run)()
        candidate.CopyFrom(run)
        candidate.id = ADMISSION_RUN_ID
        try:
            await self._rules.plan(db, candidate, parent, 1)
        except PlanProblems as problems:
            raise invalid_argument(problems.problems) from None
        return runtime

    async def _insert(
        self, db: Tx, run: Any, parent: Any, provider: str, runtime: str, read_along: Mapping[str, Any]
    ) -> Launch | None:
        """Inserts the run under its name, or a generated one. A job run's first attempt is planned for the
        name it gets, before the insert, so the row is written once; its launch is returned, for the
        caller to queue. A run that cannot be planned is refused (400) with nothing written."""
        launch: Launch | None = None

        async def plan_first_attempt() -> dict[str, Any]:
            nonlocal launch
            launch = await self._plan_first(db, run, parent, runtime, read_along)
            return self._columns(runtime, launch)

        columns = {"provider": provider, "id": uuid.UUID(run.id)}
        await children.insert_child(db, self._stored, run, parent.name, columns, plan_first_attempt)
        return launch

    def _phase_names(self, phases: Sequence[int]) -> list[str]:
        return sorted({phase_name(p) for p in phases})

    async def cancel(
        self, context: RequestContext, request: Message, id_or_name: str, namespace: str, reason: str
    ) -> Outcome:
        if len(reason) > MAX_CANCEL_REASON:
            raise invalid_argument(
                [FieldViolation("reason", f"must be at most {MAX_CANCEL_REASON} characters")]
            )
        common.resolve_ref(id_or_name, namespace)  # bad ids fail before a key is claimed

        async def work(db: Tx) -> tuple[Message, str]:
            run = await common.load(db, self._stored, id_or_name, namespace, for_update=True)
            message = reason or f"cancelled by {context.principal}"
            saved = await self._execution.cancel_in(db, context, self._kind, run, message, reason=reason)
            # Already finished: the caller's intent (the run is not going on) holds, so this is a no-op that
            # returns the run as it is, not an error; a terminal phase never changes.
            return (run if saved is None else saved), run.id

        return await idempotent(self._database, context, context.method, request, work)

    async def logs(self, id_or_name: str, namespace: str, tail_bytes: int) -> execution_pb2.RunLogs:
        if not 0 <= tail_bytes <= MAX_LOG_TAIL_BYTES:
            raise invalid_argument(
                [FieldViolation("tailBytes", f"must be between 0 and {MAX_LOG_TAIL_BYTES}")]
            )
        async with self._database.transaction() as db:
            run = await common.load(db, self._stored, id_or_name, namespace, for_update=False)
        return await self._execution.logs(
            self._kind, run, _attempt_of(run), tail_bytes or DEFAULT_LOG_TAIL_BYTES
        )


def _attempt_of(run: Any) -> int:
    """The run's attempt; 0 for kinds that have no attempts of their own (an OrchestrationRun)."""
    return run.status.attempt if "attempt" in run.status.DESCRIPTOR.fields_by_name else 0
