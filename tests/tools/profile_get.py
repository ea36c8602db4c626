"""Where a GetRun's time goes in the server process, over gRPC: starts its own Postgres and server, creates
runs, then drives GetRun (64 in flight) for a while and reports the server's CPU per request (from /proc).
With --py-spy PATH, records the server with py-spy meanwhile (a dev tool, not a project dependency:
`.venv/bin/pip install py-spy==0.4.0`) and writes its flame graph (SVG) or raw stacks (`--format raw`).

    PYTHONPATH=. .venv/bin/python tests/tools/profile_get.py [--seconds 15] [--py-spy out.svg]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import sys
import time

import grpc

from jangar.v1 import agent_run_pb2, agent_run_pb2_grpc, run_pb2, run_pb2_grpc
from tests import bench
from tests.bench_measure import process_cpu
from tests.tools.profile_stack import profiled_stack

IN_FLIGHT = 64
RUNS = 500


async def drive(address: str, pid: int, seconds: float, py_spy: list[str] | None) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        await bench.create_agent(channel)
        runs = agent_run_pb2_grpc.AgentRunServiceStub(channel)
        request = agent_run_pb2.CreateAgentRunRequest(agent_run=bench.minimal_run())
        ids = [
            (await runs.CreateAgentRun(request, metadata=[("idempotency-key", f"profile-get-{n}")])).id
            for n in range(RUNS)
        ]
        view = run_pb2_grpc.RunServiceStub(channel)
        cycle = itertools.cycle(ids)
        done = 0

        async def worker(until: float) -> None:
            nonlocal done
            while time.perf_counter() < until:
                await view.GetRun(run_pb2.GetRunRequest(id=next(cycle)))
                done += 1

        await asyncio.gather(*(worker(time.perf_counter() + 2) for _ in range(IN_FLIGHT)))  # warm-up
        recorder = await asyncio.create_subprocess_exec(*py_spy) if py_spy else None
        done, cpu, began = 0, process_cpu(pid), time.perf_counter()
        await asyncio.gather(*(worker(began + seconds) for _ in range(IN_FLIGHT)))
        elapsed, cpu = time.perf_counter() - began, process_cpu(pid) - cpu
        print(f"GetRun: {done / elapsed:,.0f} req/s, server CPU {cpu / done * 1e6:,.0f} µs per request")
        if recorder is not None:
            await recorder.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--py-spy", help="write py-spy's record of the server here")
    parser.add_argument("--format", default="flamegraph", help="py-spy's output format (flamegraph, raw)")
    args = parser.parse_args()
    with profiled_stack() as (_url, server):
        assert server.process is not None
        pid = server.process.pid
        command = None
        if args.py_spy:
            py_spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
            duration = str(max(1, int(args.seconds) - 1))
            command = [py_spy, "record", "-p", str(pid), "-d", duration, "-r", "200"]
            command += ["-f", args.format, "-o", args.py_spy, "--nonblocking"]
        asyncio.run(drive(server.address, pid, args.seconds, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
