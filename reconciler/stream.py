"""The Reconcile stream from the reconciler's side: hello, numbered batches, at most `window` of them
unacknowledged, and after a broken session everything unacknowledged again, first, in new batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from jangar.reconciler.backoff import Backoff
from jangar.reconciler.buffer import Entry, SnapshotBuffer
from jangar.reconciler.config import Config
from jangar.reconciler.metrics import Metrics
from jangar.v1 import reconciler_pb2, reconciler_pb2_grpc

log = logging.getLogger("jangar.reconciler.stream")

_VERDICTS = {
    value.number: value.name.removeprefix("SNAPSHOT_VERDICT_").lower()
    for value in reconciler_pb2.DESCRIPTOR.enum_types_by_name["SnapshotVerdict"].values
}


class ProtocolError(Exception):
    """The server answered out of turn (an ack for a batch not in flight, or a wrong number of verdicts)."""


@dataclass
class _Batch:
    sequence: int
    entries: list[Entry]
    sent: float = 0.0  # time.monotonic()


class Streamer:
    def __init__(
        self,
        config: Config,
        buffer: SnapshotBuffer,
        metrics: Metrics,
        on_relist: Callable[[reconciler_pb2.RelistRequest], None],
    ) -> None:
        self._config = config
        self._buffer = buffer
        self._metrics = metrics
        self._on_relist = on_relist
        # Sent and not acknowledged, in order; on a broken session they move to _resend.
        self._in_flight: deque[_Batch] = deque()
        self._resend: deque[Entry] = deque()
        self.connected = False
        self.sessions = 0
        self._last_ack = 0.0

    @property
    def unacknowledged(self) -> int:
        return sum(len(batch.entries) for batch in self._in_flight) + len(self._resend)

    async def run(self) -> None:
        """Sessions, one after another, for ever; reconnects with capped, jittered backoff."""
        backoff = Backoff(cap=self._config.reconnect_backoff_max_seconds)
        while True:
            acknowledged = False
            delay = 0.0
            try:
                acknowledged = await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                detail = error.code().name if isinstance(error, grpc.aio.AioRpcError) else str(error)
                if not acknowledged:
                    delay = backoff.next()
                log.warning(
                    "stream broken, reconnecting",
                    extra={
                        "error": detail or type(error).__name__,
                        "unacknowledged": self.unacknowledged,
                        "retry_in": round(delay, 3),
                    },
                )
            finally:
                self.connected = False
                self._metrics.connected.set(0)
                # Everything in flight goes out again first, before anything newer the buffer holds.
                while self._in_flight:
                    self._resend.extendleft(reversed(self._in_flight.pop().entries))
            if acknowledged:
                # The server was fine a moment ago: come back quickly, but still jittered.
                backoff.reset()
                delay = backoff.next()
            await asyncio.sleep(delay)

    async def _session(self) -> bool:
        """One session until it breaks; True if the server acknowledged anything in it."""
        self.sessions += 1
        if self.sessions > 1:
            self._metrics.reconnects.inc()
        acknowledged = False
        async with grpc.aio.insecure_channel(self._config.server) as channel:
            call = reconciler_pb2_grpc.ReconcilerServiceStub(channel).Reconcile()
            await call.write(
                reconciler_pb2.ReconcileRequest(
                    hello=reconciler_pb2.ReconcilerHello(
                        identity=self._config.identity, namespaces=list(self._config.namespaces)
                    )
                )
            )
            self.connected = True
            self._metrics.connected.set(1)
            log.info(
                "stream connected",
                extra={
                    "server": self._config.server,
                    "session": self.sessions,
                    "resending": len(self._resend),
                },
            )
            window = asyncio.Semaphore(self._config.window)

            async def read() -> None:
                nonlocal acknowledged
                while True:
                    response = await call.read()
                    if response is grpc.aio.EOF:
                        raise ConnectionError("the server ended the stream")
                    which = response.WhichOneof("message")
                    if which == "ack":
                        self._acknowledge(response.ack)
                        self._last_ack = time.monotonic()
                        acknowledged = True
                        window.release()
                    elif which == "relist":
                        self._on_relist(response.relist)

            loop = asyncio.get_running_loop()
            tasks = {loop.create_task(read()), loop.create_task(self._write(call, window))}
            if self._config.ack_timeout_seconds:
                tasks.add(loop.create_task(self._watch_acks()))
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(BaseException):
                        await task
                call.cancel()
        return acknowledged

    async def _watch_acks(self) -> None:
        """A server that stops acknowledging (stuck, or a connection silently gone) ends the session, so that
        the window does not stay full for ever."""
        timeout = self._config.ack_timeout_seconds
        self._last_ack = time.monotonic()
        while True:
            await asyncio.sleep(min(1.0, timeout / 4))
            if self._in_flight:
                waiting = time.monotonic() - max(self._in_flight[0].sent, self._last_ack)
                if waiting > timeout:
                    raise ProtocolError(f"no acknowledgement for {timeout:g} s")

    async def _write(self, call: grpc.aio.StreamStreamCall, window: asyncio.Semaphore) -> None:
        sequence = 0
        size = self._config.batch_size
        while True:
            await window.acquire()
            if self._resend:
                entries = [self._resend.popleft() for _ in range(min(size, len(self._resend)))]
            else:
                entries = await self._buffer.take(size, self._config.flush_interval_seconds)
            entries = self._within_bytes(entries)
            if not entries:
                window.release()
                continue
            sequence += 1
            # In flight before the write: if the write fails, these are resent.
            self._in_flight.append(_Batch(sequence, entries, time.monotonic()))
            self._metrics.unacknowledged.set(self.unacknowledged)
            self._metrics.pending.set(len(self._buffer))
            await call.write(
                reconciler_pb2.ReconcileRequest(
                    batch=reconciler_pb2.SnapshotBatch(
                        sequence=sequence, items=[entry.item for entry in entries]
                    )
                )
            )
            for kind, count in Counter(entry.kind for entry in entries if entry.observed).items():
                self._metrics.snapshots_sent.labels(kind).inc(count)

    def _within_bytes(self, entries: list[Entry]) -> list[Entry]:
        """The longest prefix of `entries` that fits in one message the server accepts; the rest go first in
        the next batch. An item that fits in no message is dropped (and counted): the server would refuse
        every session that carried it."""
        limit = self._config.max_batch_bytes
        total, keep = 0, 0
        for entry in entries:
            size = entry.item.ByteSize() + 8  # the field's tag and length
            if size > limit:
                break
            if total + size > limit:
                break
            total += size
            keep += 1
        if keep == 0 and entries:
            dropped = entries[0]
            log.error(
                "dropping a snapshot larger than a batch may be",
                extra={"kind": dropped.kind, "bytes": dropped.item.ByteSize(), "limit": limit},
            )
            self._metrics.dropped.labels(dropped.kind).inc()
            self._resend.extendleft(reversed(entries[1:]))
            return []
        self._resend.extendleft(reversed(entries[keep:]))
        return entries[:keep]

    def _acknowledge(self, ack: reconciler_pb2.BatchAck) -> None:
        if not self._in_flight or self._in_flight[0].sequence != ack.sequence:
            expected = self._in_flight[0].sequence if self._in_flight else None
            raise ProtocolError(f"ack for batch {ack.sequence}, expected {expected}")
        batch = self._in_flight[0]
        if len(ack.verdicts) != len(batch.entries):
            raise ProtocolError(
                f"ack of batch {ack.sequence} has {len(ack.verdicts)} verdicts for {len(batch.entries)} items"
            )
        self._in_flight.popleft()
        now = time.time()
        lag = self._metrics.lag
        for entry in batch.entries:
            if entry.observed:
                lag.observe(max(0.0, now - entry.observed))
        for verdict, count in Counter(ack.verdicts).items():
            self._metrics.verdicts.labels(_VERDICTS.get(verdict, str(verdict))).inc(count)
        self._metrics.unacknowledged.set(self.unacknowledged)
