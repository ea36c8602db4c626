"""Configuration: a dataclass, read from environment variables or command-line flags of the same meaning."""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

MAX_BATCH_SIZE = 500  # the proto's limit on SnapshotBatch.items


def default_identity(environ: Mapping[str, str] | None = None) -> str:
    """The pod name when Kubernetes sets POD_NAME (downward API), otherwise host and process id."""
    environ = os.environ if environ is None else environ
    return environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class Config:
    """Everything the reconciler needs; docs/reconciler.md lists the matching variables and flags."""

    server: str = "127.0.0.1:50051"
    # Empty: every namespace (cluster-wide lists and watches).
    namespaces: tuple[str, ...] = ()
    # None: the in-cluster service account when KUBERNETES_SERVICE_HOST is set, else KUBECONFIG or
    # ~/.kube/config.
    kubeconfig: str | None = None
    lease_namespace: str = "jangar"
    lease_name: str = "jangar-reconciler"
    identity: str = field(default_factory=default_identity)
    lease_duration_seconds: float = 15.0
    renew_interval_seconds: float = 5.0
    retry_period_seconds: float = 2.0
    # 0: no periodic relist.
    resync_seconds: float = 0.0
    # A watch that sends nothing (not even a bookmark) for this long is reconnected.
    watch_inactivity_seconds: float = 60.0
    # The timeoutSeconds each watch asks for; the API server ends it cleanly then and it is re-opened.
    watch_timeout_seconds: int = 300
    list_page_size: int = 500
    http_host: str = "0.0.0.0"
    # 0: a free port, logged at start.
    http_port: int = 9091
    batch_size: int = MAX_BATCH_SIZE
    # Bytes of one batch message: under the server's 1 MiB request limit (JANGAR_MAX_REQUEST_BYTES).
    max_batch_bytes: int = 512 * 1024
    flush_interval_seconds: float = 0.015
    # At most this many batches sent and not yet acknowledged.
    window: int = 8
    # Distinct objects waiting to be sent before the watchers wait (snapshots of one object coalesce).
    buffer_size: int = 20000
    reconnect_backoff_max_seconds: float = 5.0
    # A session whose oldest unacknowledged batch waited this long (with no ack meanwhile) is reopened;
    # 0: wait for ever.
    ack_timeout_seconds: float = 60.0
    # Also list and watch CloudNativePG Clusters (postgresql.cnpg.io/v1) for the Memories on them.
    watch_cnpg_clusters: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch size must be between 1 and {MAX_BATCH_SIZE}")
        if self.window < 1:
            raise ValueError("window must be at least 1")
        if self.buffer_size < 1:
            raise ValueError("buffer size must be at least 1")
        if self.renew_interval_seconds >= self.lease_duration_seconds:
            raise ValueError("the renew interval must be shorter than the lease duration")
        if self.list_page_size < 1:
            raise ValueError("list page size must be at least 1")


def boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


# (flag, environment variable, Config field, type)
_OPTIONS: list[tuple[str, str, str, type]] = [
    ("--server", "JANGAR_RECONCILER_SERVER", "server", str),
    ("--namespaces", "JANGAR_RECONCILER_NAMESPACES", "namespaces", str),
    ("--kubeconfig", "KUBECONFIG", "kubeconfig", str),
    ("--lease-namespace", "JANGAR_RECONCILER_LEASE_NAMESPACE", "lease_namespace", str),
    ("--lease-name", "JANGAR_RECONCILER_LEASE_NAME", "lease_name", str),
    ("--identity", "POD_NAME", "identity", str),
    ("--lease-duration-seconds", "JANGAR_RECONCILER_LEASE_DURATION_SECONDS", "lease_duration_seconds", float),
    ("--renew-interval-seconds", "JANGAR_RECONCILER_RENEW_INTERVAL_SECONDS", "renew_interval_seconds", float),
    ("--retry-period-seconds", "JANGAR_RECONCILER_RETRY_PERIOD_SECONDS", "retry_period_seconds", float),
    ("--resync-seconds", "JANGAR_RECONCILER_RESYNC_SECONDS", "resync_seconds", float),
    (
        "--watch-inactivity-seconds",
        "JANGAR_RECONCILER_WATCH_INACTIVITY_SECONDS",
        "watch_inactivity_seconds",
        float,
    ),
    ("--watch-timeout-seconds", "JANGAR_RECONCILER_WATCH_TIMEOUT_SECONDS", "watch_timeout_seconds", int),
    ("--list-page-size", "JANGAR_RECONCILER_LIST_PAGE_SIZE", "list_page_size", int),
    ("--http-host", "JANGAR_RECONCILER_HTTP_HOST", "http_host", str),
    ("--http-port", "JANGAR_RECONCILER_HTTP_PORT", "http_port", int),
    ("--batch-size", "JANGAR_RECONCILER_BATCH_SIZE", "batch_size", int),
    ("--max-batch-bytes", "JANGAR_RECONCILER_MAX_BATCH_BYTES", "max_batch_bytes", int),
    ("--flush-interval-seconds", "JANGAR_RECONCILER_FLUSH_INTERVAL_SECONDS", "flush_interval_seconds", float),
    ("--window", "JANGAR_RECONCILER_WINDOW", "window", int),
    ("--buffer-size", "JANGAR_RECONCILER_BUFFER_SIZE", "buffer_size", int),
    ("--ack-timeout-seconds", "JANGAR_RECONCILER_ACK_TIMEOUT_SECONDS", "ack_timeout_seconds", float),
    (
        "--reconnect-backoff-max-seconds",
        "JANGAR_RECONCILER_RECONNECT_BACKOFF_MAX_SECONDS",
        "reconnect_backoff_max_seconds",
        float,
    ),
    ("--watch-cnpg-clusters", "JANGAR_RECONCILER_WATCH_CNPG_CLUSTERS", "watch_cnpg_clusters", boolean),
]


def parse_namespaces(text: str) -> tuple[str, ...]:
    return tuple(sorted({part.strip() for part in text.split(",") if part.strip()}))


def load(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """The configuration from flags, falling back to environment variables, then to the defaults."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        prog="jangar-reconciler",
        description="Stream Kubernetes snapshots to the Jangar server (docs/reconciler.md).",
    )
    for flag, variable, _name, _kind in _OPTIONS:
        parser.add_argument(flag, default=None, help=f"(env {variable})")
    args = vars(parser.parse_args(argv))
    values: dict[str, object] = {}
    for _flag, variable, name, kind in _OPTIONS:
        raw = args.get(name)
        if raw is None:
            raw = environ.get(variable)
        if raw is None or (raw == "" and name != "namespaces"):
            continue
        try:
            values[name] = parse_namespaces(raw) if name == "namespaces" else kind(raw)
        except ValueError:
            parser.error(f"{variable}: not a valid {kind.__name__}: {raw!r}")
    try:
        return Config(**values)  # type: ignore[arg-type]
    except ValueError as error:
        parser.error(str(error))
