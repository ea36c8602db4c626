"""Where the reconciler ingest's time goes: `ClusterIngest.apply` in this process (no gRPC) on batches of
500 new versions of the bench's Job and Pod snapshots (tests/bench_reconciler.py), with the statements each
batch runs and a cProfile of a few batches. Starts its own Postgres and a server (to create the runs).

    PYTHONPATH=. .venv/bin/python tests/tools/profile_ingest.py [--batches 6] [--top 30]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
from sqlalchemy import event

from jangar.server.devstack import processes
from jangar.server.devstack.postgres import LocalPostgres
from jangar.server.domain.cluster_ingest import ClusterIngest
from jangar.server.domain.execution import RunExecution
from jangar.server.migrations_runner import upgrade_to_head
from jangar.server.repository.database import Database
from tests import bench_reconciler
from tests.support import ServerProcess


async def profile(url: str, address: str, batches: int, top: int) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        runs = await bench_reconciler.create_job_runs(channel, 250, bench_reconciler.NAMESPACE)
    objects = [o for run in runs for o in bench_reconciler.job_and_pod(run.id, run.name)]
    database = Database(url, pool_size=2)
    ingest = ClusterIngest(database, RunExecution(database, {}), {})
    statements: collections.Counter[str] = collections.Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements[" ".join(statement.split()[:4])[:100]] += 1

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    versions = iter(range(10**12, 10**13))

    def batch() -> list[Any]:
        return [o.snapshot(str(next(versions))) for o in objects]

    await ingest.apply(batch())  # every run Pending → Running, outside the figures
    statements.clear()
    began = time.perf_counter()
    for _ in range(batches):
        await ingest.apply(batch())
    each = (time.perf_counter() - began) / batches
    print(f"apply, {len(objects)} new versions: {each * 1e3:.0f} ms per batch, {len(objects) / each:,.0f}/s")
    print("statements per batch (BEGIN/COMMIT not counted):")
    for statement, n in statements.most_common(10):
        print(f"  {n / batches:7.1f}  {statement}")
    resent = batch()
    await ingest.apply(resent)
    began = time.perf_counter()
    await ingest.apply(resent)
    print(f"apply, the same batch again (DUPLICATE): {(time.perf_counter() - began) * 1e3:.1f} ms")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(batches):
        await ingest.apply(batch())
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    await database.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
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
            asyncio.run(profile(url, server.address, args.batches, args.top))
        finally:
            server.stop()
    finally:
        postgres.stop()
        postgres.remove_relocated_data()
        shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
