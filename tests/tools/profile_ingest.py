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
import sys
import time
from typing import Any

import grpc
from sqlalchemy import event

from jangar.server.domain.cluster_ingest import ClusterIngest
from jangar.server.domain.execution import RunExecution
from jangar.server.repository.database import Database
from tests import bench_reconciler
from tests.tools.profile_stack import print_profile, profiled_stack


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
    print_profile(profiler, top)
    await database.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    with profiled_stack() as (url, server):
        asyncio.run(profile(url, server.address, args.batches, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
