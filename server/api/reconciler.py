"""ReconcilerService: the reconciler's stream of cluster snapshots (docs/reconciler.md). Batches are applied
in the order they arrive, one transaction each, and acknowledged in that order; a batch that fails to apply
(the database is down) ends the stream with an error instead of an acknowledgement, so the reconciler sends
it again on its next session."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from prometheus_client import Counter, Histogram

from jangar.server.api.handlers import Handler
from jangar.server.core.context import RequestContext
from jangar.server.core.errors import FieldViolation, invalid_argument
from jangar.server.domain.cluster_ingest import ClusterIngest
from jangar.v1 import reconciler_pb2

log = logging.getLogger("jangar.server.reconciler")

MAX_BATCH_ITEMS = 500
SNAPSHOTS = Counter(
    "jangar_reconciler_snapshots_total", "Reconciler stream items the server applied, by verdict", ["verdict"]
)
BATCH_SECONDS = Histogram("jangar_reconciler_batch_seconds", "Time to apply one reconciler batch")
descriptor = reconciler_pb2.DESCRIPTOR.services_by_name["ReconcilerService"]


class ReconcilerApi:
    def __init__(self, ingest: ClusterIngest) -> None:
        self._ingest = ingest

    def handlers(self) -> dict[str, Handler]:
        return {"Reconcile": self.reconcile}

    async def reconcile(
        self, requests: AsyncIterator[reconciler_pb2.ReconcileRequest], context: RequestContext
    ) -> AsyncIterator[reconciler_pb2.ReconcileResponse]:
        identity = ""
        async for request in requests:
            which = request.WhichOneof("message")
            if which == "hello":
                identity = request.hello.identity
                log.info("reconciler %s connected", identity or "(unnamed)")
                continue
            if which != "batch":
                raise invalid_argument([FieldViolation("message", "must be a hello or a batch")])
            batch = request.batch
            if len(batch.items) > MAX_BATCH_ITEMS:
                raise invalid_argument(
                    [FieldViolation("batch.items", f"must have at most {MAX_BATCH_ITEMS} items")]
                )
            with BATCH_SECONDS.time():
                result = await self._ingest.apply(batch.items)
            for verdict in result.verdicts:
                SNAPSHOTS.labels(reconciler_pb2.SnapshotVerdict.Name(verdict)).inc()
            # Relist requests first: by the time the reconciler sees the ack, it knows what the batch asked.
            for relist in result.relists:
                yield reconciler_pb2.ReconcileResponse(relist=relist)
            yield reconciler_pb2.ReconcileResponse(
                ack=reconciler_pb2.BatchAck(sequence=batch.sequence, verdicts=result.verdicts)
            )
        log.info("reconciler %s disconnected", identity or "(unnamed)")
