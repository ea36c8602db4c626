"""JANGAR_WORKERS: N server processes listening on one port (SO_REUSEPORT), so the kernel spreads
connections over them and the API can use more than one core. Each process is a complete server with its
own pool and its own background loops (run worker, outbox, settling, purge), which are already safe next to
other replicas: what they act on is claimed in the database (FOR UPDATE SKIP LOCKED) or re-checked under a
row lock.

The parent only supervises: it forwards SIGTERM and SIGINT to the workers, and when one worker dies the
others are stopped too, so a supervisor (Kubernetes, `make run`) sees the server fail and restarts it."""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
from dataclasses import replace
from types import FrameType

from jangar.server import logging_setup
from jangar.server.config import ServerSettings

log = logging.getLogger("jangar.server.workers")

_PR_SET_PDEATHSIG = 1
STOP_TIMEOUT_SECONDS = 60.0


def _worker(settings: ServerSettings, parent_pid: int) -> None:
    # A worker outlives nothing: when the supervisor dies, the kernel sends it SIGTERM.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent_pid:
        return
    logging_setup.configure(settings.log_level)
    from jangar.server.__main__ import run_server

    sys.exit(run_server(settings))


def serve_workers(settings: ServerSettings) -> int:
    """Runs `settings.workers` servers until a signal (exit 0) or until one of them exits (its code)."""
    context = multiprocessing.get_context("spawn")  # no gRPC or event loop state crosses a fork
    workers = [
        context.Process(
            target=_worker,
            # Metrics are one HTTP port: the first worker serves its own.
            args=(settings if index == 0 else replace(settings, metrics_address=""), os.getpid()),
            name=f"jangar-server-{index}",
        )
        for index in range(settings.workers)
    ]
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for worker in workers:
            if worker.pid is not None and worker.exitcode is None:
                os.kill(worker.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for worker in workers:
        worker.start()
    log.info("serving with %d worker processes", len(workers), extra={"grpc": settings.grpc_address})
    ready = multiprocessing.connection.wait([w.sentinel for w in workers])
    # The sentinel closes a moment before the process can be reaped: join for its exit code.
    first = next(w for w in workers if w.sentinel in ready)
    first.join()
    asked = stopping
    if not asked:
        log.error("worker process %s exited (%s): stopping the others", first.name, first.exitcode)
        stop(signal.SIGTERM, None)
    for worker in workers:
        worker.join(STOP_TIMEOUT_SECONDS)
    if asked:
        # A worker still starting has no handler yet and simply dies of the SIGTERM it was sent.
        clean = all(w.exitcode in (0, -signal.SIGTERM) for w in workers)
        return 0 if clean else 1
    return abs(first.exitcode or 0) or 1
