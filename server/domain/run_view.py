"""`GET /v1/runs/{id}` and `GET /v1/runs`: one shape for every kind of run, so a caller that knows only a
run id never branches on its type. Only a get carries the phase history and the run's Artifacts (a list
would need queries per run)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from jangar.server.core.errors import FieldViolation, invalid_argument, not_found
from jangar.server.core.pages import PageTokens, query_hash
from jangar.server.core.query import ListQuery
from jangar.server.domain import common
from jangar.server.domain.runs import phase_name
from jangar.server.repository import rows, run_view
from jangar.server.repository.database import Database, Tx
from jangar.server.repository.mapping import STORED
from jangar.v1 import run_pb2


class RunViewUseCases:
    def __init__(self, database: Database, page_tokens: PageTokens) -> None:
        self._database = database
        self._page_tokens = page_tokens

    async def get(self, id_or_name: str, namespace: str) -> run_pb2.Run:
        ref = common.resolve_ref(id_or_name, namespace)
        # One statement on the pooled asyncpg connection itself: no BEGIN and COMMIT around it, and none of
        # SQLAlchemy's per-connection work (GetRun is every UI's poll).
        async with self._database.driver_connection() as connection:
            runs = await run_view.find_runs(connection, ref)
        if len(runs) == 1 and any(a.artifact_id for a in runs[0].runner.artifacts):
            async with self._database.connection() as db:
                await _add_artifacts(db, runs[0])
        if not runs:
            raise not_found("Run", id_or_name, None if ref.id else ref.namespace)
        if len(runs) > 1:
            kinds = " and ".join(f"{run.kind} {run.id}" for run in runs)
            raise invalid_argument(
                [FieldViolation("id", f"the name {id_or_name!r} matches {kinds}; use the run's id")],
                reason="RUN_NAME_AMBIGUOUS",
            )
        return runs[0]

    async def list(
        self, *, namespace: str, page_size: int, page_token: str, label_selector: str, phases: Sequence[int]
    ) -> tuple[list[run_pb2.Run], str]:
        only_namespace = common.namespace_filter(namespace)
        selector = common.selector(label_selector)
        phase_names = sorted({phase_name(p) for p in phases})
        page = self._page_tokens.page_request(
            page_size, page_token, query_hash("Run", only_namespace, selector.canonical(), phase_names)
        )
        query = ListQuery(page=page, namespace=only_namespace, selector=selector, phases=phase_names)
        async with self._database.connection() as db:
            result = await run_view.list_runs(db, query)
        return result.items, self._page_tokens.next_page_token(page, result.next_cursor)


async def _add_artifacts(db: Tx, run: run_pb2.Run) -> None:
    """The Artifacts registered from the run's runner status (domain/artifact_registration.py), in the order
    the runner listed them; one deleted since is left out."""
    ids = [uuid.UUID(a.artifact_id) for a in run.runner.artifacts if a.artifact_id]
    run.artifacts.extend(await rows.find_many(db, STORED["Artifact"], ids))
