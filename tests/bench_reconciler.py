"""`make bench`, reconciler section: how fast the server ingests the reconciler's stream, and how long an
object change in a Kubernetes API server takes to show on its run row. The issue's goals are ≥ 5,000
snapshots/s per server process and a p99 lag under 1 s; nothing here asserts them.

Stream ingest: this process plays the reconciler on one Reconcile stream to the bench's server (no cluster
configured: the runs' Jobs wait in the outbox, which the measurement does not need). It creates `runs` job
runs, then streams batches of 500 snapshots of their Jobs (active) and Pods (running), with bodies shaped
as the Job runtime writes them (server/runtime/job_manifests.py) and as an API server serves them, 8 batches
unacknowledged at most, as the reconciler does.

- `Reconcile: new versions`: every snapshot has a new resourceVersion, so each is APPLIED (a run lookup,
  the facts read from the body, the cluster_objects upsert); after the warm-up no run changes phase.
- `Reconcile: resent`: the last batch again and again, every item DUPLICATE (only the version lookup).
- `ceiling: bare upsert`: the same number of rows, shaped like cluster_objects, upserted by asyncpg from
  this process with one `INSERT … SELECT FROM unnest(…) ON CONFLICT (uid) DO UPDATE` per batch of 500, one
  transaction each, on one connection: what Postgres alone costs for the rows the server writes.

snap/s counts snapshots acknowledged inside the measured window; the ack latency runs from writing a batch
to reading its acknowledgement, so it includes the batches queued ahead of it in the window (the server
applies one stream's batches one after another). CPU is µs per snapshot of each process group.

End-to-end lag: a fake Kubernetes API server (tests/fakekube) in this process, a second server process with
KUBECONFIG naming it (on a database of its own, so the first section's outbox is not drained into it), and a
real reconciler process (`python -m jangar.reconciler`). `lag_runs` job runs are created; the fake kubelet
runs each Job's Pod for `LAG_RUN_SECONDS`. The clock starts when the fake writes the Job's status (active,
then Complete: timestamped in-process by a store subscriber) and stops when a poll of the run row (every
10 ms, directly with asyncpg) first shows Running, then Succeeded. The path measured: fake watch → reconciler
(buffer, flush) → stream → ingest transaction → commit. Poll granularity adds up to 10 ms.

The first lag row runs the other way, from the server to the cluster: from a create's answer to the fake
storing that run's Job, written by the server's outbox worker (the run's custom resource, ConfigMap and Job,
then its status). The runs are created as one burst (16 in flight), so its p99 is how long the last Job of a
burst of `lag_runs` waits. The fake answers in this process, on the same cores, so the figure includes
the fake's own work for four requests a run. The last row is the whole way a caller sees, from a create's
answer to the run row showing Running.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import grpc
from sqlalchemy.engine import make_url

from jangar.server.core import custom_resources as cr
from jangar.server.core.runtime import Attempt, Launch, OwnerResource, SecretKeyEnv, Workload
from jangar.server.domain import cluster_facts
from jangar.server.migrations_runner import upgrade_to_head
from jangar.server.runtime import job_manifests
from jangar.v1 import (
    agent_provider_pb2,
    agent_provider_pb2_grpc,
    agent_run_pb2,
    agent_run_pb2_grpc,
    reconciler_pb2,
    reconciler_pb2_grpc,
)
from tests import builders
from tests.bench_measure import CpuProbe, cpu_per_request, percentile
from tests.cluster import cluster_reconciler, cluster_server, fake_cluster
from tests.fakekube import JOBS, JobScript, KubeletConfig
from tests.fakekube.store import Event

DEFAULT_SECONDS = 5.0
WARMUP_SECONDS = 1.0
BATCH_ITEMS = 500  # the protocol's maximum (server/api/reconciler.py)
WINDOW = 8  # the reconciler's default JANGAR_RECONCILER_WINDOW
# A Job and a Pod per run: one pass over every object is exactly one batch.
DEFAULT_INGEST_RUNS = 250
DEFAULT_LAG_RUNS = 100
LAG_RUN_SECONDS = 2.0
LAG_POLL_SECONDS = 0.01
NAMESPACE = "bench-reconciler"
AGENT = "bench-reconciler-agent"
PROVIDER = "bench-reconciler-provider"
IMAGE = "ghcr.io/proompteng/runner:1"
# A batch of 500 Jobs and Pods as an API server serves them is ~1.8 MB, over the server's default 1 MiB
# JANGAR_MAX_REQUEST_BYTES (the stream then fails RESOURCE_EXHAUSTED); the servers here accept 8 MiB so that
# the figures say what ingest costs. A real reconciler with the default limit needs smaller batches.
MAX_REQUEST_BYTES = str(8 * 1024 * 1024)
CREATE_CONCURRENCY = 16
CALL_TIMEOUT_S = 30.0
# A placeholder the pre-encoded bodies carry instead of metadata.resourceVersion, replaced per snapshot.
RV_MARK = "@@rv@@"

Verdict = reconciler_pb2.SnapshotVerdict

CEILING_TABLE = "bench_ceiling_cluster_objects"
# The real table's columns, defaults and indexes: the ceiling writes what the ingest writes.
CEILING_DDL = f"CREATE TABLE IF NOT EXISTS {CEILING_TABLE} (LIKE cluster_objects INCLUDING ALL)"
CEILING_UPSERT = f"""
INSERT INTO {CEILING_TABLE}
  (uid, api_version, kind, namespace, name, resource_version, deleted, run_kind, run_id, attempt, facts)
