"""Instructions a grpc.aio server executes per unary call, counted by valgrind's callgrind: a handler that
returns a run-sized Run, bare or behind Jangar's CallInterceptor. Counts barely move when the machine is
busy, where CPU time per call moves by a third; use it to compare changes to the per-call path.

valgrind is a dev tool, not a project dependency (`apt-get install valgrind`).

    PYTHONPATH=. .venv/bin/python tests/tools/count_call_instructions.py [--calls 2000] [bare interceptor]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc

from jangar.server.devstack import processes
from jangar.v1 import run_pb2

SERVICE = "jangar.v1.Probe"
METHOD = f"/{SERVICE}/GetRun"
IN_FLIGHT = 16
WARM_UP_CALLS = 300
MODES = ("bare", "interceptor")


def run_sized() -> run_pb2.Run:
    """A Run the size of a new job run's GetRun answer: its parent, one phase change, two timestamps."""
    run = run_pb2.Run(
        kind="AgentRun",
        id="3f1c2a4e-8b7d-4c6e-9a1b-2d3e4f5a6b7c",
        name="bench-agent-7x9k2",
        namespace="default",
        phase=2,
        reason="Accepted",
        message="attempt 1 queued for Kubernetes",
        parent=run_pb2.RunParent(kind="Agent", id="5a6b7c8d-1e2f-4a3b-8c9d-0e1f2a3b4c5d", name="bench-agent"),
        attempt=1,
    )
    change = run.history.add(from_phase=0, to_phase=2, reason="Accepted", message=run.message)
    change.time.FromMicroseconds(1_796_317_752_425_617)
    run.create_time.FromMicroseconds(1_796_317_752_425_617)
    run.update_time.FromMicroseconds(1_796_317_752_425_617)
    return run


async def serve(port: int, mode: str) -> None:
    from jangar.server import logging_setup
    from jangar.server.api.interceptors import CallInterceptor

    logging_setup.configure("WARNING")  # as the bench's server: the one log line per call is filtered
    answer = run_sized()

    async def get(request: run_pb2.GetRunRequest, context: grpc.aio.ServicerContext) -> run_pb2.Run:
        return answer

    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "GetRun": grpc.unary_unary_rpc_method_handler(
                get,
                request_deserializer=run_pb2.GetRunRequest.FromString,
                response_serializer=run_pb2.Run.SerializeToString,
            )
        },
    )
    interceptors = [CallInterceptor(prefix="jangar.")] if mode == "interceptor" else []
    server = grpc.aio.server(interceptors=interceptors, options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers([handler])
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


async def call(port: int, calls: int) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        get = channel.unary_unary(
            METHOD,
            request_serializer=run_pb2.GetRunRequest.SerializeToString,
            response_deserializer=run_pb2.Run.FromString,
        )
        remaining = iter(range(calls))

        async def worker() -> None:
            for _ in remaining:
                await get(run_pb2.GetRunRequest(id="x"))

        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))


def count(mode: str, calls: int, out_dir: Path) -> int:
    """Instructions per call of every thread of the server, counted only while `calls` calls run."""
    valgrind = shutil.which("valgrind")
    control = shutil.which("callgrind_control")
    if valgrind is None or control is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    port = processes.free_port()
    out = out_dir / f"callgrind.{mode}"
    callgrind = [valgrind, "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
    server = subprocess.Popen(
        [*callgrind, sys.executable, __file__, "--serve", str(port), mode],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        processes.wait_for_port(port, proc=server, timeout=180, what="the server under callgrind")
        asyncio.run(call(port, WARM_UP_CALLS))
        subprocess.run([control, "--instr=on", str(server.pid)], check=True, capture_output=True)
        asyncio.run(call(port, calls))
        subprocess.run([control, "--instr=off", str(server.pid)], check=True, capture_output=True)
        subprocess.run([control, "--dump", str(server.pid)], check=True, capture_output=True)
    finally:
        server.terminate()
        server.wait(timeout=60)
    total = 0
    for dump in out_dir.glob(f"callgrind.{mode}*"):
        for line in dump.read_text().splitlines():
            if line.startswith("totals:"):
                total += int(line.split()[1])
    return total // calls


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        asyncio.run(serve(int(sys.argv[2]), sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("modes", nargs="*", help=f"any of: {' '.join(MODES)} (default: all)")
    args = parser.parse_args()
    modes = args.modes or MODES
    if not set(modes) <= set(MODES):
        parser.error(f"modes are {', '.join(MODES)}")
    with tempfile.TemporaryDirectory(prefix="jangar-callgrind-") as out_dir:
        for mode in modes:
            print(f"{mode}: {count(mode, args.calls, Path(out_dir)):,} instructions per call", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
