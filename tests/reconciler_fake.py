"""An in-test fake of the server side of jangar.v1.ReconcilerService, for the reconciler's tests: it records
every item, answers APPLIED for a new (uid, resourceVersion) and DUPLICATE for one it has seen, and can hold
its acknowledgements, drop the stream, or ask for a relist."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import grpc

from jangar.v1 import reconciler_pb2, reconciler_pb2_grpc

APPLIED = reconciler_pb2.SNAPSHOT_VERDICT_APPLIED
DUPLICATE = reconciler_pb2.SNAPSHOT_VERDICT_DUPLICATE
_DROP = object()


@dataclass
class Session:
    hello: reconciler_pb2.ReconcilerHello
    batches: list[reconciler_pb2.SnapshotBatch] = field(default_factory=list)
    acked: set[int] = field(default_factory=set)
    held: list[reconciler_pb2.SnapshotBatch] = field(default_factory=list)
    outbox: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    max_unacked: int = 0
    open: bool = True

    @property
    def unacked(self) -> int:
        return len(self.batches) - len(self.acked)

    def items(self) -> list[reconciler_pb2.SnapshotItem]:
        return [item for batch in self.batches for item in batch.items]


class FakeReconcilerServer(reconciler_pb2_grpc.ReconcilerServiceServicer):
    def __init__(self) -> None:
        self.sessions: list[Session] = []
        self.seen: set[tuple[str, str]] = set()
        self.hold_acks = False
        self.port = 0
        self._server: grpc.aio.Server | None = None

    async def start(self) -> FakeReconcilerServer:
        self._server = grpc.aio.server()
        reconciler_pb2_grpc.add_ReconcilerServiceServicer_to_server(self, self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        await self._server.start()
        return self

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(0)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    # ---- what the tests look at -------------------------------------------------------------------------

    def snapshots(self, kind: str | None = None) -> list[reconciler_pb2.ObjectSnapshot]:
        return [
            item.object
            for session in self.sessions
            for item in session.items()
            if item.WhichOneof("item") == "object" and (kind is None or item.object.kind == kind)
        ]

    def markers(self, kind: str | None = None) -> list[reconciler_pb2.ListCompleted]:
        return [
            item.list_completed
            for session in self.sessions
            for item in session.items()
            if item.WhichOneof("item") == "list_completed"
            and (kind is None or item.list_completed.kind == kind)
        ]

    def latest(self, kind: str, name: str) -> dict[str, Any] | None:
        """The last snapshot of an object, decoded, with the snapshot's `deleted` flag under `_deleted`."""
        found = [s for s in self.snapshots(kind) if s.name == name]
        if not found:
            return None
        obj = json.loads(found[-1].object)
        obj["_deleted"] = found[-1].deleted
        return obj

    @property
    def current(self) -> Session | None:
        open_sessions = [session for session in self.sessions if session.open]
        return open_sessions[-1] if open_sessions else None

    # ---- what the tests do ------------------------------------------------------------------------------

    def release_acks(self) -> None:
        self.hold_acks = False
        for session in self.sessions:
            if session.open:
                for batch in session.held:
                    session.outbox.put_nowait(self._ack(session, batch))
                session.held.clear()

    def drop(self) -> None:
        for session in self.sessions:
            if session.open:
                session.outbox.put_nowait(_DROP)

    def relist(self, api_version: str, kind: str, namespace: str = "", reason: str = "test") -> None:
        session = self.current
        assert session is not None, "no open session"
        request = reconciler_pb2.RelistRequest(
            api_version=api_version, kind=kind, namespace=namespace, reason=reason
        )
        session.outbox.put_nowait(reconciler_pb2.ReconcileResponse(relist=request))

    async def wait_for(self, condition: Any, within: float = 20.0) -> Any:
        deadline = time.monotonic() + within
        while True:
            result = condition()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {within} s")
            await asyncio.sleep(0.02)

    # ---- the service --------------------------------------------------------------------------------------

    def _ack(self, session: Session, batch: reconciler_pb2.SnapshotBatch) -> reconciler_pb2.ReconcileResponse:
        verdicts = []
        for item in batch.items:
            if item.WhichOneof("item") == "object":
                key = (item.object.uid, item.object.resource_version)
                verdicts.append(DUPLICATE if key in self.seen else APPLIED)
                self.seen.add(key)
            else:
                verdicts.append(APPLIED)
        session.acked.add(batch.sequence)
        return reconciler_pb2.ReconcileResponse(
            ack=reconciler_pb2.BatchAck(sequence=batch.sequence, verdicts=verdicts)
        )

    async def Reconcile(self, request_iterator: Any, context: grpc.aio.ServicerContext) -> None:
        first = await context.read()
        assert first.WhichOneof("message") == "hello", first
        session = Session(first.hello)
        self.sessions.append(session)

        async def receive() -> None:
            while True:
                request = await context.read()
                if request is grpc.aio.EOF:
                    return
                batch = request.batch
                session.batches.append(batch)
                session.max_unacked = max(session.max_unacked, session.unacked)
                if self.hold_acks:
                    session.held.append(batch)
                else:
                    session.outbox.put_nowait(self._ack(session, batch))

        receiver = asyncio.get_running_loop().create_task(receive())
        try:
            while True:
                message = await session.outbox.get()
                if message is _DROP:
                    await context.abort(grpc.StatusCode.UNAVAILABLE, "dropped by the test")
                await context.write(message)
        finally:
            session.open = False
            receiver.cancel()
            with contextlib.suppress(BaseException):
                await receiver
