"""The server's side of the reconciler stream: each batch of snapshots is deduplicated by (uid,
resourceVersion) and applied in one transaction, mapping Job and Pod states onto their runs through the same
ingest function the local runtime uses (RunExecution.finish_in). Run custom resources created with kubectl
are adopted as if they came through the API. docs/reconciler.md describes the mapping."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson

from jangar.server.core import custom_resources as cr
from jangar.server.core.context import RequestContext
from jangar.server.core.cron_jobs import CRON_JOB_API
from jangar.server.core.errors import Code, DomainError, ServiceUnavailable
from jangar.server.core.kinds import Kind, Verb
from jangar.server.core.query import Ref
from jangar.server.core.runner import Outcome
from jangar.server.core.runtime import JOB, Attempt
from jangar.server.domain import cluster_facts, cnpg, common, run_lifecycle, workspaces
from jangar.server.domain.execution import RunExecution, executable_kinds
from jangar.server.domain.memory_upkeep import CLUSTER_API
from jangar.server.domain.schedules import Scheduler
from jangar.server.repository import cluster_objects, outbox, rows
from jangar.server.repository import execution as execution_rows
from jangar.server.repository.cluster_objects import Record
from jangar.server.repository.database import Database, Tx
from jangar.server.repository.mapping import STORED
from jangar.v1 import execution_pb2, reconciler_pb2

log = logging.getLogger("jangar.server.reconciler")

Verdict = reconciler_pb2.SnapshotVerdict
JOB_API = ("batch/v1", "Job")
POD_API = ("v1", "Pod")
# How long a finished Job waits for its Pod's report before its own conditions decide the outcome.
# A Pod list normally settles it first (the server asks for one); this covers a relist that never comes.
POD_REPORT_GRACE_SECONDS = 30.0
RECONCILER = "system:reconciler"
RECONCILER_CONTEXT = RequestContext(
    request_id="", method="jangar.v1.ReconcilerService/Reconcile", principal=RECONCILER
)


@dataclass
class BatchResult:
    """One verdict per item, and the relists the server wants."""

    verdicts: list[int] = field(default_factory=list)
    relists: list[reconciler_pb2.RelistRequest] = field(default_factory=list)


def newer(seen: str | None, incoming: str) -> int:
    """Verdict of `incoming` given the last resourceVersion seen. resourceVersions are opaque to clients,
    but every API server backed by etcd issues increasing integers, and only a comparison can tell a
    resent old snapshot from a new one; non-numeric versions are compared for equality only."""
    if seen is None:
        return Verdict.SNAPSHOT_VERDICT_APPLIED
    if seen == incoming:
        return Verdict.SNAPSHOT_VERDICT_DUPLICATE
    if seen.isdigit() and incoming.isdigit() and int(incoming) < int(seen):
        return Verdict.SNAPSHOT_VERDICT_STALE
    return Verdict.SNAPSHOT_VERDICT_APPLIED


class ClusterIngest:
    def __init__(
        self,
        database: Database,
        execution: RunExecution,
        adopt: Mapping[str, Any],
        grace_seconds: float = POD_REPORT_GRACE_SECONDS,
        scheduler: Scheduler | None = None,
    ) -> None:
        """`adopt` maps a run kind's name to its RunUseCases, whose `create` admits adopted resources;
        `scheduler` converges the Schedules' CronJobs reported (none: they are not followed)."""
        self._scheduler = scheduler
        self._database = database
        self._execution = execution
        self._adopt = dict(adopt)
        self._grace = grace_seconds
        self._run_kinds = {(k.crd_api_version, k.name): k for k in executable_kinds()}
        self._by_name = {k.name: k for k in executable_kinds()}
        # Jobs whose outcome could not be decided (an unexpected error, logged once): skipped by the sweep
        # until this server restarts, so they cannot starve the others.
        self._undecidable: set[str] = set()

    async def apply(self, items: Sequence[reconciler_pb2.SnapshotItem]) -> BatchResult:
        result = BatchResult()
        adoptions: list[tuple[int, Kind, dict[str, Any], reconciler_pb2.ObjectSnapshot]] = []
        async with self._database.transaction() as db:
            known = await cluster_objects.known(
                db, (i.object.uid for i in items if i.WhichOneof("item") == "object")
            )
            # Verdicts first (in order, a uid twice in one batch included), so that only new snapshots are
            # decoded: a resent batch costs one query.
            seen = {uid: k.resource_version for uid, k in known.items()}
            verdicts: list[int] = []
            bodies: list[dict[str, Any]] = []
            for item in items:
                if item.WhichOneof("item") != "object":
                    verdicts.append(Verdict.SNAPSHOT_VERDICT_APPLIED)
                    bodies.append({})
                    continue
                verdict = newer(seen.get(item.object.uid), item.object.resource_version)
                verdicts.append(verdict)
                body = _decoded(item.object) if verdict == Verdict.SNAPSHOT_VERDICT_APPLIED else {}
                if body is None:
                    # Not a JSON object: nothing to apply, and the rest of the batch must not wait on it.
                    verdicts[-1] = Verdict.SNAPSHOT_VERDICT_UNKNOWN
                    body = {}
                elif verdict == Verdict.SNAPSHOT_VERDICT_APPLIED:
                    seen[item.object.uid] = item.object.resource_version
                bodies.append(body)
            states = await self._states(db, items, bodies)
            # The facts of each new Job and Pod state, by item.
            facts = {
                index: _attempt_facts(item.object, bodies[index])
                for index, item in enumerate(items)
                if verdicts[index] == Verdict.SNAPSHOT_VERDICT_APPLIED
                and (item.object.api_version, item.object.kind) in (JOB_API, POD_API)
            }
            await self._lock_runs(db, items, bodies, facts, known, states)
            records = _Batch()
            finished_now: list[str] = []
            for index, item in enumerate(items):
                if item.WhichOneof("item") == "list_completed":
                    await self._list_completed(db, item.list_completed, records)
                    result.verdicts.append(Verdict.SNAPSHOT_VERDICT_APPLIED)
                    continue
                snapshot = item.object
                verdict = verdicts[index]
                if verdict != Verdict.SNAPSHOT_VERDICT_APPLIED:
                    result.verdicts.append(verdict)
                    continue
                body = bodies[index]
                kind = self._run_kinds.get((snapshot.api_version, snapshot.kind))
                if kind is not None:
                    verdict = await self._custom_resource(db, kind, snapshot, body)
                    if verdict is None:
                        adoptions.append((index, kind, body, snapshot))
                        verdict = Verdict.SNAPSHOT_VERDICT_APPLIED
                    else:
                        records.append(_record(snapshot, None, {}))
                elif (snapshot.api_version, snapshot.kind) == CLUSTER_API:
                    await cnpg.follow_cluster(
                        db, RECONCILER_CONTEXT, snapshot.namespace, snapshot.name, body, snapshot.deleted
                    )
                    records.append(_record(snapshot, None, cnpg.facts(body, snapshot.deleted)))
                elif (snapshot.api_version, snapshot.kind) in (JOB_API, POD_API):
                    verdict = await self._attempt_object(
                        db,
                        snapshot,
                        body,
                        facts[index],
                        known.get(snapshot.uid),
                        states,
                        records,
                        finished_now,
                        result,
                    )
                elif (snapshot.api_version, snapshot.kind) == workspaces.CLAIM_API:
                    verdict = await self._claim(db, snapshot, body, known.get(snapshot.uid), records)
                elif (snapshot.api_version, snapshot.kind) == CRON_JOB_API:
                    verdict = await self._cron_job(db, snapshot, body, known.get(snapshot.uid), records)
                else:
                    verdict = Verdict.SNAPSHOT_VERDICT_UNKNOWN
                result.verdicts.append(verdict)
            await cluster_objects.save(
                db, records, terminal_now=[u for u in finished_now if u not in records.settled]
            )
            await cluster_objects.settle(db, records.settled)
        for _, kind, body, snapshot in adoptions:
            await self._adopt_resource(kind, body, snapshot)
        unique = {(r.api_version, r.kind, r.namespace): r for r in result.relists}
        result.relists = list(unique.values())
        return result

    # Objects whose state a resource follows: Workspaces' claims, Schedules' CronJobs.

    async def _claim(
        self,
        db: Tx,
        snapshot: reconciler_pb2.ObjectSnapshot,
        body: dict[str, Any],
        previous: cluster_objects.Known | None,
        records: _Batch,
    ) -> int:
        async def follow() -> bool:
            return await workspaces.claim_reported(
                db, RECONCILER_CONTEXT, body, snapshot.name, snapshot.deleted
            )

        return await _followed(snapshot, previous, records, cluster_facts.claim_facts(body), follow)

    async def _cron_job(
        self,
        db: Tx,
        snapshot: reconciler_pb2.ObjectSnapshot,
        body: dict[str, Any],
        previous: cluster_objects.Known | None,
        records: _Batch,
    ) -> int:
        facts = cluster_facts.cron_job_facts(body)
        scheduler = self._scheduler

        async def follow() -> bool:
            return scheduler is not None and await scheduler.cron_job_reported(
                db, snapshot.namespace, snapshot.name, facts, snapshot.deleted
            )

        return await _followed(snapshot, previous, records, facts, follow)

    # Jobs and Pods.

    async def _states(
        self, db: Tx, items: Sequence[reconciler_pb2.SnapshotItem], bodies: Sequence[dict[str, Any]]
    ) -> dict[uuid.UUID, execution_rows.State]:
        """The execution columns of every run the batch's Jobs and Pods belong to, in one query per kind
        and unlocked: most snapshots change nothing, and only those that may are followed by a locked load."""
        wanted: dict[str, set[uuid.UUID]] = {}
        for item, body in zip(items, bodies, strict=True):
            snapshot = item.object
            if item.WhichOneof("item") != "object" or (snapshot.api_version, snapshot.kind) not in (
                JOB_API,
                POD_API,
            ):
                continue
            owner = cluster_facts.owner(body)
            if owner is not None and owner.run_kind in self._by_name:
                with contextlib.suppress(ValueError):
                    wanted.setdefault(owner.run_kind, set()).add(uuid.UUID(owner.run_id))
        states: dict[uuid.UUID, execution_rows.State] = {}
        for kind_name, ids in wanted.items():
            states.update(await execution_rows.states(db, STORED[kind_name], ids))
        return states

    async def _lock_runs(
        self,
        db: Tx,
        items: Sequence[reconciler_pb2.SnapshotItem],
        bodies: Sequence[dict[str, Any]],
        facts: Mapping[int, dict[str, Any]],
        known: Mapping[str, cluster_objects.Known],
        states: Mapping[uuid.UUID, execution_rows.State],
    ) -> None:
        """Locks, kind by kind and in id order, the runs the batch's Jobs and Pods may change (as the peek
        in `states` judges it; `_attempt_object` decides with the run locked). Locked one by one in the
        batch's order, two sessions applied at once (a reconnect while the old session's batch is still
        applied) that change the same runs in other orders deadlocked, and Postgres failed one of them."""
        wanted: dict[str, set[uuid.UUID]] = {}
        for index, state in facts.items():
            snapshot = items[index].object
            owner = cluster_facts.owner(bodies[index])
            if owner is None or owner.run_kind not in self._by_name or not _is_uuid(owner.run_id):
                continue
            peeked = states.get(uuid.UUID(owner.run_id))
            previous = known.get(snapshot.uid)
            is_job = (snapshot.api_version, snapshot.kind) == JOB_API
            if (
                peeked is not None
                and _is_current(peeked, owner.attempt)
                and not _unchanged(previous, state, snapshot.deleted)
                and _may_change_run(is_job, state, snapshot.deleted, peeked.phase)
            ):
                wanted.setdefault(owner.run_kind, set()).add(uuid.UUID(owner.run_id))
        for kind_name in sorted(wanted):
            await execution_rows.lock(db, STORED[kind_name], wanted[kind_name])

    async def _attempt_object(
        self,
        db: Tx,
        snapshot: reconciler_pb2.ObjectSnapshot,
        body: dict[str, Any],
        facts: dict[str, Any],
        previous: cluster_objects.Known | None,
        states: Mapping[uuid.UUID, execution_rows.State],
        records: _Batch,
        finished_now: list[str],
        result: BatchResult,
    ) -> int:
        owner = cluster_facts.owner(body)
        kind = self._by_name.get(owner.run_kind) if owner else None
        if owner is None or kind is None:
            return Verdict.SNAPSHOT_VERDICT_UNKNOWN
        try:
            run_id = uuid.UUID(owner.run_id)
        except ValueError:
            return Verdict.SNAPSHOT_VERDICT_UNKNOWN
        peeked = states.get(run_id)
        if peeked is None:
            return Verdict.SNAPSHOT_VERDICT_UNKNOWN
        is_job = (snapshot.api_version, snapshot.kind) == JOB_API
        records.append(_record(snapshot, owner, facts))
        if _unchanged(previous, facts, snapshot.deleted):
            # The same state at a newer version (a label, an annotation, a resync): it changed nothing then.
            return Verdict.SNAPSHOT_VERDICT_APPLIED
        if not _is_current(peeked, owner.attempt):
            if is_job and not snapshot.deleted and not cluster_facts.job_finished(facts):
                await self._stop_orphan(db, kind, owner.run_id, snapshot.namespace, owner.attempt)
            return Verdict.SNAPSHOT_VERDICT_APPLIED
        if not _may_change_run(is_job, facts, snapshot.deleted, peeked.phase):
            return Verdict.SNAPSHOT_VERDICT_APPLIED
        loaded = await execution_rows.load(db, STORED[kind.name], run_id)
        if loaded is None:
            return Verdict.SNAPSHOT_VERDICT_UNKNOWN
        run, state = loaded
        if not _is_current(state, owner.attempt):
            return Verdict.SNAPSHOT_VERDICT_APPLIED
        if is_job and snapshot.deleted:
            # Confirmed only by a list: a DELETED event alone may precede a recreate, or be resent.
            result.relists.append(
                _relist(JOB_API, snapshot.namespace, f"Job {snapshot.name} of a running attempt was deleted")
            )
            return Verdict.SNAPSHOT_VERDICT_APPLIED
        attempt = Attempt(kind.name, run.id, owner.attempt, run.namespace)
        if is_job:
            if facts["state"] == cluster_facts.ACTIVE:
                await self._execution.mark_running(db, kind, run, owner.attempt, "the Job is active")
            elif cluster_facts.job_finished(facts):
                pods = await records.for_attempt(db, "Pod", run_id, owner.attempt)
                pod = _pod_report(pods)
                deadline = facts.get("reason") == run_lifecycle.Reason.DEADLINE_EXCEEDED
                if pod is not None or deadline:
                    await self._finish(db, kind, attempt, facts, pod)
                else:
                    # The Pod's report (the runner's status) may be on its way through the other watch, or
                    # lost with a reconciler that died: a list of the namespace's Pods settles it.
                    finished_now.append(snapshot.uid)
                    reason = f"Job {snapshot.name} finished before its Pod reported"
                    result.relists.append(_relist(POD_API, snapshot.namespace, reason))
        else:
            if facts.get("running") or facts.get("terminated"):
                await self._execution.mark_running(db, kind, run, owner.attempt, "the Job's Pod is running")
            if facts.get("terminated"):
                jobs = await records.for_attempt(db, "Job", run_id, owner.attempt)
                job = next((j for j in jobs if cluster_facts.job_finished(j.facts)), None)
                if job is not None:
                    await self._finish(db, kind, attempt, job.facts, facts)
                    records.settled.add(job.uid)
        return Verdict.SNAPSHOT_VERDICT_APPLIED

    async def _finish(
        self,
        db: Tx,
        kind: Kind,
        attempt: Attempt,
        job: Mapping[str, Any],
        pod: Mapping[str, Any] | None,
    ) -> None:
        result, retryable = cluster_facts.attempt_outcome(job, pod)
        await self._execution.finish_in(db, kind, attempt, result, retryable=retryable)

    async def _stop_orphan(self, db: Tx, kind: Kind, run_id: str, namespace: str, attempt: int) -> None:
        """A Job runs for an attempt that is over (its run was cancelled while the Job was being written, or a
        retry replaced it): delete it, once."""
        if not await outbox.pending(db, run_id, "stop"):
            log.info("deleting Job %s-%d of a %s: its attempt is over", run_id, attempt, kind.name)
            await outbox.add(
                db,
                operation="stop",
                run_kind=kind.name,
                run_id=run_id,
                attempt=attempt,
                payload={"namespace": namespace},
            )

    async def _list_completed(self, db: Tx, listed: reconciler_pb2.ListCompleted, records: _Batch) -> None:
        """A list of Jobs without the Job of a running attempt confirms it is gone: Failed/JobMissing. A list
        of CronJobs without a Schedule's has it written again. A list of Pods decides the finished Jobs still
        waiting for their Pod's report: every Pod it had was sent before it, so what has not reported by now
        will not."""
        if (listed.api_version, listed.kind) == POD_API:
            for job in await cluster_objects.unsettled(db, namespace=listed.namespace):
                # A list taken before the Job finished (one in flight when it was asked for) may show the
                # Pod still running: only a list at least as new as the Job's state decides.
                if newer(job.resource_version, listed.resource_version) == Verdict.SNAPSHOT_VERDICT_STALE:
                    continue
                if job.uid not in records.settled:
                    await self._settle(db, job, records)
                    records.settled.add(job.uid)
            return
        if (listed.api_version, listed.kind) == CRON_JOB_API and self._scheduler is not None:
            await self._scheduler.cron_jobs_listed(db, listed.namespace, set(listed.names))
            return
        if (listed.api_version, listed.kind) != JOB_API:
            return
        present = set(listed.names)
        for kind in self._run_kinds.values():
            for job in await cluster_objects.jobs_of_active_runs(db, STORED[kind.name], listed.namespace):
                if f"{job.namespace}/{job.name}" in present:
                    continue
                if newer(job.resource_version, listed.resource_version) == Verdict.SNAPSHOT_VERDICT_STALE:
                    continue  # the list is older than what was seen of the Job
                assert job.run_id is not None and job.attempt is not None
                attempt = Attempt(kind.name, str(job.run_id), job.attempt, job.namespace)
                missing = Outcome(
                    False,
                    run_lifecycle.Reason.JOB_MISSING,
                    f"Job {job.name} is gone and no outcome was reported",
                    execution_pb2.RunnerStatus(),
                )
                await self._execution.finish_in(db, kind, attempt, missing, retryable=False)
                await cluster_objects.settle(db, [job.uid])

    async def settle_overdue(self, limit: int = 64) -> int:
        """Finished Jobs whose Pod never reported within the grace period: their own conditions decide. Each
        in its own transaction, so that one that cannot be decided (logged) does not hold up the others."""
        decided = 0
        for _ in range(limit):
            try:
                async with self._database.transaction() as db:
                    before = common.utcnow() - timedelta(seconds=self._grace)
                    overdue = await cluster_objects.unsettled(
                        db, finished_before=before, limit=1, skip=self._undecidable
                    )
                    if not overdue:
                        return decided
                    job = overdue[0]
                    await self._settle(db, job)
                    await cluster_objects.settle(db, [job.uid])
            except ServiceUnavailable:
                raise  # the database: the worker loop waits for it
            except Exception:
                if job.uid not in self._undecidable:
                    log.exception("cannot decide the outcome of Job %s/%s", job.namespace, job.name)
                self._undecidable.add(job.uid)
                continue
            decided += 1
        return decided

    async def _settle(self, db: Tx, job: Record, records: _Batch | None = None) -> None:
        """Decides a finished Job on its Pod's report, or without one. The run's row is locked before the
        Pods are read, as every decision about the run does: a report that another transaction (a second
        session of the stream, on this server or another) is writing then either decides first or is seen
        here. The Job's row is locked after the run's, in the order those decisions take (no deadlock)."""
        kind = self._by_name.get(job.run_kind or "")
        if kind is None or job.run_id is None or job.attempt is None:
            return
        if await execution_rows.load(db, STORED[kind.name], job.run_id) is None:
            return
        undecided = await cluster_objects.lock_unsettled(db, job.uid)
        if undecided is None:
            return  # decided since it was listed
        attempt = Attempt(kind.name, str(job.run_id), job.attempt, job.namespace)
        lookup = records.for_attempt if records is not None else _Batch().for_attempt
        pods = await lookup(db, "Pod", job.run_id, job.attempt)
        pod = _pod_report(pods)
        await self._finish(db, kind, attempt, undecided.facts, pod)

    # Run custom resources.

    async def _custom_resource(
        self, db: Tx, kind: Kind, snapshot: reconciler_pb2.ObjectSnapshot, body: dict[str, Any]
    ) -> int | None:
        """A run's custom resource: the server's own (labelled with the run id), or one created with kubectl.
        None means it should be adopted."""
        labels = (body.get("metadata") or {}).get("labels") or {}
        if snapshot.deleted:
            await self._resource_deleted(db, kind, snapshot, str(labels.get(cr.RUN_ID_LABEL) or ""))
            return Verdict.SNAPSHOT_VERDICT_APPLIED
        if labels.get(cr.RUN_ID_LABEL):
            return Verdict.SNAPSHOT_VERDICT_APPLIED
        existing = await rows.find(
            db, STORED[kind.name], Ref(namespace=snapshot.namespace, name=snapshot.name)
        )
        return Verdict.SNAPSHOT_VERDICT_APPLIED if existing is not None else None

    async def _resource_deleted(
        self, db: Tx, kind: Kind, snapshot: reconciler_pb2.ObjectSnapshot, run_id: str
    ) -> None:
        """A run's custom resource was deleted (kubectl delete): its Jobs go with it (they are its
        dependents), so the run is over: Cancelled, unless it had already finished."""
        ref = (
            Ref(id=uuid.UUID(run_id))
            if run_id and _is_uuid(run_id)
            else Ref(namespace=snapshot.namespace, name=snapshot.name)
        )
        run = await rows.find(db, STORED[kind.name], ref, for_update=True)
        if run is None or run.namespace != snapshot.namespace or run.name != snapshot.name:
            return
        message = f"its {kind.name} resource was deleted from the cluster"
        await self._execution.cancel_in(db, RECONCILER_CONTEXT, kind, run, message, reason="ResourceDeleted")

    async def _adopt_resource(
        self, kind: Kind, body: dict[str, Any], snapshot: reconciler_pb2.ObjectSnapshot
    ) -> None:
        """Admit a kubectl-created run as if it came through the API, with its delivery id as the idempotency
        key (a resent snapshot replays); a run the API would refuse gets an InvalidSpec condition instead."""
        labels = (body.get("metadata") or {}).get("labels") or {}
        delivery_id = str(labels.get(cr.DELIVERY_ID_LABEL) or snapshot.uid)
        create = kind.method(Verb.CREATE)
        context = RequestContext(
            request_id=f"adopt-{snapshot.uid}",
            method=create.full_name,
            principal=RECONCILER,
            idempotency_key=delivery_id,
        )
        try:
            resource = cr.from_custom_resource(kind, body)
        except Exception as error:  # json_format.ParseError and the type errors it wraps
            await self._reject(kind, snapshot, f"spec is not a valid {kind.name}: {error}")
            return
        request = create.request_class(**{_resource_field(create.request_class, kind): resource})
        try:
            await self._adopt[kind.name].create(context, request, resource)
        except DomainError as error:
            if error.code == Code.ALREADY_EXISTS:
                return
            if error.code == Code.UNAVAILABLE:
                raise
            details = "; ".join(f"{v.field}: {v.description}" for v in error.field_violations[:10])
            await self._reject(kind, snapshot, f"{error.message}{': ' + details if details else ''}")
            return
        await self._record_adopted(snapshot)
        log.info(
            "adopted %s %s/%s (deliveryId %s)", kind.name, snapshot.namespace, snapshot.name, delivery_id
        )

    async def _record_adopted(self, snapshot: reconciler_pb2.ObjectSnapshot) -> None:
        async with self._database.transaction() as db:
            await cluster_objects.save(db, [_record(snapshot, None, {"adopted": True})])

    async def _reject(self, kind: Kind, snapshot: reconciler_pb2.ObjectSnapshot, message: str) -> None:
        """Write an InvalidSpec condition to the custom resource's status, through the outbox."""
        condition = common.condition("Accepted", "False", "InvalidSpec", message[:1024], 0)
        status = {
            "phase": "Failed",
            "reason": "InvalidSpec",
            "message": message[:1024],
            "conditions": [
                {
                    "type": condition.type,
                    "status": condition.status,
                    "reason": condition.reason,
                    "message": condition.message,
                    "lastTransitionTime": condition.last_transition_time.ToJsonString(),
                }
            ],
        }
        async with self._database.transaction() as db:
            await outbox.add(
                db,
                operation="status",
                run_kind=kind.name,
                run_id=str(_uuid_of(snapshot.uid)),
                attempt=0,
                payload={
                    "apiVersion": kind.crd_api_version,
                    "plural": kind.crd_plural,
                    "namespace": snapshot.namespace,
                    "name": snapshot.name,
                    "status": status,
                },
            )
            await cluster_objects.save(db, [_record(snapshot, None, {"rejected": message[:1024]})])
        log.info("refused %s %s/%s: %s", kind.name, snapshot.namespace, snapshot.name, message[:200])


