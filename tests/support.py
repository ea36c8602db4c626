"""Test helpers: the server as a real child process, unique names, and error-detail decoding."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from jangar.server.devstack import processes

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def request_log_records(log_path: Path, request_id: str) -> list[dict[str, Any]]:
    """The server's JSON log records that mention the request id; a line still being written is skipped
    (the next read has it whole)."""
    records = []
    for line in log_path.read_text(errors="replace").splitlines():
        if request_id in line:
            with contextlib.suppress(ValueError):
                records.append(json.loads(line))
    return records


def unique(prefix: str = "t") -> str:
    """A DNS-1123 name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def stop_process(process: subprocess.Popen[bytes], sig: int, timeout: float) -> int:
    """Sends `sig`, waits up to `timeout`, then kills; returns the exit code."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


class ServerProcess:
    """`python -m jangar.server` against a database, on a loopback port, with its log in a file."""

    def __init__(self, database_url: str, port: int, log_path: Path, **env: str) -> None:
        self.database_url = database_url
        self.port = port
        self.address = f"127.0.0.1:{port}"
        self.log_path = log_path
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, wait: bool = True) -> None:
        # A cluster only when the test names one: never the developer's own.
        cluster = ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")
        inherited = {k: v for k, v in os.environ.items() if k not in cluster}
        env = {
            **inherited,
            "JANGAR_DATABASE_URL": self.database_url,
            "JANGAR_GRPC_ADDRESS": self.address,
            "JANGAR_SHUTDOWN_GRACE_SECONDS": "10",
            **self.env,
        }
        # Own session and a parent-death signal: a killed test run or bench never leaves a server behind.
        self.process = processes.spawn(
            [sys.executable, "-m", "jangar.server"], log_path=self.log_path, env=env
        )
        if wait:
            self.wait_serving()

    def wait_serving(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with grpc.insecure_channel(self.address) as channel:
                    reply = health_pb2_grpc.HealthStub(channel).Check(
                        health_pb2.HealthCheckRequest(), timeout=1
                    )
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server did not become SERVING within {timeout}s:\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        assert self.process is not None
        return stop_process(self.process, sig, timeout)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


class ReconcilerProcess:
    """`python -m jangar.reconciler` against a cluster (a kubeconfig) and a server, with short leases, its
    log in a file."""

    def __init__(self, kubeconfig: Path, server_address: str, log_path: Path, **env: str) -> None:
        self.kubeconfig = kubeconfig
        self.server_address = server_address
        self.log_path = log_path
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **{k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"},
            "KUBECONFIG": str(self.kubeconfig),
            "JANGAR_RECONCILER_SERVER": self.server_address,
            "JANGAR_RECONCILER_HTTP_HOST": "127.0.0.1",
            "JANGAR_RECONCILER_HTTP_PORT": "0",
            "JANGAR_RECONCILER_LEASE_DURATION_SECONDS": "2",
            "JANGAR_RECONCILER_RENEW_INTERVAL_SECONDS": "0.5",
            "JANGAR_RECONCILER_RETRY_PERIOD_SECONDS": "0.2",
            "JANGAR_RECONCILER_RECONNECT_BACKOFF_MAX_SECONDS": "0.5",
            **self.env,
        }
        self.process = processes.spawn(
            [sys.executable, "-m", "jangar.reconciler"], log_path=self.log_path, env=env
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        assert self.process is not None
        return stop_process(self.process, sig, timeout)


def error_details(error: grpc.aio.AioRpcError) -> dict[str, object]:
    """The google.rpc details of a failed call, by type name."""
    status = rpc_status.from_call(error)
    assert status is not None, "the error carries no google.rpc.Status"
    found: dict[str, object] = {}
    for detail in status.details:
        for cls in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.PreconditionFailure,
            error_details_pb2.RequestInfo,
        ):
            if detail.Is(cls.DESCRIPTOR):
                message = cls()
                detail.Unpack(message)
                found[cls.DESCRIPTOR.name] = message
    return found


def reason_of(error: grpc.aio.AioRpcError) -> str:
    info = error_details(error)["ErrorInfo"]
    assert isinstance(info, error_details_pb2.ErrorInfo)
    assert info.domain == "jangar.proompteng.ai"
    return info.reason


def violated_fields(error: grpc.aio.AioRpcError) -> list[str]:
    bad = error_details(error).get("BadRequest")
    assert isinstance(bad, error_details_pb2.BadRequest), f"no BadRequest in {error}"
    return [v.field for v in bad.field_violations]
