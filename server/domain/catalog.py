"""Every use case of the server, one per kind of the registry, sharing one Database and one page token
codec."""

from __future__ import annotations

from dataclasses import dataclass

from jangar.server.core.kinds import registry
from jangar.server.core.pages import PageTokens
from jangar.server.core.secrets import NoSecrets, SecretReader
from jangar.server.domain.cluster_ingest import ClusterIngest
from jangar.server.domain.definitions import DefinitionUseCases
from jangar.server.domain.embeddings import Embedder
from jangar.server.domain.execution import RunExecution
from jangar.server.domain.launch import RuntimePolicy
from jangar.server.domain.memory_records import MemoryRecordUseCases
from jangar.server.domain.memory_stores import MemoryStores
from jangar.server.domain.memory_upkeep import MemoryUpkeep
from jangar.server.domain.run_view import RunViewUseCases
from jangar.server.domain.runs import RunUseCases
from jangar.server.repository.database import Database


@dataclass(frozen=True)
class UseCases:
    database: Database
    definitions: dict[str, DefinitionUseCases]
    runs: dict[str, RunUseCases]
    run_view: RunViewUseCases
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
    secrets: SecretReader | None = None,
    embedder: Embedder | None = None,
) -> UseCases:
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
    # Kinds with storage of their own, created and dropped with their resources.
    lifecycles = {"Memory": stores}
    return UseCases(
        database=database,
        definitions={
            kind.name: DefinitionUseCases(database, kind, page_tokens, lifecycles.get(kind.name))
            for kind in kinds.definitions
        },
        runs=runs,
        run_view=RunViewUseCases(database, page_tokens),
        ingest=ClusterIngest(database, execution, runs),
        memory_records=MemoryRecordUseCases(database, stores, embedder or Embedder(secrets), page_tokens),
        memory_stores=stores,
        memory_upkeep=MemoryUpkeep(database, stores),
    )
