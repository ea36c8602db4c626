"""Server settings, read from the environment (JANGAR_*)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from datetime import timedelta

from jangar.server.core.pages import MIN_KEY_BYTES
from jangar.server.core.runtime import LOCAL, RUNTIME_TYPES
from jangar.server.domain.idempotency import RETENTION_HOURS_MINIMUM


class ConfigError(ValueError):
    """A setting is missing or malformed."""


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _page_token_key() -> bytes:
    key = os.environ.get("JANGAR_PAGE_TOKEN_KEY", "").encode()
    if key and len(key) < MIN_KEY_BYTES:
        # The value itself is never part of a message: it is a secret.
        raise ConfigError(
            f"JANGAR_PAGE_TOKEN_KEY must be at least {MIN_KEY_BYTES} bytes long "
            "(for example the output of `openssl rand -hex 32`)"
        )
    return key


def _flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name) or default
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 <= value <= 3600:
        raise ConfigError(f"{name} must be between 0 and 3600, got {raw!r}")
    return value


def _url(name: str) -> str:
    raw = os.environ.get(name, "").strip().rstrip("/")
    if raw and not (raw.startswith(("http://", "https://")) and len(raw) > len("https://")):
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {raw!r}")
    return raw


def _outbox_concurrency(pool_size: int) -> int:
    """JANGAR_OUTBOX_CONCURRENCY, at most half the pool: each write in flight holds a connection. Unset, it
    is the default, lowered to half of a small pool rather than refusing a pool size that worked before."""
    name, most = "JANGAR_OUTBOX_CONCURRENCY", max(1, pool_size // 2)
    if not os.environ.get(name):
        return min(ServerSettings.outbox_concurrency, most)
    value = _int(name, ServerSettings.outbox_concurrency, 1)
    if value > most:
        raise ConfigError(
            f"{name} ({value}) may use at most half of JANGAR_DB_POOL_SIZE ({pool_size}), {most}: each "
            "write in flight holds a database connection"
        )
    return value


def check_local_runtime(settings: ServerSettings) -> None:
    """Refuses to run API callers' commands on this machine for anyone who can reach a non-loopback
    address, unless the operator insists."""
    if settings.default_runtime == LOCAL and not settings.local_runtime:
        raise ConfigError("JANGAR_DEFAULT_RUNTIME=local needs JANGAR_LOCAL_RUNTIME=1")
    if not settings.local_runtime or settings.local_runtime_force:
        return
    host = settings.grpc_address.rpartition(":")[0].strip("[]")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ConfigError(
            f"JANGAR_LOCAL_RUNTIME=1 runs what API callers configure on this machine, and the server listens "
            f"on {settings.grpc_address}, which is not a loopback address; listen on 127.0.0.1, or set "
            "JANGAR_LOCAL_RUNTIME_FORCE=1 if that is what you mean"
        )


@dataclass(frozen=True)
class ServerSettings:
    database_url: str
    grpc_address: str = "127.0.0.1:50051"
    # Prometheus metrics over HTTP; empty disables them.
    metrics_address: str = ""
    db_pool_size: int = 20
    shutdown_grace_seconds: int = 20
    idempotency_retention: timedelta = timedelta(hours=RETENTION_HOURS_MINIMUM)
    # Largest request a client may send over gRPC; Envoy applies its own limit to REST bodies.
    max_request_bytes: int = 1024 * 1024
    log_level: str = "INFO"
    # Signs page tokens. Empty: the server uses the key it keeps in the database (server_keys). Out of repr,
    # so that printing the settings never shows it.
    page_token_key: bytes = field(default=b"", repr=False)
    # How long start-up waits for an unreachable database before giving up; 0 waits for ever (a replica
    # started before its database, as in a fresh cluster or `make run`, comes up when the database does).
    database_wait_seconds: int = 0
    # The runtime of runs whose spec names none: `job` (Kubernetes) or `local` (child processes).
    default_runtime: str = "job"
    # The local runtime executes what API callers configure, so it is off unless asked for, and refused on
    # a non-loopback listen address unless forced (see `check_local_runtime`).
    local_runtime: bool = False
    local_runtime_force: bool = False
    # Where the local runtime keeps each attempt's working directory, run.json, status and output.
    state_dir: str = ".jangar"
    # Delay before the second attempt of a failed run; it doubles per attempt up to 5 minutes.
    retry_backoff_seconds: float = 10.0
    # Jangar's REST address as seen from a pod in the cluster (Envoy, `http://jangar.jangar.svc:8080`): the
    # pods of Schedules' CronJobs call its FireSchedule. With a cluster and this set, CronJobs execute
    # Schedules; otherwise the server's own scheduler does (docs/schedules.md).
    schedule_fire_url: str = ""
    # The image of those pods; it needs only `curl`.
    schedule_fire_image: str = "curlimages/curl:8.11.1"
    # Without a cluster, Secret values are read from `<secrets_dir>/<namespace>/<name>/<key>`
    # (docs/memory.md); empty: no Secret can be read.
    secrets_dir: str = ""
    # How often the memory upkeep checks every Memory's store and applies retention.
    memory_upkeep_seconds: float = 30.0
    # Server processes sharing the listen port (SO_REUSEPORT, server/workers.py); 1 is this process alone.
    workers: int = 1
    # Kubernetes writes the outbox worker performs at once (server/domain/outbox_worker.py); each holds one
    # of the pool's connections while the API server answers, so it must leave most of the pool to requests.
    outbox_concurrency: int = 4

    @classmethod
    def from_env(cls) -> ServerSettings:
        url = os.environ.get("JANGAR_DATABASE_URL", "")
        if not url:
            raise ConfigError(
                "JANGAR_DATABASE_URL is not set (for example postgresql://user@127.0.0.1:5432/jangar)"
            )
        retention_hours = _int(
            "JANGAR_IDEMPOTENCY_RETENTION_HOURS", RETENTION_HOURS_MINIMUM, RETENTION_HOURS_MINIMUM
        )
        pool_size = _int("JANGAR_DB_POOL_SIZE", cls.db_pool_size, 1)
        settings = cls(
            database_url=url,
            grpc_address=os.environ.get("JANGAR_GRPC_ADDRESS", cls.grpc_address),
            metrics_address=os.environ.get("JANGAR_METRICS_ADDRESS", cls.metrics_address),
            db_pool_size=pool_size,
            shutdown_grace_seconds=_int("JANGAR_SHUTDOWN_GRACE_SECONDS", cls.shutdown_grace_seconds),
            idempotency_retention=timedelta(hours=retention_hours),
            max_request_bytes=_int("JANGAR_MAX_REQUEST_BYTES", cls.max_request_bytes, 1024),
            log_level=os.environ.get("JANGAR_LOG_LEVEL", cls.log_level).upper(),
            page_token_key=_page_token_key(),
            database_wait_seconds=_int("JANGAR_DATABASE_WAIT_SECONDS", cls.database_wait_seconds),
            default_runtime=_choice("JANGAR_DEFAULT_RUNTIME", cls.default_runtime, RUNTIME_TYPES),
            local_runtime=_flag("JANGAR_LOCAL_RUNTIME"),
            local_runtime_force=_flag("JANGAR_LOCAL_RUNTIME_FORCE"),
            state_dir=os.environ.get("JANGAR_STATE_DIR") or cls.state_dir,
            retry_backoff_seconds=_seconds("JANGAR_RETRY_BACKOFF_SECONDS", cls.retry_backoff_seconds),
            schedule_fire_url=_url("JANGAR_SCHEDULE_FIRE_URL"),
            schedule_fire_image=os.environ.get("JANGAR_SCHEDULE_FIRE_IMAGE") or cls.schedule_fire_image,
            secrets_dir=os.environ.get("JANGAR_SECRETS_DIR", ""),
            memory_upkeep_seconds=_seconds("JANGAR_MEMORY_UPKEEP_SECONDS", cls.memory_upkeep_seconds),
            workers=_int("JANGAR_WORKERS", cls.workers, 1),
            outbox_concurrency=_outbox_concurrency(pool_size),
        )
        check_local_runtime(settings)
        if settings.workers > 1 and settings.grpc_address.rpartition(":")[2] == "0":
            raise ConfigError("JANGAR_WORKERS above 1 needs a fixed port in JANGAR_GRPC_ADDRESS, not 0")
        return settings