async def _followed(
    snapshot: reconciler_pb2.ObjectSnapshot,
    previous: cluster_objects.Known | None,
    records: _Batch,
    facts: dict[str, Any],
    follow: Callable[[], Awaitable[bool]],
) -> int:
    """`follow` (the resource that follows the object) runs only when the facts it reads or the deletion
    changed: the same state at a newer version (a status the resource does not read, a resync) changed
    nothing. False from it means no resource follows the object."""
    changed = previous is None or previous.facts != facts or previous.deleted != snapshot.deleted
    if changed and not await follow():
        return Verdict.SNAPSHOT_VERDICT_UNKNOWN
    records.append(_record(snapshot, None, facts))
    return Verdict.SNAPSHOT_VERDICT_APPLIED


def _is_current(state: execution_rows.State | execution_rows.Execution, attempt: int) -> bool:
    """Whether `attempt` is the run's current Job attempt, its runtime object possibly alive."""
    return state.runtime == JOB and state.attempt == attempt and state.runtime_active


def _pod_report(pods: Sequence[Record]) -> dict[str, Any] | None:
    """The termination report of the newest Pod that has one."""
    return next((p.facts for p in pods if p.facts.get("terminated")), None)


def _relist(resource: tuple[str, str], namespace: str, reason: str) -> reconciler_pb2.RelistRequest:
    api_version, kind = resource
    return reconciler_pb2.RelistRequest(
        api_version=api_version, kind=kind, namespace=namespace, reason=reason
    )


