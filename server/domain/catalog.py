"""Every use case of the server, one per kind of the registry, sharing one Database and one page token
codec."""

from __future__ import annotations

from dataclasses import dataclass

from jangar.server.core.kinds import registry
from jangar.server.core.pages import PageTokens
from jangar.server.core.secrets import NoSecrets, SecretReader
from jangar.server.domain.cluster_ingest import ClusterIngest
from jangar.server.domain.definitions import DefinitionUseCases, WriteHooks
from jangar.server.domain.embeddings import Embedder
from jangar.server.domain.execution import RunExecution
from jangar.server.domain.launch import RuntimePolicy
from jangar.server.domain.memory_records import MemoryRecordUseCases
from jangar.server.domain.memory_stores import MemoryStores
from jangar.server.domain.memory_upkeep import MemoryUpkeep
from jangar.server.domain.records import RecordUseCases
from jangar.server.domain.revisions import RevisionUseCases
from jangar.server.domain.run_view import RunViewUseCases
from jangar.server.domain.runs import RunUseCases
from jangar.server.domain.schedules import Scheduler
from jangar.server.domain.workspaces import WorkspaceProvisioning
from jangar.server.repository.database import Database


@dataclass(frozen=True)
class UseCases:
    database: Database
    definitions: dict[str, DefinitionUseCases]
    runs: dict[str, RunUseCases]
    # The definition kinds that keep revisions.
    revisions: dict[str, RevisionUseCases]
    records: dict[str, RecordUseCases]
    run_view: RunViewUseCases
    # Schedules: their write hooks, firing and the server's scheduler.
    scheduler: Scheduler
    # The reconciler stream's side of the server.
    ingest: ClusterIngest
    memory_records: MemoryRecordUseCases
    memory_stores: MemoryStores
    memory_upkeep: MemoryUpkeep


def build_use_cases(
    database: Database,
    page_tokens: PageTokens,
    runtimes: RuntimePolicy | None = None,
    execution: RunExecution | None = None,
    *,
    cron_jobs: bool = False,
    workspaces: WorkspaceProvisioning | None = None,
    secrets: SecretReader | None = None,
    embedder: Embedder | None = None,
) -> UseCases:
    """`cron_jobs`: Kubernetes CronJobs execute Schedules (the server has a cluster to write them to);
    `workspaces` says how this server provisions Workspaces (local directories unless told); `secrets`
    where Secret values are read at use time (none can be, unless told); `embedder` computes the embeddings
    of memory records that come without one."""
    kinds = registry()
    runtimes = runtimes or RuntimePolicy()
    execution = execution or RunExecution(database, {})
    runs = {
        kind.name: RunUseCases(database, kind, kinds[kind.parent.kind], page_tokens, runtimes, execution)
        for kind in kinds.runs
        if kind.parent is not None
    }
    secrets = secrets or NoSecrets()
    stores = MemoryStores(secrets)
    scheduler = Scheduler(database, runs, execution, cron_jobs=cron_jobs)
    hooks: dict[str, WriteHooks] = {
        "Schedule": scheduler,
        "Workspace": workspaces or WorkspaceProvisioning(cluster=False),
        # Kinds with storage of their own, created and dropped with their resources.
        "Memory": stores,
    }
    return UseCases(
        database=database,
        definitions={
            kind.name: DefinitionUseCases(database, kind, page_tokens, hooks.get(kind.name))
            for kind in kinds.definitions
        },
        scheduler=scheduler,
        runs=runs,
        revisions={
            kind.name: RevisionUseCases(database, kind, page_tokens)
            for kind in kinds.definitions
            if kind.keeps_revisions
        },
        records={
            kind.name: RecordUseCases(database, kind, kinds[kind.parent.kind], page_tokens)
            for kind in kinds.records
            if kind.parent is not None
        },
        run_view=RunViewUseCases(database, page_tokens),
        ingest=ClusterIngest(database, execution, runs, scheduler=scheduler),
        memory_records=MemoryRecordUseCases(database, stores, embedder or Embedder(secrets), page_tokens),
        memory_stores=stores,
        memory_upkeep=MemoryUpkeep(database, stores),
    )
