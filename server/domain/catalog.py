"""Every use case of the server, one per kind of the registry, sharing one Database and one page token
codec."""

from __future__ import annotations

from dataclasses import dataclass

from jangar.server.core.kinds import registry
from jangar.server.core.pages import PageTokens
from jangar.server.domain.cluster_ingest import ClusterIngest
from jangar.server.domain.definitions import DefinitionUseCases
from jangar.server.domain.execution import RunExecution
from jangar.server.domain.launch import RuntimePolicy
from jangar.server.domain.records import RecordUseCases
from jangar.server.domain.run_view import RunViewUseCases
from jangar.server.domain.runs import RunUseCases
from jangar.server.repository.database import Database


@dataclass(frozen=True)
class UseCases:
    database: Database
    definitions: dict[str, DefinitionUseCases]
    runs: dict[str, RunUseCases]
    records: dict[str, RecordUseCases]
    run_view: RunViewUseCases
    # The reconciler stream's side of the server.
    ingest: ClusterIngest


def build_use_cases(
    database: Database,
    page_tokens: PageTokens,
    runtimes: RuntimePolicy | None = None,
    execution: RunExecution | None = None,
) -> UseCases:
    kinds = registry()
    runtimes = runtimes or RuntimePolicy()
    execution = execution or RunExecution(database, {})
    runs = {
        kind.name: RunUseCases(database, kind, kinds[kind.parent.kind], page_tokens, runtimes, execution)
        for kind in kinds.runs
        if kind.parent is not None
    }
    return UseCases(
        database=database,
        definitions={
            kind.name: DefinitionUseCases(database, kind, page_tokens) for kind in kinds.definitions
        },
        runs=runs,
        records={
            kind.name: RecordUseCases(database, kind, kinds[kind.parent.kind], page_tokens)
            for kind in kinds.records
            if kind.parent is not None
        },
        run_view=RunViewUseCases(database, page_tokens),
        ingest=ClusterIngest(database, execution, runs),
    )
