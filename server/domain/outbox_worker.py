"""The outbox worker: performs the Kubernetes writes that requests and the run worker queued (start an
attempt's Job, delete it, write a custom resource's status, write or delete a Workspace's claim) outside any
request. Entries are claimed with FOR UPDATE SKIP LOCKED, so several servers drain one outbox without doing
a write twice at once, and each server performs a few at once (never two of one run); a write is
idempotent (deterministic names, AlreadyExists is success), so a repeat after a crash is harmless.
Transient failures wait with capped exponential backoff and jitter, persisted in the entry, and show as the
run's `KubernetesWrite` condition until a write succeeds."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from google.protobuf import json_format

from jangar.server.core.cron_jobs import CronJobs, cron_job_name
from jangar.server.core.errors import ServiceUnavailable
from jangar.server.core.kinds import Kind, registry
from jangar.server.core.query import Ref
from jangar.server.core.runner import Outcome
from jangar.server.core.runtime import (
    Attempt,
    Launch,
    Runtime,
    RuntimeUnavailable,
    StartFailed,
    StatusWriter,
    VolumeClaims,
    launch_from_json,
)
from jangar.server.domain import common, run_lifecycle, workspaces
from jangar.server.domain.execution import STATUS_COPY, RunExecution
from jangar.server.domain.schedules import CRON_JOB_OPERATION, cron_job_spec
from jangar.server.repository import execution as execution_rows
from jangar.server.repository import outbox, rows
from jangar.server.repository.database import Database, Tx
from jangar.server.repository.mapping import STORED
from jangar.v1 import execution_pb2

log = logging.getLogger("jangar.server.outbox")

CONDITION = "KubernetesWrite"
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
BATCH = 32
# Entries performed at once by one server: a write waits for the API server, so one at a time left the
# outbox a round trip per write behind a burst of creates. Each holds a pool connection while it waits.
DEFAULT_CONCURRENCY = 4
# The operations of a run's attempt, whose progress shows as the run's KubernetesWrite condition.
RUN_OPERATIONS = ("start", "stop")


def backoff_seconds(
    tries: int, base: float = BACKOFF_BASE_SECONDS, cap: float = BACKOFF_CAP_SECONDS
) -> float:
    """Delay before try `tries + 1`: doubling from `base` up to `cap`, with "equal jitter" (half fixed, half
    random) so that replicas retrying after one outage do not all hit the API server at once."""
    ceiling = min(cap, base * 2 ** min(tries, 30))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class OutboxWorker:
    def __init__(
        self,
        database: Database,
        runtime: Runtime,
        status_writer: StatusWriter,
        execution: RunExecution,
        backoff_base: float = BACKOFF_BASE_SECONDS,
        cron_jobs: CronJobs | None = None,
        claims: VolumeClaims | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._concurrency = concurrency
        # Claims are taken one at a time, so that `_busy` is up to date when the next is chosen.
        self._claiming = asyncio.Lock()
        self._busy: set[uuid.UUID] = set()
        self._cron_jobs = cron_jobs
        self._claims = claims
        self._database = database
        self._runtime = runtime
        self._status_writer = status_writer
        self._execution = execution
        self._backoff_base = backoff_base

    async def tick(self) -> int:
        """Perform up to BATCH due entries, up to `concurrency` at once, each in a transaction of its own;
        returns how many were attempted. Two entries of one run (or Schedule, or Workspace) are never
        performed at once by this server, so a run's status copies cannot overtake each other here."""
        budget, attempted = BATCH, 0

        async def lane() -> None:
            nonlocal budget, attempted
            while budget > 0:
                budget -= 1
                if not await self._claim_and_perform():
                    budget = 0
                    return
                attempted += 1

        try:
            async with asyncio.TaskGroup() as lanes:
                for _ in range(self._concurrency):
                    lanes.create_task(lane())
        except BaseExceptionGroup as failed:
            # One lane's failure (the database gone) ends the round, as it did before there were lanes; the
            # caller handles it as one error, not a group.
            raise failed.exceptions[0] from None
        return attempted

    async def _claim_and_perform(self) -> bool:
        """Claims one due entry and performs it; False when none is due. Its run stays busy until the
        transaction that performed it has ended."""
        entry: outbox.Entry | None = None
        try:
            async with self._database.transaction() as db:
                async with self._claiming:
                    entry = await outbox.claim(db, common.utcnow(), self._busy)
                    if entry is None:
                        return False
                    self._busy.add(entry.run_id)
                await self._perform(db, entry)
        finally:
            if entry is not None:
                self._busy.discard(entry.run_id)
        return True

    async def _perform(self, db: Tx, entry: outbox.Entry) -> None:
        if entry.operation == CRON_JOB_OPERATION:
            await self._perform_cron_job(db, entry)
            return
        kind = registry()[entry.run_kind]
        attempt = Attempt(
            kind.name, str(entry.run_id), entry.attempt, str(entry.payload.get("namespace", ""))
        )
        try:
            if entry.operation == "start":
                launch = launch_from_json(entry.payload)
                attempt = launch.attempt
                await self._start(db, kind, entry, launch)
            elif entry.operation == "stop":
                await self._runtime.stop(attempt)
            elif entry.operation == "status":
                await self._write_status(db, kind, entry.run_id, entry.payload)
            elif entry.operation == workspaces.CREATE_CLAIM and self._claims is not None:
                # A Workspace deleted or expired while its claim waited (a retry) must not get one now.
                if await workspaces.claim_wanted(db, entry.run_id):
                    await self._claims.create_claim(entry.payload)
            elif entry.operation == workspaces.DELETE_CLAIM and self._claims is not None:
                await self._claims.delete_claim(entry.payload["namespace"], entry.payload["name"])
            else:
                log.error("dropping outbox entry %d with unknown operation %r", entry.id, entry.operation)
        except RuntimeUnavailable as error:
            delay = backoff_seconds(entry.tries, self._backoff_base)
            await outbox.retry_later(
                db, entry.id, at=common.utcnow() + timedelta(seconds=delay), error=str(error)
            )
            if entry.tries == 0:
                log.warning(
                    "Kubernetes write %s of %s failed, retrying: %s", entry.operation, attempt.name, error
                )
            if entry.operation in RUN_OPERATIONS:
                await self._show(
                    db, kind, entry.run_id, "False", "Retrying", f"{error}; retrying in {delay:.1f} s"
                )
            return
        except StartFailed as error:
            await outbox.done(db, entry.id)
            if not kind.is_run:
                await workspaces.claim_refused(db, entry.run_id, str(error))
                return
            refused = Outcome(False, "JobRejected", str(error), execution_pb2.RunnerStatus())
            await self._execution.finish_in(db, kind, attempt, refused, retryable=False)
            return
        except ServiceUnavailable:
            raise  # the database: the round ends, the entry stays as it was
        except Exception:
            # A bug, not the cluster: the entry waits as long as the backoff allows, so that it cannot hold
            # up the entries behind it (the oldest due entry is always claimed first).
            log.exception("outbox entry %d (%s of %s) failed", entry.id, entry.operation, attempt.name)
            delay = backoff_seconds(30, self._backoff_base)
            await outbox.retry_later(
                db, entry.id, at=common.utcnow() + timedelta(seconds=delay), error="internal error"
            )
            return
        await outbox.done(db, entry.id)
        if entry.tries and entry.operation == "stop":
            await self._show_written(db, kind, entry)

    async def _start(self, db: Tx, kind: Kind, entry: outbox.Entry, launch: Launch) -> None:
        """Writes the attempt's objects (unless the attempt is over), then, for an entry with a status copy,
        the run's status onto its custom resource. A failed copy retries the whole entry: the start then
        finds its objects already written."""
        if await self._still_wanted(db, kind, launch.attempt):
            await self._runtime.start(launch)
        if entry.tries:
            # Before the copy, so that the copy shows it.
            await self._show_written(db, kind, entry)
        target = entry.payload.get(STATUS_COPY)
        if target is not None:
            await self._write_status(db, kind, entry.run_id, target, after_start=True)

    async def _show_written(self, db: Tx, kind: Kind, entry: outbox.Entry) -> None:
        """The run's KubernetesWrite condition once a write that had to be retried is done."""
        await self._show(db, kind, entry.run_id, "True", "Written", f"{entry.operation} written")

    async def _perform_cron_job(self, db: Tx, entry: outbox.Entry) -> None:
        """Brings a Schedule's CronJob in line with the Schedule as it is now: written while the Schedule
        exists, deleted once it does not."""
        payload = entry.payload
        namespace, name = str(payload["namespace"]), str(payload["cronJob"])
        try:
            if self._cron_jobs is None:
                raise RuntimeUnavailable(
                    "this server writes no CronJobs (JANGAR_SCHEDULE_FIRE_URL is not set)"
                )
            schedule = await rows.find(db, STORED["Schedule"], Ref(namespace=namespace, name=payload["name"]))
            # A CronJob reported by the reconciler that its Schedule (if any) does not need goes too.
            if schedule is None or cron_job_name(schedule.name) != name:
                await self._cron_jobs.delete(namespace, name)
            else:
                await self._cron_jobs.apply(cron_job_spec(schedule))
        except RuntimeUnavailable as error:
            delay = backoff_seconds(entry.tries, self._backoff_base)
            await outbox.retry_later(
                db, entry.id, at=common.utcnow() + timedelta(seconds=delay), error=str(error)
            )
            if entry.tries == 0:
                log.warning("CronJob %s/%s could not be written, retrying: %s", namespace, name, error)
            return
        except StartFailed as error:
            # The cluster refuses the CronJob as invalid: retrying cannot help; the log says why.
            log.error("CronJob %s/%s was refused: %s", namespace, name, error)
        await outbox.done(db, entry.id)

    async def _write_status(
        self, db: Tx, kind: Kind, run_id: uuid.UUID, target: Mapping[str, Any], *, after_start: bool = False
    ) -> None:
        """A run's status as it is now (or the status `target` carries: a refused kubectl run has no row)
        onto the custom resource `target` names. One not written yet waits for the run's start, unless this
        is that start (`after_start`); otherwise it is gone."""
        status = target.get("status")
        if status is None:
            run = await rows.find(db, STORED[kind.name], Ref(id=run_id))
            if run is None:
                return
            status = json_format.MessageToDict(run.status)
        written = await self._status_writer.write_status(
            target["apiVersion"], target["plural"], target["namespace"], target["name"], status
        )
        if not written and not after_start and await outbox.pending(db, str(run_id), "start"):
            raise RuntimeUnavailable(f"{target['plural']}/{target['name']} is not written yet")

    async def _still_wanted(self, db: Tx, kind: Kind, attempt: Attempt) -> bool:
        """A start whose attempt is over (the run was cancelled meanwhile) writes nothing. Read unlocked: a
        cancel committing after this check queues a delete, and the ingest deletes any Job of an attempt
        that is over."""
        run_id = uuid.UUID(attempt.run_id)
        found = (await execution_rows.states(db, STORED[kind.name], [run_id])).get(run_id)
        return (
            found is not None
            and found.attempt == attempt.number
            and found.runtime_active
            and found.phase in execution_rows.UNFINISHED
        )

    async def _show(
        self, db: Tx, kind: Kind, run_id: uuid.UUID, status: str, reason: str, message: str
    ) -> None:
        """Set the run's KubernetesWrite condition, if the run is still going."""
        run = await rows.find(db, STORED[kind.name], Ref(id=run_id), for_update=True)
        if run is None or run_lifecycle.is_terminal(run.status.phase):
            return
        common.set_condition(run, common.condition(CONDITION, status, reason, message[:1024], run.generation))
        await rows.update(db, STORED[kind.name], run_id, run)