def _may_change_run(is_job: bool, facts: Mapping[str, Any], deleted: bool, phase: str) -> bool:
    """Whether a Job's or Pod's new state can change its (current attempt's) run: a start while the run is
    Pending, an end, a deletion."""
    if deleted:
        return is_job
    if is_job:
        return cluster_facts.job_finished(facts) or (
            facts.get("state") == cluster_facts.ACTIVE and phase == "Pending"
        )
    return bool(facts.get("terminated")) or (bool(facts.get("running")) and phase == "Pending")


class _Batch(list[Record]):
    """The records of the batch being applied, saved when it ends: lookups see them before the database."""

    def __init__(self) -> None:
        super().__init__()
        self.settled: set[str] = set()

    async def for_attempt(self, db: Tx, kind: str, run_id: uuid.UUID, attempt: int) -> list[Record]:
        mine = [r for r in reversed(self) if r.kind == kind and r.run_id == run_id and r.attempt == attempt]
        uids = {r.uid for r in mine}
        stored = await cluster_objects.for_attempt(db, kind, run_id, attempt)
        return mine + [r for r in stored if r.uid not in uids]


def _resource_field(request_class: Any, kind: Kind) -> str:
    return next(f.name for f in request_class.DESCRIPTOR.fields if f.message_type is kind.descriptor)


