"""What `make bench` measures with, shared by its sections: nearest-rank percentiles, the CPU time each
process group used during a measured window (read from /proc, so it covers child processes too), and the
connection pool the bare ceilings use."""

from __future__ import annotations

import math
import os
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

CLK_TCK = os.sysconf("SC_CLK_TCK")


def percentile(sorted_samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: an observed value, never an interpolation between two."""
    if not sorted_samples:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_samples)))
    return sorted_samples[rank - 1]


def bare_pool(dsn: str, size: int, **options: Any) -> asyncpg.Pool:
    """An asyncpg pool for a ceiling that sends its statement and nothing else. asyncpg's Pool resets a
    connection it takes back with a query of its own (`SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL`), a second round trip per request that Jangar does not make (SQLAlchemy's pool
    takes a connection back without a statement when no transaction is open); a ceiling paying it would
    be slower than the one statement it stands for. A ceiling opens no cursors, locks or listeners, so
    there is nothing to reset."""
    return asyncpg.create_pool(dsn, min_size=size, max_size=size, reset=_nothing_to_reset, **options)


async def _nothing_to_reset(_connection: asyncpg.Connection) -> None:
    return None


def process_cpu(pid: int) -> float:
    """utime + stime of a process (all its threads) in seconds; 0 when it is gone."""
    try:
        # The command name in field 2 may contain spaces; everything after its ")" is space-separated.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def child_pids(parent: int) -> list[int]:
    """Postgres runs one backend per connection; the postmaster's own CPU is a small part of the total."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent:
            found.append(int(entry.name))
    return found


@dataclass(frozen=True)
class CpuProbe:
    """Reads the CPU time used so far by each process group the scenario exercises."""

    server_pid: int
    postmaster_pid: int
    envoy_pid: int | None

    def snapshot(self) -> dict[str, float]:
        # Reaped children are wrk runs; without wrk the client is this process alone.
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        snap = {
            # With JANGAR_WORKERS the server is a supervisor and its worker processes.
            "server": sum(process_cpu(pid) for pid in [self.server_pid, *child_pids(self.server_pid)]),
            "postgres": sum(
                process_cpu(pid) for pid in [self.postmaster_pid, *child_pids(self.postmaster_pid)]
            ),
            "client": time.process_time() + children.ru_utime + children.ru_stime,
        }
        if self.envoy_pid is not None:
            snap["envoy"] = process_cpu(self.envoy_pid)
        return snap


def cpu_per_request(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
    if requests == 0:
        return {}
    return {name: (after[name] - before[name]) / requests * 1e6 for name in before}
