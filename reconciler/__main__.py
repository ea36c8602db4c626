"""`jangar-reconciler`: run the reconciler until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence

from jangar.reconciler import config as config_module
from jangar.reconciler import logs
from jangar.reconciler.app import Reconciler


async def _main(config: config_module.Config) -> None:
    reconciler = Reconciler(config)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, reconciler.stop)
    await reconciler.run()


def main(argv: Sequence[str] | None = None) -> None:
    config = config_module.load(sys.argv[1:] if argv is None else argv)
    logs.configure(os.environ.get("JANGAR_LOG_LEVEL", "INFO"))
    asyncio.run(_main(config))


if __name__ == "__main__":
    main()
