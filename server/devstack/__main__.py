"""`jangar-dev` (`make run`): Postgres, the Jangar gRPC server and Envoy on this machine, for development.

    jangar-dev [run]   start everything, print where it listens, stop everything on Ctrl-C / SIGTERM
    jangar-dev migrate bring the database to the newest schema and exit
    jangar-dev clean   delete what a root launcher put in the runtime dir for this checkout: relocated
                       Postgres data and the binaries' mirror (`make clean` runs it, then deletes .jangar
                       and .venv)

Settings (environment):
    JANGAR_DATABASE_URL      use this database instead of starting a local Postgres
    JANGAR_PG_PORT           local Postgres port (55432)
    JANGAR_GRPC_PORT         the gRPC server's port (50051)
    JANGAR_HTTP_PORT         Envoy: REST/JSON and gRPC (8080)
    JANGAR_ENVOY_ADMIN_PORT  Envoy's admin API (9901)
    JANGAR_STATE_DIR         Postgres data, logs and local runs (<project>/.jangar, git-ignored)
    JANGAR_LOCAL_RUNTIME     1 (the default here): runs execute as local processes; 0 turns that off
    JANGAR_DEFAULT_RUNTIME   local (the default here) or job
    JANGAR_WORKERS           server processes on the gRPC port (here: the number of cores, at most 4)
    JANGAR_PG_RUN_AS         as root, the unprivileged user Postgres runs as (nobody)
    JANGAR_PG_RUNTIME_DIR    as root, where Postgres's binaries and data go when that user cannot reach
                             the checkout (/var/tmp/jangar)
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from jangar.server.devstack import processes
from jangar.server.devstack.envoy import PROJECT_ROOT, LocalEnvoy
from jangar.server.devstack.postgres import LocalPostgres, remove_runtime_files

PROG = "jangar-dev"
SERVER_READY_TIMEOUT_S = 30.0
SERVER_STOP_TIMEOUT_S = 20.0
WATCH_INTERVAL_S = 0.25
SERVER_MODULE = "jangar.server"


# Each worker has its own pool (JANGAR_DB_POOL_SIZE, 20): four stay under Postgres' 100 connections.
MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """One server process per core, so the API is not held to one core on a developer's machine."""
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS))


class ConfigError(ValueError):
    """A JANGAR_* setting is malformed."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; raised from the signal handler to unwind start-up or the watch loop."""


@dataclass(frozen=True)
class StackSettings:
    database_url: str | None
    pg_port: int
    grpc_port: int
    http_port: int
    envoy_admin_port: int
    state_dir: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StackSettings:
        return cls(
            database_url=env.get("JANGAR_DATABASE_URL") or None,
            pg_port=_port(env, "JANGAR_PG_PORT", 55432),
            grpc_port=_port(env, "JANGAR_GRPC_PORT", 50051),
            http_port=_port(env, "JANGAR_HTTP_PORT", 8080),
            envoy_admin_port=_port(env, "JANGAR_ENVOY_ADMIN_PORT", 9901),
            state_dir=Path(env.get("JANGAR_STATE_DIR") or PROJECT_ROOT / ".jangar").resolve(),
        )

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    def log(self, name: str) -> Path:
        return self.logs_dir / f"{name}.log"

    @property
    def pg_data_dir(self) -> Path:
        """Where local Postgres keeps its data, unless a root launcher has to relocate it."""
        return self.state_dir / "postgres" / "data"


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a port number, got {raw!r}") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{name} must be between 1 and 65535, got {port}")
    return port


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", nargs="?", default="run", choices=["run", "migrate", "clean"])
    args = parser.parse_args(argv)
    try:
        settings = StackSettings.from_env(os.environ)
    except ConfigError as error:
        _say(str(error))
        return 2
    if args.command == "clean":
        return clean(settings)
    _prepare_state_dir(settings.state_dir)
    return run(settings) if args.command == "run" else migrate(settings)


def _prepare_state_dir(state_dir: Path) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    # Keeps the data and logs out of git even where the repository's .gitignore does not list them.
    gitignore = state_dir / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("# Created by jangar-dev: local Postgres data and logs.\n*\n")


def migrate(settings: StackSettings) -> int:
    """Brings the database to the newest schema, starting (and stopping) local Postgres if needed."""
    stack = Stack(settings)
    with _Signals() as signals:
        try:
            url = stack.start_database()
            stack.migrate(url)
            print(f"{_redact(url)} is at the newest schema", flush=True)
            return 0
        except Interrupted:
            _say("interrupted")
            return 130
        except Exception as error:
            _report_failure(error)
            return 1
        finally:
            signals.stopping = True
            stack.stop()


def clean(settings: StackSettings) -> int:
    """Deletes this checkout's files in the runtime dir; the state dir itself is left to `make clean`."""
    try:
        removed = remove_runtime_files(settings.pg_data_dir)
    except (RuntimeError, OSError) as error:
        _say(f"error: {error}")
        return 1
    for path in removed:
        _say(f"deleted {path}")
    return 0


