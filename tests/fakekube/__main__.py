"""Run the fake API server on its own, to poke at it with kubectl or curl:

.venv/bin/python -m tests.fakekube --port 8001
kubectl --server=http://127.0.0.1:8001 get jobs
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from tests.support import PROJECT_ROOT

from .jangar import jangar_custom_resources
from .server import FakeKube


async def _serve(port: int) -> None:
    async with FakeKube(crds=jangar_custom_resources(PROJECT_ROOT), port=port) as kube:
        print(f"fake Kubernetes API server on {kube.url}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakekube")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port))


if __name__ == "__main__":
    main()
