"""The Jangar gRPC server: wiring, health, reflection, background upkeep and graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from kubernetes_asyncio.client import ApiClient
from prometheus_client import start_http_server

from jangar.server.api.interceptors import CallInterceptor
from jangar.server.api.servicers import build_handlers
from jangar.server.config import ServerSettings
from jangar.server.core.errors import ServiceUnavailable
from jangar.server.core.kinds import registry
from jangar.server.core.outage import OutageTracker
from jangar.server.core.pages import PageTokens
from jangar.server.core.runtime import JOB, LOCAL, Runtime
from jangar.server.core.secrets import SecretReader
from jangar.server.database_wait import wait_for_database
from jangar.server.domain.catalog import UseCases, build_use_cases
from jangar.server.domain.definition_upkeep import DefinitionUpkeep
from jangar.server.domain.execution import RunExecution
from jangar.server.domain.launch import RuntimePolicy
from jangar.server.domain.outbox_worker import OutboxWorker
from jangar.server.domain.storage_upkeep import StorageUpkeep
from jangar.server.domain.workspaces import WorkspaceProvisioning
from jangar.server.migrations_runner import require_current_schema
from jangar.server.repository import idempotency, server_keys
from jangar.server.repository.database import Database
from jangar.server.runtime.cron_jobs import CronJobWriter
from jangar.server.runtime.job import JobRuntime
from jangar.server.runtime.kube_client import api_client_from_environment
from jangar.server.runtime.local import LocalRuntime
from jangar.server.runtime.secrets import DirectorySecrets, KubernetesSecrets
from jangar.server.runtime.volumes import ClaimWriter

log = logging.getLogger("jangar.server")

# What the server accepts as request metadata. gRPC's default (8 KiB soft, refused at random above it) would
# refuse some of the headers Envoy lets through (devstack/envoy.py MAX_HEADERS_KB) and not others; this is
# above Envoy's bound with room for what Envoy adds (x-envoy-original-path repeats the URL).
MAX_METADATA_BYTES = 64 * 1024
# Health follows the database within 2 s either way. Worst case, from Postgres stopping (or coming back)
# to Envoy's /healthz saying so:
#   0.5  s  until the probe's next ping (HEALTH_PROBE_SECONDS)
#   0.75 s  for that ping to fail: at once when Postgres refused or closed the connection, after
#           PING_TIMEOUT_SECONDS when it hangs (a stopped process, a lost network)
#   0.5  s  until Envoy's next health check, which it believes at once (envoy/envoy.template.yaml)
#   1.75 s  in all, plus a few milliseconds of round trips; about 1 s when Postgres is simply gone.
# A ping is one pooled SELECT 1 every half second, nothing next to the calls it protects.
HEALTH_PROBE_SECONDS = 0.5
PING_TIMEOUT_SECONDS = 0.75
PURGE_INTERVAL_SECONDS = 600.0
# How often the run worker looks for due attempts and finished processes: the delay a user sees between a
# process exiting (or a cancel) and the run's phase saying so.
WORKER_INTERVAL_SECONDS = 0.25
WORKER_FAILURE_LOG_SECONDS = 60.0
# How often finished Jobs whose Pod never reported are looked for (domain/cluster_ingest.py).
SETTLE_INTERVAL_SECONDS = 1.0
# How stale a status that depends on other resources may get (a SecretBinding whose subject appeared).
UPKEEP_INTERVAL_SECONDS = 5.0
# How often the server's scheduler looks for due Schedules: how late after its time a run is created.
SCHEDULER_INTERVAL_SECONDS = 1.0
# How often Workspaces and Artifacts past their TTL are looked for (domain/storage_upkeep.py): the most a TTL
# is overrun by.
STORAGE_UPKEEP_INTERVAL_SECONDS = 1.0


class JangarServer:
    """Owns the engine, the gRPC server and the background tasks; `start`, then `stop`."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.database = Database(settings.database_url, pool_size=settings.db_pool_size)
        self.health = health.aio.HealthServicer()
        runtimes: dict[str, Runtime] = {}
        self._local: LocalRuntime | None = None
        if settings.local_runtime:
            self._local = LocalRuntime(Path(settings.state_dir).resolve())
            runtimes[LOCAL] = self._local
        # Job runs are accepted everywhere: they wait until a server with the Job runtime starts them.
        self._runtime_policy = RuntimePolicy(settings.default_runtime, frozenset({JOB, *runtimes}))
        self.execution = RunExecution(self.database, runtimes, settings.retry_backoff_seconds)
        # Shared by the error mapping (calls) and the health probe: one log line per outage, not per call.
        self.outages = OutageTracker("database", logging.getLogger("jangar.server.database"))
        self.port = 0
        self._server: grpc.aio.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._cluster: ApiClient | None = None
        self._use_cases: UseCases | None = None

    async def start(self) -> None:
        await wait_for_database(
            lambda: require_current_schema(self.database.engine),
            max_wait_seconds=self.settings.database_wait_seconds,
            log=log,
        )
        server = grpc.aio.server(
            interceptors=[CallInterceptor(outages=self.outages)],
            options=[
                ("grpc.max_receive_message_length", self.settings.max_request_bytes),
                # Only worker processes share a port (JANGAR_WORKERS); a lone server must not start next to
                # an old one still listening.
                ("grpc.so_reuseport", 1 if self.settings.workers > 1 else 0),
                ("grpc.max_metadata_size", MAX_METADATA_BYTES),
                ("grpc.absolute_max_metadata_size", MAX_METADATA_BYTES),
            ],
        )
        key = self.settings.page_token_key or await server_keys.page_token_key(self.database)
        cluster = await api_client_from_environment()
        jobs = JobRuntime(cluster) if cluster is not None else None
        if jobs is not None:
            self.execution.add_runtime(jobs)
        cron_jobs = (
            CronJobWriter(cluster, self.settings.schedule_fire_url, self.settings.schedule_fire_image)
            if cluster is not None and self.settings.schedule_fire_url
            else None
        )
        files = self._local.files if self._local is not None else None
        secrets: SecretReader = (
            KubernetesSecrets(cluster)
            if cluster is not None
            else DirectorySecrets(Path(self.settings.secrets_dir) if self.settings.secrets_dir else None)
        )
        use_cases = build_use_cases(
            self.database,
            PageTokens(key),
            self._runtime_policy,
            self.execution,
            cron_jobs=cron_jobs is not None,
            workspaces=WorkspaceProvisioning(cluster=cluster is not None, files=files),
            secrets=secrets,
        )
        self._use_cases = use_cases
        server.add_generic_rpc_handlers(build_handlers(use_cases))
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection(
            [
                *registry().service_names,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            server,
        )
        self.port = server.add_insecure_port(self.settings.grpc_address)
        if self.port == 0:
            raise OSError(f"cannot listen on {self.settings.grpc_address}")
        await server.start()
        self._server = server
        await self._set_health(serving=True)
        if self.settings.metrics_address:
            host, _, port = self.settings.metrics_address.rpartition(":")
            start_http_server(int(port), addr=host or "127.0.0.1")
        self._tasks = [
            asyncio.create_task(self._probe_database(), name="probe-database"),
            asyncio.create_task(self._purge_idempotency_keys(), name="purge-idempotency-keys"),
            asyncio.create_task(
                self._repeat("run worker", self.execution.tick, WORKER_INTERVAL_SECONDS), name="run-worker"
            ),
            asyncio.create_task(
                self._repeat("job settling", use_cases.ingest.settle_overdue, SETTLE_INTERVAL_SECONDS),
                name="settle-jobs",
            ),
            asyncio.create_task(
                self._repeat(
                    "definition upkeep", DefinitionUpkeep(self.database).tick, UPKEEP_INTERVAL_SECONDS
                ),
                name="definition-upkeep",
            ),
            asyncio.create_task(
                self._repeat(
                    "storage upkeep",
                    StorageUpkeep(self.database, files).tick,
                    STORAGE_UPKEEP_INTERVAL_SECONDS,
                ),
                name="storage-upkeep",
            ),
            asyncio.create_task(
                self._repeat(
                    "memory upkeep", use_cases.memory_upkeep.tick, self.settings.memory_upkeep_seconds
                ),
                name="memory-upkeep",
            ),
        ]
        if cron_jobs is None:
            if cluster is not None:
                log.warning("JANGAR_SCHEDULE_FIRE_URL is not set: this server fires Schedules, not CronJobs")
            self._tasks.append(
                asyncio.create_task(
                    self._repeat("scheduler", use_cases.scheduler.tick, SCHEDULER_INTERVAL_SECONDS),
                    name="scheduler",
                )
            )
        if jobs is not None:
            outbox = OutboxWorker(
                self.database,
                jobs,
                jobs,
                self.execution,
                cron_jobs=cron_jobs,
                claims=ClaimWriter(cluster),  # type: ignore[arg-type]
                concurrency=self.settings.outbox_concurrency,
            )
            self._tasks.append(
                asyncio.create_task(
                    self._repeat("outbox", outbox.tick, WORKER_INTERVAL_SECONDS), name="outbox"
                )
            )
            log.info("the job runtime writes to Kubernetes at %s", cluster.configuration.host)  # type: ignore[union-attr]
        else:
            log.info("no Kubernetes cluster configured: job runs wait in the outbox")
        self._cluster = cluster
        log.info("serving", extra={"grpc": self.settings.grpc_address, "port": self.port})

    async def _set_health(self, *, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for service in ("", *registry().service_names):
            await self.health.set(service, status)

    async def _probe_database(self) -> None:
        """Health follows the database, so Envoy's /healthz and load balancers stop sending traffic to a
        replica that cannot reach it. The probe also ends an outage in the log when the database answers
        again, whether or not a call has arrived since."""
        serving = True
        ping: asyncio.Task[None] | None = None
        try:
            while True:
                await asyncio.sleep(HEALTH_PROBE_SECONDS)
                if ping is None or ping.done():
                    ping = asyncio.create_task(self.database.ping(), name="ping-database")
                failure = await _failure_of(ping, PING_TIMEOUT_SECONDS)
                if failure is None:
                    self.outages.available()
                else:
                    self.outages.failed(failure, call=False)
                if (failure is None) != serving:
                    serving = failure is None
                    await self._set_health(serving=serving)
        finally:
            if ping is not None:
                ping.cancel()

    async def _repeat(self, what: str, work: Callable[[], Awaitable[object]], interval: float) -> None:
        """Runs one round of `work` every `interval` seconds. The background workers keep all their state in
        the database, so they simply go round; a round that fails is logged once, then again only when the
        failure changes or a minute has passed (it fails again `interval` later)."""
        last_failure, logged_at = "", 0.0
        while True:
            try:
                await work()
            except ServiceUnavailable:
                pass  # the database is down: the health probe and the outage log say so
            except Exception as error:
                failure, now = repr(error), asyncio.get_running_loop().time()
                if failure != last_failure or now - logged_at > WORKER_FAILURE_LOG_SECONDS:
                    log.exception("%s round failed", what)
                    last_failure, logged_at = failure, now
            await asyncio.sleep(interval)

    async def _purge_idempotency_keys(self) -> None:
        while True:
            try:
                async with self.database.transaction() as db:
                    removed = await idempotency.purge_older_than(db, self.settings.idempotency_retention)
                if removed:
                    log.info("purged idempotency keys", extra={"removed": removed})
            except Exception as error:
                log.warning("idempotency key purge failed", extra={"error": repr(error)})
            await asyncio.sleep(PURGE_INTERVAL_SECONDS)

    async def wait(self) -> None:
        assert self._server is not None
        await self._server.wait_for_termination()

    async def stop(self) -> None:
        """Stops taking calls, lets in-flight calls finish (up to the grace period), then closes the pool."""
        await self.health.enter_graceful_shutdown()
        if self._server is not None:
            await self._server.stop(self.settings.shutdown_grace_seconds)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._use_cases is not None:
            await self._use_cases.memory_stores.dispose()
        if self._cluster is not None:
            await self._cluster.close()
        await self.database.dispose()
        log.info("stopped")


async def _failure_of(ping: asyncio.Task[None], within_seconds: float) -> BaseException | None:
    """What went wrong with `ping` within `within_seconds`; None when it answered. One that has not
    answered by then has failed. It is cancelled but not waited for: closing a connection that does not
    answer costs SQLAlchemy 2 s more (it tries a graceful close first), and health must not wait for that.
    The probe starts no other ping until it is gone, so pings never pile up on a hung database."""
    done, _ = await asyncio.wait({ping}, timeout=within_seconds)
    if not done or ping.cancelled():
        ping.cancel()
        return TimeoutError(f"no answer to a ping within {within_seconds:g} s")
    return ping.exception()


async def serve(settings: ServerSettings) -> None:
    """Runs until SIGTERM or SIGINT, then shuts down gracefully. A signal while start-up still waits for
    the database ends the wait, and the process, without a traceback."""
    server = JangarServer(settings)
    stopping = asyncio.Event()
    starting = asyncio.create_task(server.start(), name="start")

    def stop_requested() -> None:
        stopping.set()
        starting.cancel()  # nothing once start-up is done

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_requested)
    try:
        await starting
    except asyncio.CancelledError:
        if not stopping.is_set():
            await server.database.dispose()
            raise
        await server.stop()  # undoes whatever start-up had begun
        return
    except BaseException:
        await server.database.dispose()
        raise
    await stopping.wait()
    log.info("shutting down", extra={"grace_seconds": settings.shutdown_grace_seconds})
    await server.stop()