def run(settings: StackSettings) -> int:
    """Starts everything, waits for a signal or a child's death, then stops everything in order."""
    stack = Stack(settings)
    failed = False
    with _Signals() as signals:
        try:
            stack.check_ports_free()
            stack.rotate_logs()
            stack.start()
            _print_banner(stack)
            stack.watch()
            failed = True
        except Interrupted:
            _say("stopping")
        except Exception as error:
            _report_failure(error)
            failed = True
        finally:
            signals.stopping = True
            stack.stop()
    if failed:
        return 1
    _say("stopped")
    return 0


class Stack:
    """The children of one launcher: Postgres (unless a URL is given), the server and Envoy."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.postgres: LocalPostgres | None = None
        self.server: subprocess.Popen[bytes] | None = None
        self.envoy: LocalEnvoy | None = None
        self.reconciler: subprocess.Popen[bytes] | None = None
        self.database_url = ""

    def check_ports_free(self) -> None:
        s = self.settings
        ports = {
            "JANGAR_GRPC_PORT": s.grpc_port,
            "JANGAR_HTTP_PORT": s.http_port,
            "JANGAR_ENVOY_ADMIN_PORT": s.envoy_admin_port,
        }
        if s.database_url is None:
            ports["JANGAR_PG_PORT"] = s.pg_port
        busy = [f"{port} ({name})" for name, port in ports.items() if processes.port_accepts(port)]
        if busy:
            raise ConfigError(
                f"127.0.0.1 port(s) already in use: {', '.join(busy)}. Is another `{PROG}` running? "
                f"Stop it, or choose other ports with these variables."
            )

    def rotate_logs(self) -> None:
        """Keeps one previous run's logs (<name>.log.1) so that each log starts with this run."""
        for name in ("server", "envoy", "envoy-access", "postgres", "reconciler"):
            log = self.settings.log(name)
            if log.exists():
                log.replace(log.with_name(log.name + ".1"))

    def start(self) -> None:
        url = self.start_database()
        self.migrate(url)
        self.start_server(url)
        self.start_envoy()
        self.start_reconciler()
        self.wait_until_healthy()

    def start_database(self) -> str:
        if self.settings.database_url is not None:
            self.database_url = self.settings.database_url
            return self.database_url
        self.postgres = LocalPostgres(
            self.settings.pg_data_dir, self.settings.pg_port, log_path=self.settings.log("postgres")
        )
        self.postgres.place()
        where = _data_location(self.postgres)
        _say(f"starting Postgres on 127.0.0.1:{self.settings.pg_port}, data in {where}")
        self.database_url = self.postgres.start()
        return self.database_url

    def migrate(self, url: str) -> None:
        from jangar.server.migrations_runner import upgrade_to_head  # the server's code: only when needed

        _say("migrating the database")
        upgrade_to_head(url)

    def start_server(self, url: str) -> None:
        port = self.settings.grpc_port
        _say(f"starting the gRPC server on 127.0.0.1:{port}")
        env = {
            # The local runtime is on (the server listens on loopback only); runs use it unless they name
            # `job`, or by default when a cluster is configured.
            "JANGAR_LOCAL_RUNTIME": "1",
            "JANGAR_DEFAULT_RUNTIME": "job" if cluster_configured() else "local",
            "JANGAR_WORKERS": str(default_workers()),
            **os.environ,
            "JANGAR_STATE_DIR": str(self.settings.state_dir),
            "JANGAR_DATABASE_URL": url,
            "JANGAR_GRPC_ADDRESS": f"127.0.0.1:{port}",
            # Its log should show up as it happens, not when a buffer fills.
            "PYTHONUNBUFFERED": "1",
        }
        log = self.settings.log("server")
        self.server = processes.spawn([sys.executable, "-m", SERVER_MODULE], log_path=log, env=env)
        processes.wait_for_port(
            port, proc=self.server, timeout=SERVER_READY_TIMEOUT_S, what="the gRPC server", log_path=log
        )

    def start_reconciler(self) -> None:
        """With a cluster configured (KUBECONFIG or in-cluster), the reconciler reports its Jobs."""
        if not cluster_configured():
            return
        where = os.environ.get("KUBECONFIG") or "in-cluster configuration"
        _say(f"starting the reconciler (cluster: {where})")
        env = {
            **os.environ,
            "JANGAR_RECONCILER_SERVER": f"127.0.0.1:{self.settings.grpc_port}",
            "JANGAR_RECONCILER_HTTP_PORT": os.environ.get("JANGAR_RECONCILER_HTTP_PORT", "0"),
            "PYTHONUNBUFFERED": "1",
        }
        log = self.settings.log("reconciler")
        self.reconciler = processes.spawn([sys.executable, "-m", "jangar.reconciler"], log_path=log, env=env)

    def start_envoy(self) -> None:
        s = self.settings
        _say(f"starting Envoy on 127.0.0.1:{s.http_port}")
        self.envoy = LocalEnvoy(
            listen_port=s.http_port,
            admin_port=s.envoy_admin_port,
            upstream_port=s.grpc_port,
            config_path=s.state_dir / "envoy" / "envoy.yaml",
            log_path=s.log("envoy"),
            access_log_path=s.log("envoy-access"),
        )
        self.envoy.start()

    def wait_until_healthy(self) -> None:
        """Waits for Envoy's /healthz, which follows the server's gRPC health check (grpc.health.v1)."""
        http_port = self.settings.http_port
        processes.wait_until(
            lambda: _http_status(http_port, "/healthz") == 200,
            proc=self.server,
            timeout=SERVER_READY_TIMEOUT_S,
            what="the gRPC server's health (grpc.health.v1.Health/Check = SERVING, seen through Envoy)",
            log_path=self.settings.log("server"),
        )

    def watch(self) -> str:
        """Blocks until a child exits; reports it and returns its name. Signals interrupt it."""
        while True:
            for name, exit_code, log in self._children():
                if exit_code is not None:
                    tail = processes.log_tail(log)
                    _say(f"{name} exited unexpectedly with code {exit_code}; last lines of {log}:\n{tail}")
                    return name
            time.sleep(WATCH_INTERVAL_S)

    def _children(self) -> Iterator[tuple[str, int | None, Path]]:
        if self.postgres is not None:
            yield "Postgres", self.postgres.poll(), self.settings.log("postgres")
        if self.server is not None:
            yield "the gRPC server", self.server.poll(), self.settings.log("server")
        if self.envoy is not None:
            yield "Envoy", self.envoy.poll(), self.settings.log("envoy")
        if self.reconciler is not None:
            yield "the reconciler", self.reconciler.poll(), self.settings.log("reconciler")

    def stop(self) -> None:
        """Envoy first (no new requests), then the server (SIGTERM drains in-flight calls), Postgres last."""
        if self.reconciler is not None and self.reconciler.poll() is None:
            processes.terminate(self.reconciler, sig=signal.SIGTERM, timeout=SERVER_STOP_TIMEOUT_S)
        if self.envoy is not None:
            self.envoy.stop(drain_timeout=SERVER_STOP_TIMEOUT_S)
        if self.server is not None and self.server.poll() is None:
            code = processes.terminate(self.server, sig=signal.SIGTERM, timeout=SERVER_STOP_TIMEOUT_S)
            if code not in (0, -signal.SIGTERM):
                _say(f"the gRPC server exited with code {code} on SIGTERM; see {self.settings.log('server')}")
        if self.postgres is not None:
            self.postgres.stop()