def _decoded(snapshot: reconciler_pb2.ObjectSnapshot) -> dict[str, Any] | None:
    """The snapshot's object, or None when it is not a JSON object (a reconciler's bug, never the cluster)."""
    try:
        body = orjson.loads(snapshot.object or b"{}")
    except orjson.JSONDecodeError:
        log.warning("snapshot of %s %s/%s is not JSON", snapshot.kind, snapshot.namespace, snapshot.name)
        return None
    return body if isinstance(body, dict) else None


def _unchanged(previous: cluster_objects.Known | None, facts: Mapping[str, Any], deleted: bool) -> bool:
    """Whether a snapshot brings the state already stored for its object (at a newer version: a label, an
    annotation, a resync)."""
    return previous is not None and previous.facts == facts and previous.deleted == deleted


def _attempt_facts(snapshot: reconciler_pb2.ObjectSnapshot, body: dict[str, Any]) -> dict[str, Any]:
    """What the ingest follows of a Job's or a Pod's state."""
    if (snapshot.api_version, snapshot.kind) == JOB_API:
        return cluster_facts.job_facts(body)
    return cluster_facts.pod_facts(body)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _uuid_of(uid: str) -> uuid.UUID:
    try:
        return uuid.UUID(uid)
    except ValueError:
        return uuid.uuid5(uuid.NAMESPACE_URL, uid)


def _record(
    snapshot: reconciler_pb2.ObjectSnapshot,
    owner: cluster_facts.Owner | None,
    facts: dict[str, Any],
) -> Record:
    return Record(
        uid=snapshot.uid,
        api_version=snapshot.api_version,
        kind=snapshot.kind,
        namespace=snapshot.namespace,
        name=snapshot.name,
        resource_version=snapshot.resource_version,
        deleted=snapshot.deleted,
        run_kind=owner.run_kind if owner else None,
        run_id=uuid.UUID(owner.run_id) if owner else None,
        attempt=owner.attempt if owner else None,
        facts=facts,
    )
