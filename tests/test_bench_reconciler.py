"""The reconciler section of `make bench` in a very short mode, so that it keeps working: every snapshot it
streams gets the verdict the scenario expects, and every run's lag is observed. Its figures are not
checked (timings are not assertions)."""

from __future__ import annotations

import os
from pathlib import Path

from tests import bench_reconciler
from tests.bench_measure import CpuProbe
from tests.support import ServerProcess


async def test_the_reconciler_bench_section_measures_ingest_and_lag(
    server: ServerProcess, pg_url: str, work_dir: Path
) -> None:
    assert server.process is not None
    # The figures are not checked, so any process stands in for the postmaster.
    probe = CpuProbe(server.process.pid, os.getpid(), None)
    section = await bench_reconciler.run_section(
        server_address=server.address,
        database_url=pg_url,
        work_dir=work_dir,
        server_probe=probe,
        ceiling_probe=probe,
        seconds=1.0,
        warmup=0.2,
        ingest_runs=10,
        lag_runs=3,
        lag_run_seconds=0.5,
    )

    scenarios = [row.scenario for row in section.ingest]
    assert scenarios == ["ceiling: bare upsert, 20/batch", "Reconcile: new versions", "Reconcile: resent"]
    for row in section.ingest:
        assert row.snapshots > 0, row
        assert (row.unexpected, row.first_error) == (0, ""), row
    assert [(row.runs, row.observed) for row in section.lag] == [(3, 3)] * 4
    report = bench_reconciler.report(section)
    assert "Reconcile: new versions" in report and "Job Complete → run Succeeded" in report
    assert "create answered → Job written" in report and "create answered → run Running" in report
