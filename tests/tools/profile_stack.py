"""The Postgres and server the profiling tools start for themselves, stopped and removed on exit."""

from __future__ import annotations

import cProfile
import pstats
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jangar.server.devstack import processes
from jangar.server.devstack.postgres import LocalPostgres
from jangar.server.migrations_runner import upgrade_to_head
from tests.support import ServerProcess


@contextmanager
def profiled_stack() -> Iterator[tuple[str, ServerProcess]]:
    """(database URL, a running server on it)."""
    work_dir = Path(tempfile.mkdtemp(prefix="jangar-profile-"))
    work_dir.chmod(0o755)  # as root, Postgres runs as nobody and must traverse it
    postgres = LocalPostgres(work_dir / "postgres" / "data", processes.free_port())
    try:
        url = postgres.start()
        upgrade_to_head(url)
        server = ServerProcess(
            url, processes.free_port(), work_dir / "server.log", JANGAR_LOG_LEVEL="WARNING"
        )
        server.start()
        try:
            yield url, server
        finally:
            server.stop()
    finally:
        postgres.stop()
        postgres.remove_relocated_data()
        shutil.rmtree(work_dir, ignore_errors=True)


def print_profile(profiler: cProfile.Profile, top: int) -> None:
    """The `top` functions by cumulative and by own time."""
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
