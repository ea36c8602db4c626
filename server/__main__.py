"""`python -m jangar.server` (console script `jangar-server`): serve, or `migrate` the database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from jangar.server import logging_setup
from jangar.server.config import ConfigError, ServerSettings
from jangar.server.database_wait import DatabaseUnreachableError
from jangar.server.migrations_runner import SchemaBehindError, upgrade_to_head


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jangar-server", description="The Jangar control-plane API server.")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate"])
    args = parser.parse_args(argv)
    try:
        settings = ServerSettings.from_env()
    except ConfigError as error:
        print(f"jangar-server: {error}", file=sys.stderr)
        return 2
    logging_setup.configure(settings.log_level)
    if args.command == "migrate":
        upgrade_to_head(settings.database_url)
        return 0
    if settings.workers > 1:
        from jangar.server.workers import serve_workers

        return serve_workers(settings)
    return run_server(settings)


def run_server(settings: ServerSettings) -> int:
    """Serves in this process until a signal; the exit code says why it stopped."""
    try:
        asyncio.run(_serve(settings))
    except SchemaBehindError as error:
        logging.getLogger("jangar.server").error(str(error))
        print(f"jangar-server: {error}", file=sys.stderr)
        return 3
    except DatabaseUnreachableError as error:
        # One line, not a traceback: the cause is in the message.
        logging.getLogger("jangar.server").error(str(error))
        return 4
    return 0


async def _serve(settings: ServerSettings) -> None:
    from jangar.server.app import serve  # after logging is configured

    await serve(settings)


if __name__ == "__main__":
    sys.exit(main())
