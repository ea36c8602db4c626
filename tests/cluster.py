"""A fake cluster for tests and benches that run Jangar's processes against Kubernetes: the fake API server
(tests/fakekube) serving Jangar's custom resources, a server process whose KUBECONFIG names it, and a
reconciler process between the two.

The fake is served by the caller's event loop, so the processes that talk to it are waited for and stopped
from a thread: the loop stays free to answer their calls, the last ones included (the reconciler releases its
Lease on the way out). They are spawned from the calling thread itself, because a child started with a
parent-death signal gets it when the thread that spawned it ends, and executor threads come and go."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from jangar.server.devstack.processes import free_port
from tests.fakekube import FakeKube, KubeletConfig
from tests.fakekube.jangar import jangar_custom_resources
from tests.support import PROJECT_ROOT, ReconcilerProcess, ServerProcess

# Where the reconciler keeps its leader-election Lease.
RECONCILER_NAMESPACE = "jangar"


@asynccontextmanager
async def fake_cluster(*namespaces: str, kubelet: KubeletConfig | None = None) -> AsyncIterator[FakeKube]:
    """The fake API server with `namespaces` and the reconciler's own; `kubelet` scripts what its Jobs do
    (none run without one). On a clean exit the fake must not have failed any request of its own accord."""
    async with FakeKube(crds=jangar_custom_resources(PROJECT_ROOT), kubelet=kubelet) as fake:
        for namespace in (*namespaces, RECONCILER_NAMESPACE):
            fake.create_namespace(namespace)
        yield fake
        assert fake.internal_errors == []


def kubeconfig_of(kube: FakeKube, work_dir: Path, name: str) -> Path:
    """`work_dir/<name>.kubeconfig`, naming `kube`: one file per cluster a test sets up."""
    return kube.write_kubeconfig(work_dir / f"{name}.kubeconfig")


@asynccontextmanager
async def cluster_server(
    kube: FakeKube, database_url: str, work_dir: Path, name: str, **env: str
) -> AsyncIterator[ServerProcess]:
    """A serving server on `database_url` with KUBECONFIG naming `kube`; its log is
    `work_dir/<name>-server.log`, `env` adds to its environment."""
    kubeconfig = kubeconfig_of(kube, work_dir, name)
    process = ServerProcess(
        database_url, free_port(), work_dir / f"{name}-server.log", KUBECONFIG=str(kubeconfig), **env
    )
    process.start(wait=False)
    try:
        await asyncio.to_thread(process.wait_serving)
        yield process
    finally:
        await asyncio.to_thread(process.stop)


@asynccontextmanager
async def cluster_reconciler(
    kube: FakeKube, server: ServerProcess, work_dir: Path, name: str
) -> AsyncIterator[ReconcilerProcess]:
    """A reconciler between `kube` and `server`, its log in `work_dir/<name>-reconciler.log`."""
    process = ReconcilerProcess(
        kubeconfig_of(kube, work_dir, name), server.address, work_dir / f"{name}-reconciler.log"
    )
    process.start()
    try:
        yield process
    finally:
        await asyncio.to_thread(process.stop)
