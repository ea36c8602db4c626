"""Runs and checks the Alembic migrations in migrations/ (import name jangar.migrations)."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from jangar.server.repository.database import to_async_url

MIGRATE_COMMAND = "make migrate (or: jangar-dev migrate)"


def _config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("jangar.migrations")))
    if url is not None:
        # Alembic's config is an ini parser: escape '%' in passwords.
        config.set_main_option("sqlalchemy.url", to_async_url(url).replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "migrations/versions has no revision"
    return head


def upgrade_to_head(url: str) -> None:
    """Brings the database at `url` to the newest revision. Blocking; call it outside an event loop."""
    command.upgrade(_config(url), "head")


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        exists = await connection.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
        if not exists:
            return None
        return await connection.scalar(text("SELECT version_num FROM alembic_version"))


class SchemaBehindError(RuntimeError):
    """The database is not at the revision this server was built for."""


async def require_current_schema(engine: AsyncEngine) -> None:
    """Refuses to serve against a database whose schema is behind (or ahead of) this build."""
    current, head = await current_revision(engine), head_revision()
    if current != head:
        raise SchemaBehindError(
            f"database schema is at revision {current or 'none (empty database)'}, this server needs {head}; "
            f"migrate it with: {MIGRATE_COMMAND}"
        )