def cluster_configured() -> bool:
    """Whether the environment names a Kubernetes cluster, as kubectl and the server read it."""
    return bool(os.environ.get("KUBECONFIG") or os.environ.get("KUBERNETES_SERVICE_HOST"))


def _print_banner(stack: Stack) -> None:
    s = stack.settings
    logs = s.logs_dir
    names = ["server", "envoy", "envoy-access"] + (["postgres"] if stack.postgres is not None else [])
    names += ["reconciler"] if stack.reconciler is not None else []
    lines = [
        "",
        "Jangar is running:",
        f"  gRPC (direct)         127.0.0.1:{s.grpc_port}",
        f"  REST + gRPC (Envoy)   http://127.0.0.1:{s.http_port}   health: /healthz",
        f"  Envoy admin           http://127.0.0.1:{s.envoy_admin_port}",
        f"  Postgres              {_redact(stack.database_url)}"
        + ("" if stack.postgres is not None else "   (JANGAR_DATABASE_URL)"),
        *([] if stack.postgres is None else [f"  Postgres data         {_data_location(stack.postgres)}"]),
        f"  Logs                  {logs}/{{{','.join(names)}}}.log",
        "Press Ctrl-C to stop.",
        "",
    ]
    print("\n".join(lines), flush=True)


def _data_location(postgres: LocalPostgres) -> str:
    if postgres.relocated_because is None:
        return str(postgres.data_dir)
    return f"{postgres.data_dir} ({postgres.relocated_because}; `make clean` deletes it)"


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def _http_status(port: int, path: str) -> int | None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def _report_failure(error: Exception) -> None:
    if isinstance(error, ConfigError | RuntimeError | OSError):
        _say(f"error: {error}")
    else:
        # Unexpected (e.g. a failing migration): the traceback is what the developer needs.
        traceback.print_exception(error)
        _say(f"error: {error}")


def _say(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


class _Signals:
    """SIGINT/SIGTERM handling: interrupt start-up or the watch loop, but never the ordered stop."""

    def __init__(self) -> None:
        self.stopping = False
        self._previous: dict[signal.Signals, Any] = {}

    def __enter__(self) -> _Signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            # A second Ctrl-C must not abandon children half-way; every stop step is bounded anyway.
            _say("still stopping, please wait")
            return
        raise Interrupted(signal.Signals(signum).name)


if __name__ == "__main__":
    sys.exit(main())
