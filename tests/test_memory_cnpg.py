"""A Memory on a CloudNativePG Cluster (docs/memory.md): the reconciler watches the Cluster in the fake
Kubernetes API server and the server maps its readiness onto the Memory; once ready, the upkeep reads the
Cluster's `<name>-app` Secret through the API server and connects. Real server process, real reconciler,
real Postgres standing for the Cluster's database."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import pytest

from jangar.v1 import memory_pb2, memory_pb2_grpc, memory_record_pb2, memory_record_pb2_grpc
from tests import builders
from tests.fakekube import FakeKube, KubeletConfig
from tests.fakekube.jangar import jangar_custom_resources
from tests.fakekube.kinds import CustomResource
from tests.memory_support import store_database, until, upkeep_server
from tests.reconciler_support import config_for, running
from tests.support import PROJECT_ROOT, unique

Phase = memory_pb2.MemoryStatus
CNPG_CLUSTERS = CustomResource(group="postgresql.cnpg.io", plural="clusters", kind="Cluster", version="v1")
SECRET = f"cnpg-{unique('pw')}"
MERGE = "application/merge-patch+json"


@pytest.fixture
async def kube():
    async with FakeKube(
        crds=[*jangar_custom_resources(PROJECT_ROOT), CNPG_CLUSTERS], kubelet=KubeletConfig()
    ) as fake:
        yield fake
        assert fake.internal_errors == []


@pytest.fixture
async def app_uri(pg_url: str) -> str:
    """The `uri` of the Cluster's app Secret: a database of the tests' Postgres, with a password in it."""
    return await store_database(pg_url, "cnpg", SECRET)


@pytest.fixture
async def cnpg_server(kube: FakeKube, own_database, work_dir: Path, tmp_path: Path):
    kubeconfig = kube.write_kubeconfig(tmp_path / "server-kubeconfig")
    process = upkeep_server(
        await own_database("memory_cnpg"), work_dir, "cnpg-server", KUBECONFIG=str(kubeconfig)
    )
    process.start()
    yield process
    process.stop()


def _cluster_status(kube: FakeKube, name: str, ready: str, phase: str) -> None:
    status = {
        "status": {
            "phase": phase,
            "conditions": [
                {"type": "Ready", "status": ready, "reason": phase.replace(" ", ""), "message": phase}
            ],
        }
    }
    kube.store.patch(
        kube.resource("clusters"), "default", name, MERGE, json.dumps(status).encode(), subresource="status"
    )


async def test_a_memory_follows_its_cnpg_cluster(kube, cnpg_server, app_uri, tmp_path):
    kube.create(
        "secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "pg-app"},
            "data": {"uri": base64.b64encode(app_uri.encode()).decode()},
        },
    )
    async with grpc.aio.insecure_channel(cnpg_server.address) as channel:
        memories = memory_pb2_grpc.MemoryServiceStub(channel)
        records = memory_record_pb2_grpc.MemoryRecordServiceStub(channel)
        memory = memory_pb2.Memory(
            name=unique("mem"),
            spec={"type": memory_pb2.MemorySpec.postgres, "connection": {"cluster_ref": {"name": "pg"}}},
        )
        memory = await memories.CreateMemory(
            memory_pb2.CreateMemoryRequest(memory=memory), metadata=builders.key()
        )

        async def memory_now() -> memory_pb2.Memory:
            return await memories.GetMemory(memory_pb2.GetMemoryRequest(id=memory.id))

        def condition(current: memory_pb2.Memory, type_: str) -> Any:
            return next((c for c in current.status.conditions if c.type == type_), None)

        async def state(phase: int, type_: str, status: str, reason: str) -> memory_pb2.Memory | None:
            current = await memory_now()
            found = condition(current, type_)
            ok = (
                current.status.phase == phase
                and found is not None
                and (found.status, found.reason) == (status, reason)
            )
            return current if ok else None

        # Before the reconciler has reported the Cluster.
        await until(lambda: state(Phase.Unreachable, "Ready", "False", "ClusterNotReady"))

        async with running(config_for(kube, cnpg_server.address, tmp_path, watch_cnpg_clusters=True)):
            kube.create(
                "clusters",
                {
                    "apiVersion": "postgresql.cnpg.io/v1",
                    "kind": "Cluster",
                    "metadata": {"name": "pg"},
                    "spec": {"instances": 1},
                },
            )
            await until(lambda: state(Phase.Unreachable, "ClusterReady", "False", "ClusterNotReady"))

            _cluster_status(kube, "pg", "True", "Cluster in healthy state")
            ready = await until(lambda: state(Phase.Ready, "Ready", "True", "StoreReady"))
            assert condition(ready, "ClusterReady").message == "Cluster in healthy state"

            # A Memory created after the Cluster's last report reads that report.
            later = memory_pb2.Memory(
                name=unique("mem"),
                spec={"type": memory_pb2.MemorySpec.postgres, "connection": {"cluster_ref": {"name": "pg"}}},
            )
            later = await memories.CreateMemory(
                memory_pb2.CreateMemoryRequest(memory=later), metadata=builders.key()
            )

            async def later_ready() -> bool:
                current = await memories.GetMemory(memory_pb2.GetMemoryRequest(id=later.id))
                return current.status.phase == Phase.Ready

            await until(later_ready)

            # The store is the Cluster's database, reached with the app Secret's uri.
            written = await records.WriteMemoryRecords(
                memory_record_pb2.WriteMemoryRecordsRequest(
                    id=memory.id,
                    records=[
                        {"kind": memory_record_pb2.MemoryRecord.document, "text": "stored on the cluster"}
                    ],
                ),
                metadata=builders.key(),
            )
            app = await asyncpg.connect(app_uri)
            try:
                schema = f"memory_{memory.id.replace('-', '')}"
                assert await app.fetchval(f"SELECT text FROM {schema}.records") == "stored on the cluster"
            finally:
                await app.close()
            assert written.records[0].id

            _cluster_status(kube, "pg", "False", "Failing over")
            failing = await until(
                lambda: state(Phase.Unreachable, "ClusterReady", "False", "ClusterNotReady")
            )
            assert condition(failing, "ClusterReady").message == "Failing over"

            kube.store.delete(kube.resource("clusters"), "default", "pg")
            await until(lambda: state(Phase.Unreachable, "ClusterReady", "False", "ClusterDeleted"))

    assert SECRET not in cnpg_server.log_path.read_text()
