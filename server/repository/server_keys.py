"""Keys the server generates for itself and keeps in the database, so that every replica and every restart
uses the same one without configuration. A key is created by whichever process asks first: the INSERT ...
ON CONFLICT DO NOTHING of a second, concurrent process waits for the first to commit, then the SELECT of
both reads the one row."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from jangar.server.repository.database import Database
from jangar.server.repository.tables import server_keys

KEY_BYTES = 32
PAGE_TOKENS = "page-tokens"


async def load_or_create(database: Database, purpose: str) -> bytes:
    """The key kept for `purpose`, created with KEY_BYTES random bytes when there is none."""
    async with database.transaction() as db:
        await db.execute(
            insert(server_keys)
            .values(purpose=purpose, key=secrets.token_bytes(KEY_BYTES))
            .on_conflict_do_nothing(index_elements=["purpose"])
        )
        key = await db.scalar(select(server_keys.c.key).where(server_keys.c.purpose == purpose))
    assert isinstance(key, bytes), f"no {purpose} key after inserting one"
    return key


async def page_token_key(database: Database) -> bytes:
    return await load_or_create(database, PAGE_TOKENS)
