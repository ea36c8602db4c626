"""Job runs under faults: two server replicas drain one outbox and a reconciler streams to one of them, while
the test SIGKILLs the reconciler and the servers and restarts them, makes the fake API server answer 500s,
and forces 410 Gone on watches. After a bounded run of at least 200 runs and once the system settles, every
run must have ended as its Job did (zero lost terminal transitions), no attempt may have had two Jobs (zero
duplicate Jobs), and no run may be left Pending or Running (zero stuck runs).

The chaos is random but seeded (JANGAR_FAULT_SEED, default 8), so a failure can be replayed."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import grpc
import pytest

from jangar.server.devstack.processes import free_port
from jangar.v1 import (
    agent_provider_pb2,
    agent_provider_pb2_grpc,
    agent_run_pb2,
    agent_run_pb2_grpc,
)
from tests import builders
from tests.cluster import fake_cluster
from tests.fakekube import FakeKube, JobScript, KubeletConfig
from tests.support import ReconcilerProcess, ServerProcess

NAMESPACE = "faults"
IMAGE = "ghcr.io/proompteng/runner:1"
RUNS = int(os.environ.get("JANGAR_FAULT_RUNS", "200"))
SEED = int(os.environ.get("JANGAR_FAULT_SEED", "8"))
SETTLE_SECONDS = 120.0
# Faults go on this long after the last create, while the last runs are in flight.
CHAOS_AFTER_CREATES_SECONDS = 5.0
# What each agent's Jobs do, and how their runs must end.
OUTCOMES = {
    "ok": ("Succeeded", ""),
    "slow": ("Succeeded", ""),
    "fails": ("Failed", "ExitCode"),
    "hangs": ("Cancelled", "Cancelled"),
}


class System:
    """The processes under test; every one can be killed and restarted."""

    def __init__(self, kube: FakeKube, pg_url: str, work_dir: Path) -> None:
        kubeconfig = kube.write_kubeconfig(work_dir / "faults.kubeconfig")
        env = {"KUBECONFIG": str(kubeconfig), "JANGAR_RETRY_BACKOFF_SECONDS": "0.2"}
        self.servers = [
            ServerProcess(pg_url, free_port(), work_dir / f"faults-server-{i}.log", **env) for i in range(2)
        ]
        self.reconciler = ReconcilerProcess(
            kubeconfig, self.servers[0].address, work_dir / "faults-reconciler.log"
        )
        self.kills: Counter[str] = Counter()

    def start(self) -> None:
        for server in self.servers:
            server.start()
        self.reconciler.start()

    def stop(self) -> None:
        self.reconciler.stop()
        for server in self.servers:
            server.stop()

    def kill_server(self, index: int) -> None:
        self.servers[index].stop(sig=signal.SIGKILL)
        self.kills[f"server-{index}"] += 1

    def restart_server(self, index: int) -> None:
        self.servers[index].start()

    def kill_reconciler(self) -> None:
        self.reconciler.stop(sig=signal.SIGKILL)
        self.kills["reconciler"] += 1

    def restart_reconciler(self) -> None:
        self.reconciler.start()

    def alive(self) -> list[ServerProcess]:
        return [s for s in self.servers if s.process is not None and s.process.poll() is None]


@pytest.fixture
async def kube() -> AsyncIterator[FakeKube]:
    async with fake_cluster(NAMESPACE, kubelet=KubeletConfig()) as fake:
        yield fake


@pytest.fixture
async def database(own_database) -> str:
    return await own_database("faults")


@pytest.fixture
async def db(database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(
        database.replace("postgresql+asyncpg://", "postgresql://"), min_size=1, max_size=2
    )
    yield pool
    await pool.close()


@pytest.fixture
async def system(kube: FakeKube, database: str, work_dir: Path) -> AsyncIterator[System]:
    # The fake is served by this event loop: processes are started and stopped from a thread.
    processes = System(kube, database, work_dir)
    await asyncio.to_thread(processes.start)
    yield processes
    await asyncio.to_thread(processes.stop)


async def call(system: System, method: str, request, *, key: str) -> object:
    """An idempotent call to whichever server is up, retried (same key) until one answers."""
    deadline = time.monotonic() + 60
    while True:
        for server in system.alive():
            try:
                async with grpc.aio.insecure_channel(server.address) as channel:
                    stub = agent_run_pb2_grpc.AgentRunServiceStub(channel)
                    return await getattr(stub, method)(
                        request, metadata=[("idempotency-key", key)], timeout=5
                    )
            except grpc.aio.AioRpcError as error:
                if error.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise
        assert time.monotonic() < deadline, "no server answered for a minute"
        await asyncio.sleep(0.2)


async def definitions(system: System, kube: FakeKube) -> dict[str, str]:
    """One provider and one agent per outcome; returns outcome -> agent name."""
    scripts = {
        "ok": JobScript.succeed(json.dumps({"status": "succeeded"})),
        "slow": JobScript.succeed(run_seconds=1.0, pending_seconds=0.3),
        "fails": JobScript.fail(2, logs="boom\n"),
        "hangs": JobScript.hang(),
    }
    agents = {}
    async with grpc.aio.insecure_channel(system.servers[1].address) as channel:
        provider = builders.provider(builders.unique("faults"), NAMESPACE)
        provider.spec.workload.image = IMAGE
        await agent_provider_pb2_grpc.AgentProviderServiceStub(channel).CreateAgentProvider(
            agent_provider_pb2.CreateAgentProviderRequest(agent_provider=provider), metadata=builders.key()
        )
        for outcome, script in scripts.items():
            agent = builders.agent(builders.unique(outcome), NAMESPACE)
            agent.spec.provider_ref.name = provider.name
            agent.spec.defaults.retry_limit = 0
            agent.spec.defaults.timeout_seconds = 0
            await builders.create_agent(channel, agent)
            kube.kubelet.script(script, labels=f"jangar.proompteng.ai/agent={agent.name}")
            agents[outcome] = agent.name
    return agents


async def chaos(system: System, kube: FakeKube, rng: random.Random, stop: asyncio.Event) -> Counter[str]:
    """Random faults until `stop`: kills (and restarts) of each process, 500s, 410s."""
    done: Counter[str] = Counter()
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(0.3, 1.2))
        action = rng.choice(["reconciler", "server-0", "server-1", "500s", "410", "cut-watches"])
        done[action] += 1
        if action == "reconciler":
            await asyncio.to_thread(system.kill_reconciler)
            await asyncio.sleep(rng.uniform(0.1, 1.0))
            await asyncio.to_thread(system.restart_reconciler)
        elif action.startswith("server-"):
            index = int(action[-1])
            await asyncio.to_thread(system.kill_server, index)
            await asyncio.sleep(rng.uniform(0.1, 1.0))
            await asyncio.to_thread(system.restart_server, index)
        elif action == "500s":
            kube.faults.fail_next(rng.randint(3, 15), 500)
        elif action == "410":
            kube.compact()
            kube.faults.expire_next_watches(rng.randint(1, 3))
            kube.end_watches()
        else:
            kube.drop_watches()
    return done


async def test_runs_survive_kills_api_errors_and_expired_watches(system, kube, db):
    # Two generators: what the workload does does not depend on when the faults happened.
    rng, chaos_rng = random.Random(SEED), random.Random(SEED + 1)
    jobs_added: Counter[tuple[str, str]] = Counter()

    def count_jobs(event) -> None:
        if event.resource_type.plural == "jobs" and event.type == "ADDED":
            labels = event.obj["metadata"].get("labels", {})
            key = (
                labels.get("jangar.proompteng.ai/run-id", ""),
                labels.get("jangar.proompteng.ai/attempt", ""),
            )
            jobs_added[key] += 1

    kube.store.subscribe(count_jobs)
    agents = await definitions(system, kube)
    stop = asyncio.Event()
    faults = asyncio.create_task(chaos(system, kube, chaos_rng, stop))
    expected: dict[str, str] = {}
    pending_cancels: list[str] = []
    outcomes = [rng.choice(["ok", "ok", "slow", "fails", "hangs"]) for _ in range(RUNS)]
    for start in range(0, RUNS, 10):

        async def create(outcome: str) -> None:
            run = builders.agent_run(agents[outcome], NAMESPACE)
            run.spec.workload.image = IMAGE
            request = agent_run_pb2.CreateAgentRunRequest(agent_run=run)
            created = await call(system, "CreateAgentRun", request, key=f"fault-{uuid.uuid4()}")
            expected[created.id] = outcome  # type: ignore[attr-defined]
            if outcome == "hangs":
                pending_cancels.append(created.id)  # type: ignore[attr-defined]

        await asyncio.gather(*(create(o) for o in outcomes[start : start + 10]))
        for run_id in pending_cancels[:]:
            if rng.random() < 0.5:
                continue  # cancelled later, maybe while Running
            pending_cancels.remove(run_id)
            request = agent_run_pb2.CancelAgentRunRequest(id=run_id, reason="chaos")
            await call(system, "CancelAgentRun", request, key=f"cancel-{run_id}")
        # Paced, so that runs start, run and end while the faults go on.
        await asyncio.sleep(0.5)
    for run_id in pending_cancels:
        request = agent_run_pb2.CancelAgentRunRequest(id=run_id, reason="chaos")
        await call(system, "CancelAgentRun", request, key=f"cancel-{run_id}")
    await asyncio.sleep(CHAOS_AFTER_CREATES_SECONDS)
    stop.set()
    done = await faults
    # Whatever is down now comes back: the system settles with every process running.
    await asyncio.to_thread(_restart_dead, system)

    ids = [uuid.UUID(i) for i in expected]
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        rows = await db.fetch("SELECT id, status FROM agent_runs WHERE id = ANY($1)", ids)
        unfinished = [r for r in rows if r["status"] in ("Pending", "Running")]
        if not unfinished or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    summary = f"chaos {dict(done)}; kills {dict(system.kills)}"
    print(f"{RUNS} runs, {summary}")
    assert len(rows) == RUNS, summary
    if unfinished:
        first = unfinished[0]["id"]
        outbox = await db.fetch(
            "SELECT operation, attempt, tries, last_error FROM outbox WHERE run_id = $1", first
        )
        seen = await db.fetch(
            "SELECT kind, name, resource_version, deleted, facts, terminal_at, settled FROM cluster_objects"
            " WHERE run_id = $1",
            first,
        )
        stuck = Counter(expected[str(r["id"])] for r in unfinished)
        detail = (
            f"stuck by outcome {dict(stuck)}; {first}: outbox {[dict(r) for r in outbox]}, "
            f"seen {[dict(r) for r in seen]}"
        )
        raise AssertionError(f"{len(unfinished)} runs stuck non-terminal; {summary}; {detail}")

    wrong = []
    for row in rows:
        phase, _ = OUTCOMES[expected[str(row["id"])]]
        if row["status"] != phase:
            wrong.append((str(row["id"]), expected[str(row["id"])], row["status"]))
    assert not wrong, f"{len(wrong)} runs ended otherwise than their Job: {wrong[:5]}; {summary}"

    terminal = await db.fetch(
        """SELECT run_id, count(*) AS n, array_agg(reason) AS reasons FROM run_transitions
           WHERE run_id = ANY($1) AND to_phase IN ('Succeeded', 'Failed', 'Cancelled') GROUP BY run_id""",
        ids,
    )
    assert len(terminal) == RUNS and all(r["n"] == 1 for r in terminal), summary
    for record in terminal:
        _, reason = OUTCOMES[expected[str(record["run_id"])]]
        if reason:
            assert record["reasons"] == [reason], (str(record["run_id"]), record["reasons"])

    duplicates = {key: n for key, n in jobs_added.items() if n > 1}
    assert not duplicates, f"attempts with more than one Job: {duplicates}; {summary}"
    for run_id, outcome in expected.items():
        if outcome != "hangs":
            assert jobs_added[(run_id, "1")] == 1, (run_id, outcome, summary)
    assert {k for k, _ in jobs_added} <= set(expected)


def _restart_dead(system: System) -> None:
    for index, server in enumerate(system.servers):
        if server.process is None or server.process.poll() is not None:
            system.restart_server(index)
    if system.reconciler.process is None or system.reconciler.process.poll() is not None:
        system.restart_reconciler()