SELECT u, a, k, ns, n, rv, false, rk, rid, att, f::jsonb
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::uuid[], $9::int[], $10::text[]) AS t(u, a, k, ns, n, rv, rk, rid, att, f)
ON CONFLICT (uid) DO UPDATE SET
  resource_version = excluded.resource_version, deleted = excluded.deleted, run_kind = excluded.run_kind,
  run_id = excluded.run_id, attempt = excluded.attempt, facts = excluded.facts,
  updated_at = clock_timestamp()
"""


# ---------------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class IngestRow:
    scenario: str
    snapshots: int  # acknowledged (or, for the ceiling, upserted) inside the measured window
    seconds: float
    p50_ms: float
    p99_ms: float
    unexpected: int  # verdicts other than the scenario's, and failed batches
    cpu_us: dict[str, float]
    ceiling: bool = False
    first_error: str = ""

    @property
    def rate(self) -> float:
        return self.snapshots / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class LagRow:
    change: str
    runs: int  # runs whose change was seen in the fake
    observed: int  # of those, runs whose row showed the phase in time
    p50_ms: float
    p99_ms: float
    max_ms: float


@dataclass
class Section:
    ingest: list[IngestRow] = field(default_factory=list)
    lag: list[LagRow] = field(default_factory=list)
    ingest_runs: int = 0
    lag_runs: int = 0
    seconds: float = 0.0


# ---------------------------------------------------------------------------------------------------------
# Snapshots of the Jobs and Pods of job runs


@dataclass(frozen=True)
class ClusterObject:
    """One Job or Pod, its JSON body pre-encoded around the resourceVersion."""

    api_version: str
    kind: str
    name: str
    uid: str
    run_id: str
    facts: str  # what the ingest reads from it, as JSON, for the ceiling's rows
    body: tuple[bytes, bytes]

    def snapshot(self, version: str) -> reconciler_pb2.SnapshotItem:
        return reconciler_pb2.SnapshotItem(
            object=reconciler_pb2.ObjectSnapshot(
                api_version=self.api_version,
                kind=self.kind,
                namespace=NAMESPACE,
                name=self.name,
                uid=self.uid,
                resource_version=version,
                object=self.body[0] + version.encode() + self.body[1],
            )
        )


def _encoded(body: dict[str, Any]) -> tuple[bytes, bytes]:
    body["metadata"]["resourceVersion"] = RV_MARK
    before, after = json.dumps(body, separators=(",", ":")).encode().split(RV_MARK.encode())
    return before, after


def job_and_pod(run_id: str, run_name: str) -> list[ClusterObject]:
    """The attempt-1 Job (active) and Pod (running) of a run, as the Job runtime writes the Job and an API
    server and kubelet fill in the rest."""
    attempt = Attempt("AgentRun", run_id, 1, NAMESPACE)
    labels = {
        cr.RUN_ID_LABEL: run_id,
        cr.RUN_KIND_LABEL: "AgentRun",
        cr.ATTEMPT_LABEL: "1",
        cr.MANAGED_BY_LABEL: cr.MANAGED_BY,
        "jangar.proompteng.ai/agent": AGENT,
        "jangar.proompteng.ai/provider": PROVIDER,
    }
    launch = Launch(
        attempt=attempt,
        argv=("codex", "exec", "--model", "gpt-5", "--json", "prompt.md"),
        env={
            "JANGAR_RUN_ID": run_id,
            "JANGAR_RUN_NAME": run_name,
            "JANGAR_RUN_NAMESPACE": NAMESPACE,
            "JANGAR_ATTEMPT": "1",
            "LOG_LEVEL": "debug",
        },
        files={"prompt.md": "fix the flaky test", "AGENTS.md": "Be brief."},
        workload=Workload(
            image=IMAGE,
            resources={"limits": {"cpu": "2", "memory": "4Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}},
            service_account="agent-runner",
            secret_refs=("openai",),
            secret_env=(SecretKeyEnv("GITHUB_TOKEN", "github", "token"),),
            timeout_seconds=600,
            labels=labels,
            owner=OwnerResource("agents.proompteng.ai/v1alpha1", "AgentRun", "agentruns", run_name, {}),
        ),
    )
    owner = {
        "apiVersion": "agents.proompteng.ai/v1alpha1",
        "kind": "AgentRun",
        "name": run_name,
        "uid": str(uuid.uuid4()),
        "controller": True,
        "blockOwnerDeletion": True,
    }
    job = job_manifests.job(launch, owner)
    job_uid = str(uuid.uuid4())
    stamp = "2026-12-01T00:00:00Z"
    job["metadata"].update({"uid": job_uid, "creationTimestamp": stamp, "generation": 1})
    job["spec"].update(
        {
            "completions": 1,
            "parallelism": 1,
            "completionMode": "NonIndexed",
            "suspend": False,
            "podReplacementPolicy": "TerminatingOrFailed",
            "manualSelector": False,
        }
    )
    job["status"] = {
        "active": 1,
        "ready": 1,
        "terminating": 0,
        "startTime": stamp,
        "uncountedTerminatedPods": {},
    }
    pod_name = f"{attempt.name}-{secrets.token_hex(3)[:5]}"
    pod_spec = dict(
        job["spec"]["template"]["spec"],
        nodeName="node-1",
        schedulerName="default-scheduler",
        dnsPolicy="ClusterFirst",
        terminationGracePeriodSeconds=30,
        priority=0,
    )
    conditions = [
        {"type": kind, "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}
        for kind in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
    ]
    container = {
        "name": job_manifests.CONTAINER,
        "image": IMAGE,
        "imageID": f"{IMAGE}@sha256:{'0' * 64}",
        "containerID": f"containerd://{'1' * 64}",
        "ready": True,
        "restartCount": 0,
        "started": True,
        "state": {"running": {"startedAt": stamp}},
        "lastState": {},
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name,
            "generateName": f"{attempt.name}-",
            "namespace": NAMESPACE,
            "uid": str(uuid.uuid4()),
            "creationTimestamp": stamp,
            "labels": {
                **labels,
                "batch.kubernetes.io/controller-uid": job_uid,
                "batch.kubernetes.io/job-name": attempt.name,
                "job-name": attempt.name,
            },
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": attempt.name,
                    "uid": job_uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
            "finalizers": ["batch.kubernetes.io/job-tracking"],
        },
        "spec": pod_spec,
        "status": {
            "phase": "Running",
            "conditions": conditions,
            "hostIP": "10.0.0.1",
            "podIP": "10.244.0.10",
            "startTime": stamp,
            "qosClass": "Burstable",
            "containerStatuses": [container],
        },
    }
    return [
        ClusterObject(
            "batch/v1",
            "Job",
            attempt.name,
            job_uid,
            run_id,
            json.dumps(cluster_facts.job_facts(job)),
            _encoded(job),
        ),
        ClusterObject(
            "v1",
            "Pod",
            pod_name,
            pod["metadata"]["uid"],
            run_id,
            json.dumps(cluster_facts.pod_facts(pod)),
            _encoded(pod),
        ),
    ]


# ---------------------------------------------------------------------------------------------------------
# Stream ingest


async def create_job_runs(
    channel: grpc.aio.Channel, count: int, namespace: str, accepted: dict[str, float] | None = None
) -> list[agent_run_pb2.AgentRun]:
    """A provider with a workload, an agent, and `count` runs of it (job runs: the server's default);
    `accepted` gets when each run's create was answered."""
    providers = agent_provider_pb2_grpc.AgentProviderServiceStub(channel)
    provider = builders.provider(PROVIDER, namespace)
    provider.spec.workload.image = IMAGE
    provider.spec.workload.service_account_name = "agent-runner"
    await providers.CreateAgentProvider(
        agent_provider_pb2.CreateAgentProviderRequest(agent_provider=provider), metadata=builders.key()
    )
    agent = builders.agent(AGENT, namespace)
    agent.spec.provider_ref.name = PROVIDER
    agent.spec.defaults.retry_limit = 0
    await builders.create_agent(channel, agent)
    stub = agent_run_pb2_grpc.AgentRunServiceStub(channel)
    request = agent_run_pb2.CreateAgentRunRequest(
        agent_run=agent_run_pb2.AgentRun(namespace=namespace, spec={"agent_ref": {"name": AGENT}})
    )
    gate = asyncio.Semaphore(CREATE_CONCURRENCY)

    async def create() -> agent_run_pb2.AgentRun:
        async with gate:
            run = await stub.CreateAgentRun(request, metadata=builders.key(), timeout=CALL_TIMEOUT_S)
        if accepted is not None:
            accepted[run.id] = time.monotonic()
        return run

    return list(await asyncio.gather(*(create() for _ in range(count))))


@dataclass
class _Window:
    """The measured interval, and the CPU used inside it."""

    begin: float
    end: float
    probe: CpuProbe
    before: dict[str, float] = field(default_factory=dict)
    after: dict[str, float] = field(default_factory=dict)

    async def measure(self) -> None:
        await asyncio.sleep(max(0.0, self.begin - time.perf_counter()))
        self.before = self.probe.snapshot()
        await asyncio.sleep(max(0.0, self.end - time.perf_counter()))
        self.after = self.probe.snapshot()


async def stream(
    channel: grpc.aio.Channel,
    scenario: str,
    batch: Callable[[], list[reconciler_pb2.SnapshotItem]],
    expected: int,
    probe: CpuProbe,
    *,
    warmup: float,
    seconds: float,
) -> IngestRow:
    """One Reconcile session: batches back to back, at most WINDOW unacknowledged, for warm-up + seconds."""
    clock = time.perf_counter
    window = _Window(clock() + warmup, clock() + warmup + seconds, probe)
    call = reconciler_pb2_grpc.ReconcilerServiceStub(channel).Reconcile()
    await call.write(reconciler_pb2.ReconcileRequest(hello=reconciler_pb2.ReconcilerHello(identity="bench")))
    slots = asyncio.Semaphore(WINDOW)
    sent: dict[int, float] = {}
    latencies: list[float] = []
    counts = {"snapshots": 0, "unexpected": 0}

    async def write() -> None:
        for sequence in itertools.count(1):
            await slots.acquire()
            if clock() >= window.end:
                break
            items = batch()
            sent[sequence] = clock()
            await call.write(
                reconciler_pb2.ReconcileRequest(
                    batch=reconciler_pb2.SnapshotBatch(sequence=sequence, items=items)
                )
            )
        await call.done_writing()

    async def read() -> None:
        while (response := await call.read()) is not grpc.aio.EOF:
            if response.WhichOneof("message") != "ack":
                continue
            done = clock()
            slots.release()
            began = sent.pop(response.ack.sequence)
            if window.begin <= done <= window.end:
                latencies.append(done - began)
                counts["snapshots"] += len(response.ack.verdicts)
                counts["unexpected"] += sum(1 for v in response.ack.verdicts if v != expected)

    measuring = asyncio.create_task(window.measure())
    error = ""
    try:
        async with asyncio.timeout(warmup + seconds + CALL_TIMEOUT_S):
            await asyncio.gather(write(), read())
    except (grpc.aio.AioRpcError, TimeoutError) as failure:
        error = f"{type(failure).__name__}: {failure}"[:300]
        call.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await measuring
    latencies.sort()
    return IngestRow(
        scenario,
        counts["snapshots"],
        seconds,
        percentile(latencies, 0.50) * 1e3,
        percentile(latencies, 0.99) * 1e3,
        counts["unexpected"] + (1 if error else 0),
        cpu_per_request(window.before, window.after, counts["snapshots"]) if window.after else {},
        first_error=error,
    )


async def prime(channel: grpc.aio.Channel, batches: Sequence[list[reconciler_pb2.SnapshotItem]]) -> None:
    """One session that sends each batch once and waits for every acknowledgement."""
    call = reconciler_pb2_grpc.ReconcilerServiceStub(channel).Reconcile()
    await call.write(reconciler_pb2.ReconcileRequest(hello=reconciler_pb2.ReconcilerHello(identity="bench")))
    for sequence, items in enumerate(batches, 1):
        batch = reconciler_pb2.SnapshotBatch(sequence=sequence, items=items)
        await call.write(reconciler_pb2.ReconcileRequest(batch=batch))
    await call.done_writing()
    async with asyncio.timeout(CALL_TIMEOUT_S * max(1, len(batches))):
        while await call.read() is not grpc.aio.EOF:
            pass


async def ceiling(
    dsn: str, objects: Sequence[ClusterObject], probe: CpuProbe, *, warmup: float, seconds: float
) -> IngestRow:
    """Bare asyncpg upserts of batches of BATCH_ITEMS rows shaped like cluster_objects, back to back."""
    versions = itertools.count(1)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(CEILING_DDL)
        upsert = await connection.prepare(CEILING_UPSERT)
        columns = [
            [o.uid for o in objects],
            [o.api_version for o in objects],
            [o.kind for o in objects],
            [NAMESPACE] * len(objects),
            [o.name for o in objects],
            None,
            ["AgentRun"] * len(objects),
            [uuid.UUID(o.run_id) for o in objects],
            [1] * len(objects),
            [o.facts for o in objects],
        ]
        clock = time.perf_counter
        window = _Window(clock() + warmup, clock() + warmup + seconds, probe)
        measuring = asyncio.create_task(window.measure())
        latencies: list[float] = []
        rows = 0
        while (began := clock()) < window.end:
            columns[5] = [str(next(versions)) for _ in objects]
            async with connection.transaction():
                await upsert.fetch(*columns)
            done = clock()
            if window.begin <= done <= window.end:
                latencies.append(done - began)
                rows += len(objects)
        await measuring
    finally:
        # The database may be one tests share, whose schema must stay what the migrations make.
        await connection.execute(f"DROP TABLE IF EXISTS {CEILING_TABLE}")
        await connection.close()
    latencies.sort()
    return IngestRow(
        f"ceiling: bare upsert, {len(objects)}/batch",
        rows,
        seconds,
        percentile(latencies, 0.50) * 1e3,
        percentile(latencies, 0.99) * 1e3,
        0,
        # No server in play: the client is the upserter.
        {k: v for k, v in cpu_per_request(window.before, window.after, rows).items() if k != "server"},
        ceiling=True,
    )


async def stream_ingest(
    server_address: str,
    dsn: str,
    server_probe: CpuProbe,
    ceiling_probe: CpuProbe,
    *,
    runs: int,
    seconds: float,
    warmup: float = WARMUP_SECONDS,
) -> list[IngestRow]:
    async with grpc.aio.insecure_channel(server_address) as channel:
        created = await create_job_runs(channel, runs, NAMESPACE)
        objects = [o for run in created for o in job_and_pod(run.id, run.name)]
        batches = [objects[i : i + BATCH_ITEMS] for i in range(0, len(objects), BATCH_ITEMS)]
        versions = itertools.count(int(time.time() * 1000))
        passes = itertools.cycle(batches)
        last: list[reconciler_pb2.SnapshotItem] = []

        def fresh() -> list[reconciler_pb2.SnapshotItem]:
            nonlocal last
            last = [o.snapshot(str(next(versions))) for o in next(passes)]
            return last

        rows = [await ceiling(dsn, batches[0], ceiling_probe, warmup=warmup, seconds=seconds)]
        # The first pass moves every run to Running, outside the measurement: after it, no phase changes.
        await prime(channel, [fresh() for _ in batches])
        rows.append(
            await stream(
                channel,
                "Reconcile: new versions",
                fresh,
                Verdict.SNAPSHOT_VERDICT_APPLIED,
                server_probe,
                warmup=warmup,
                seconds=seconds,
            )
        )
        resent = list(last)
        rows.append(
            await stream(
                channel,
                "Reconcile: resent",
                lambda: resent,
                Verdict.SNAPSHOT_VERDICT_DUPLICATE,
                server_probe,
                warmup=warmup,
                seconds=seconds,
            )
        )
    return rows


# ---------------------------------------------------------------------------------------------------------
# End-to-end lag


class JobChanges:
    """When the fake first stored each run's Job (created by the server's outbox), wrote it active, and
    finished: a store subscriber, so the time is taken as the change is committed, before any watch sees
    it."""

    def __init__(self) -> None:
        self.written: dict[str, float] = {}
        self.active: dict[str, float] = {}
        self.finished: dict[str, float] = {}

    def on_event(self, event: Event) -> None:
        if event.resource_type is not JOBS or event.type == "DELETED":
            return
        run_id = ((event.obj.get("metadata") or {}).get("labels") or {}).get(cr.RUN_ID_LABEL)
        if not run_id:
            return
        self.written.setdefault(run_id, time.monotonic())
        facts = cluster_facts.job_facts(event.obj)
        if facts["state"] == cluster_facts.ACTIVE:
            self.active.setdefault(run_id, time.monotonic())
        elif cluster_facts.job_finished(facts):
            self.finished.setdefault(run_id, time.monotonic())


async def create_database(dsn: str, name: str) -> str:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return name


async def drop_database(dsn: str, name: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def watch_rows(
    dsn: str, run_ids: Sequence[str], *, within: float
) -> tuple[dict[str, float], dict[str, float]]:
    """When a poll of the run rows first showed each one Running (or past it), and terminal."""
    running: dict[str, float] = {}
    terminal: dict[str, float] = {}
    ids = [uuid.UUID(i) for i in run_ids]
    deadline = time.monotonic() + within
    connection = await asyncpg.connect(dsn)
    try:
        query = await connection.prepare("SELECT id, status FROM agent_runs WHERE id = ANY($1::uuid[])")
        while len(terminal) < len(ids) and time.monotonic() < deadline:
            pending = [i for i in ids if str(i) not in terminal]
            for row_id, status in await query.fetch(pending):
                seen = time.monotonic()
                if status != "Pending":
                    running.setdefault(str(row_id), seen)
                if status not in ("Pending", "Running"):
                    terminal.setdefault(str(row_id), seen)
            await asyncio.sleep(LAG_POLL_SECONDS)
    finally:
        await connection.close()
    return running, terminal


def lag_row(change: str, changed: dict[str, float], shown: dict[str, float]) -> LagRow:
    lags = sorted(shown[run] - at for run, at in changed.items() if run in shown)
    return LagRow(
        change,
        len(changed),
        len(lags),
        percentile(lags, 0.50) * 1e3,
        percentile(lags, 0.99) * 1e3,
        lags[-1] * 1e3 if lags else float("nan"),
    )


async def end_to_end_lag(
    database_url: str, work_dir: Path, *, runs: int, run_seconds: float = LAG_RUN_SECONDS
) -> list[LagRow]:
    """A server with KUBECONFIG naming a fake in this process, and a real reconciler; see the docstring."""
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    name = await create_database(dsn, f"bench_lag_{secrets.token_hex(4)}")
    url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    lag_dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    try:
        await asyncio.to_thread(upgrade_to_head, url)
        async with fake_cluster(NAMESPACE, kubelet=KubeletConfig()) as fake:
            changes = JobChanges()
            fake.store.subscribe(changes.on_event)
            fake.kubelet.script(JobScript.succeed(run_seconds=run_seconds), namespace=NAMESPACE)
            async with (
                cluster_server(
                    fake,
                    url,
                    work_dir,
                    "lag",
                    JANGAR_LOG_LEVEL="WARNING",
                    JANGAR_MAX_REQUEST_BYTES=MAX_REQUEST_BYTES,
                ) as server,
                cluster_reconciler(fake, server, work_dir, "lag"),
            ):
                # Leader, and watching runs, Jobs and Pods: what it sees from now on is streamed.
                await fake.wait_for(lambda: fake.open_watches >= 4, within=30)
                accepted: dict[str, float] = {}
                async with grpc.aio.insecure_channel(server.address) as channel:
                    created = await create_job_runs(channel, runs, NAMESPACE, accepted)
                within = max(30.0, run_seconds + runs * 0.2)
                running, terminal = await watch_rows(lag_dsn, [r.id for r in created], within=within)
    finally:
        await drop_database(dsn, name)
    return [
        # The other way round: from the server (the create answered) to the fake (its outbox wrote the Job).
        lag_row("create answered → Job written", accepted, changes.written),
        lag_row("Job active → run Running", changes.active, running),
        lag_row("Job Complete → run Succeeded", changes.finished, terminal),
        # What a caller sees of both: from its create's answer to the run Running.
        lag_row("create answered → run Running", accepted, running),
    ]


# ---------------------------------------------------------------------------------------------------------
# Entry point for tests/bench.py, and the report


async def run_section(
    *,
    server_address: str,
    database_url: str,
    work_dir: Path,
    server_probe: CpuProbe,
    ceiling_probe: CpuProbe,
    seconds: float = DEFAULT_SECONDS,
    ingest_runs: int = DEFAULT_INGEST_RUNS,
    lag_runs: int = DEFAULT_LAG_RUNS,
    lag_run_seconds: float = LAG_RUN_SECONDS,
    warmup: float = WARMUP_SECONDS,
) -> Section:
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    section = Section(ingest_runs=ingest_runs, lag_runs=lag_runs, seconds=seconds)
    section.ingest = await stream_ingest(
        server_address, dsn, server_probe, ceiling_probe, runs=ingest_runs, seconds=seconds, warmup=warmup
    )
    section.lag = await end_to_end_lag(database_url, work_dir, runs=lag_runs, run_seconds=lag_run_seconds)
    return section


COLUMNS = (
    ("scenario", 34, "<"),
    ("snap/s", 8, ">"),
    ("ack p50 ms", 10, ">"),
    ("ack p99 ms", 10, ">"),
    ("errors", 6, ">"),
    ("of ceiling", 10, ">"),
    ("server", 6, ">"),
    ("pg", 5, ">"),
    ("client", 6, ">"),
)


def _line(cells: Sequence[str]) -> str:
    return "  ".join(f"{cell:{align}{width}}" for cell, (_, width, align) in zip(cells, COLUMNS, strict=True))


def report(section: Section) -> str:
    ceiling_rate = next((r.rate for r in section.ingest if r.ceiling), 0.0)
    header = _line([name for name, _, _ in COLUMNS])

    def cpu(row: IngestRow, name: str) -> str:
        return f"{row.cpu_us[name]:.0f}" if name in row.cpu_us else "-"

    def ingest(row: IngestRow) -> str:
        share = f"{row.rate / ceiling_rate:.0%}" if not row.ceiling and ceiling_rate > 0 else "-"
        return _line(
            [
                row.scenario,
                f"{row.rate:,.0f}",
                f"{row.p50_ms:.1f}",
                f"{row.p99_ms:.1f}",
                str(row.unexpected),
                share,
                *(cpu(row, n) for n in ("server", "postgres", "client")),
            ]
        )

    lines = [
        f"Reconciler stream ingest: {section.ingest_runs} job runs (a Job and a Pod each), batches of "
        f"{BATCH_ITEMS}, {WINDOW} in flight on one stream, {section.seconds:g} s per scenario "
        "(goal: ≥ 5,000 snap/s)",
        "",
        f"{'':{sum(w for _, w, _ in COLUMNS[:6]) + 2 * 6}}CPU µs per snapshot",
        header,
        "-" * len(header),
        *(ingest(row) for row in section.ingest),
        "",
        f"End-to-end lag (fake API server in this process, real reconciler and server; {section.lag_runs} "
        "runs created as one burst): the server's outbox to the cluster, then cluster changes to the run row "
        "(goal for those: p99 < 1 s)",
        *(
            f"  {row.change:30}  p50 {row.p50_ms:7.1f} ms  p99 {row.p99_ms:7.1f} ms  max {row.max_ms:7.1f} ms"
            f"  ({row.observed} of {row.runs} runs)"
            for row in section.lag
        ),
        "",
        "'errors': verdicts other than APPLIED (new versions) or DUPLICATE (resent), and failed streams; "
        "'of ceiling': snap/s over the bare upsert's rows/s.",
        f"Note: co-located on a shared {os.cpu_count()}-core machine; not assertions.",
    ]
    failures = [f"  {row.scenario}: {row.first_error}" for row in section.ingest if row.first_error]
    if failures:
        lines += ["", "Stream errors:", *failures]
    return "\n".join(lines)
