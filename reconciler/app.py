"""The reconciler's main loop: stand by until this replica holds the Lease, then watch and stream until it
loses it (or is stopped), and stand by again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from jangar.reconciler.buffer import SnapshotBuffer
from jangar.reconciler.config import Config
from jangar.reconciler.health import HealthServer
from jangar.reconciler.kube import Kube, api_client
from jangar.reconciler.lease import LeaseElector
from jangar.reconciler.metrics import Metrics
from jangar.reconciler.resources import watched
from jangar.reconciler.stream import Streamer
from jangar.reconciler.watcher import ResourceWatcher
from jangar.v1 import reconciler_pb2

log = logging.getLogger("jangar.reconciler")


class Reconciler:
    """One reconciler replica. `await run()` until `stop()`; `http_port` is known once it is listening."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.metrics = Metrics()
        self.http_port: int | None = None
        self.elector: LeaseElector | None = None
        self.streamer: Streamer | None = None
        self.watchers: list[ResourceWatcher] = []
        self._stopping = asyncio.Event()
        self._release = True
        self._alive = False
        # True from acquiring the Lease until it is lost or released (elector.is_leader drops on stop).
        self._holding = False

    @property
    def leading(self) -> bool:
        return self.elector is not None and self.elector.is_leader

    def stop(self, release: bool = True) -> None:
        """Stop (from the same event loop); release=False keeps the Lease, as a crash would."""
        self._release = release
        self._stopping.set()

    async def run(self) -> None:
        config = self.config
        api = await api_client(config)
        kube = Kube(api)
        self.elector = elector = LeaseElector(kube, config)
        health = HealthServer(
            config.http_host, config.http_port, self.metrics.registry, self._healthy, self._ready
        )
        await health.start()
        self.http_port = health.port
        self._alive = True
        log.info(
            "reconciler started",
            extra={
                "identity": config.identity,
                "server": config.server,
                "namespaces": list(config.namespaces) or "all",
                "http_port": self.http_port,
            },
        )
        try:
            while not self._stopping.is_set():
                if not await self._until_stopped(elector.acquire()):
                    break
                self.metrics.leader.set(1)
                log.info(
                    "leadership acquired", extra={"identity": config.identity, "lease": config.lease_name}
                )
                self._holding = True
                reason = await self._lead(kube, elector)
                self._holding = reason == "stopping"
                self.metrics.leader.set(0)
                log.info("leadership ended", extra={"identity": config.identity, "reason": reason})
        finally:
            self._alive = False
            if self._holding and self._release:
                await elector.release()
            elector.is_leader = False
            self.metrics.leader.set(0)
            await health.stop()
            await api.close()
            log.info("reconciler stopped", extra={"identity": config.identity})

    async def _until_stopped(self, work: object) -> bool:
        """Runs `work` (a coroutine) unless stop comes first; True if it finished."""
        task = asyncio.ensure_future(work)  # type: ignore[arg-type]
        stopped = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        for pending in (task, stopped):
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pending
        return task.done() and not task.cancelled() and task.exception() is None

    async def _lead(self, kube: Kube, elector: LeaseElector) -> str:
        """Watch and stream until leadership is lost or stop; returns why it ended."""
        config = self.config
        buffer = SnapshotBuffer(config.buffer_size)
        self.streamer = streamer = Streamer(config, buffer, self.metrics, self._relist)
        self.watchers = [
            ResourceWatcher(kube, resource, namespace, buffer, self.metrics, config)
            for resource in watched(config.watch_cnpg_clusters)
            for namespace in (config.namespaces or ("",))
        ]
        loop = asyncio.get_running_loop()
        workers = [loop.create_task(watcher.run()) for watcher in self.watchers]
        workers.append(loop.create_task(streamer.run()))
        holding = loop.create_task(elector.hold())
        stopped = loop.create_task(self._stopping.wait())
        try:
            done, _ = await asyncio.wait({holding, stopped, *workers}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (holding, stopped, *workers):
                task.cancel()
            for task in (holding, stopped, *workers):
                with contextlib.suppress(BaseException):
                    await task
            self.streamer = None
            self.watchers = []
            self.metrics.connected.set(0)
            self.metrics.unacknowledged.set(0)
        if stopped in done:
            return "stopping"
        if holding in done:
            return "lease lost"
        # A worker ended: a bug, since they retry every failure. Step down so that a healthy replica leads.
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("worker failed", exc_info=task.exception())
        await elector.release()
        self._holding = False
        return "worker failed"

    def _relist(self, request: reconciler_pb2.RelistRequest) -> None:
        matched = [
            watcher
            for watcher in self.watchers
            if watcher.resource.api_version == request.api_version
            and watcher.resource.kind == request.kind
            and (not request.namespace or watcher.namespace in ("", request.namespace))
        ]
        log.info(
            "relist requested",
            extra={
                "kind": request.kind,
                "api_version": request.api_version,
                "namespace": request.namespace,
                "reason": request.reason,
                "watched": bool(matched),
            },
        )
        for watcher in matched:
            watcher.request_relist("requested", request.namespace)

    def _healthy(self) -> tuple[bool, str]:
        return (True, "ok") if self._alive else (False, "not running")

    def _ready(self) -> tuple[bool, str]:
        if not self._alive or self.elector is None:
            return False, "not running"
        if self.elector.is_leader:
            if self.streamer is not None and self.streamer.connected:
                return True, "leader, stream connected"
            return False, "leader, stream not connected"
        contact = self.elector.last_contact
        if contact is not None and time.monotonic() - contact <= 2 * self.config.lease_duration_seconds:
            return True, f"standby (leader: {self.elector.holder or 'none'})"
        return False, "standby, Kubernetes API unreachable"


async def run(config: Config) -> None:
    """Run one reconciler until cancelled (cancelling releases the Lease, as SIGTERM does)."""
    reconciler = Reconciler(config)
    await reconciler.run()
