"""Upgrades of a database that already holds data: what a revision does to the rows it finds."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import sqlalchemy

from jangar.server.migrations_runner import upgrade_to, upgrade_to_head


async def _empty_database(pg_url: str, name: str) -> str:
    admin = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return sqlalchemy.engine.make_url(pg_url).set(database=name).render_as_string(hide_password=False)


async def test_upgrading_to_revision_history_records_each_existing_definitions_spec(pg_url):
    url = await _empty_database(pg_url, "upgrade_0008")
    await asyncio.to_thread(upgrade_to, url, "0007")
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        spec = {"binary": "codex", "argsTemplate": ["exec"]}
        provider_id = await connection.fetchval(
            "INSERT INTO agent_providers (name, namespace, spec, generation) VALUES ('codex', 'team', $1, 3) "
            "RETURNING id",
            json.dumps(spec),
        )
        await asyncio.to_thread(upgrade_to_head, url)
        rows = await connection.fetch("SELECT * FROM definition_revisions")
    finally:
        await connection.close()

    assert [(r["resource_id"], r["number"], r["kind"], r["actor"]) for r in rows] == [
        (provider_id, 3, "AgentProvider", "system:migration")
    ]
    assert json.loads(rows[0]["spec"]) == spec
    assert rows[0]["audit_event_id"] is None
