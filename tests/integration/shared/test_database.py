"""shared.database.ensure_database against the real PostgreSQL: racing creators all succeed."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from shared.database import database_name, ensure_database
from tests.support.services import PG_BASE


@pytest.mark.asyncio
async def test_racing_creators_all_succeed_and_exactly_one_created_it() -> None:
    name = f"mudra_ensure_{uuid.uuid4().hex[:12]}"
    url = f"{PG_BASE}/{name}"
    try:
        created = await asyncio.gather(*(ensure_database(url) for _ in range(8)))
        assert sorted(created) == [False] * 7 + [True]
        conn = await asyncpg.connect(url)
        await conn.close()
        assert await ensure_database(url) is False
    finally:
        admin = await asyncpg.connect(f"{PG_BASE}/postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def test_a_url_without_a_database_is_refused() -> None:
    assert database_name(f"{PG_BASE}/with%20space") == "with space"
    with pytest.raises(ValueError, match="names no database"):
        database_name(PG_BASE)
