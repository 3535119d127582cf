"""Users and API keys in PostgreSQL (asyncpg), with an in-memory cache of key hash -> user id.

Only the SHA-256 of a key is stored: a leaked table does not leak keys. A key is
``secrets.token_urlsafe(32)`` (256 random bits), so an unsalted hash is enough. Keys are never
revoked in v1, so a cached key stays valid for the life of the process.

The schema is created at start with ``CREATE TABLE IF NOT EXISTS`` under a transaction-level advisory
lock, because concurrent ``CREATE TABLE IF NOT EXISTS`` from several API processes can still collide
on PostgreSQL's catalog. A missing database is created too (API.md: no manual SQL step).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time

import asyncpg

from api.errors import SERVICE_UNAVAILABLE, ApiError
from shared.database import ensure_database

log = logging.getLogger("api.auth")

# Any constant shared by every process that runs this DDL; "mudraapi" in ASCII.
_SCHEMA_LOCK_ID = 0x6D75647261617069
_CONNECT_BUDGET_S = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id    text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash   bytea PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (user_id),
    created_at timestamptz NOT NULL DEFAULT now()
);
"""


def hash_key(api_key: str) -> bytes:
    return hashlib.sha256(api_key.encode()).digest()


def new_user_id() -> str:
    return f"u_{secrets.token_hex(8)}"


class AuthStore:
    """Create users with their key, and find the user of a key."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._cache: dict[bytes, str] = {}

    @classmethod
    async def open(cls, database_url: str) -> AuthStore:
        """Connect (creating the database if it is missing), create the schema, return the store."""
        pool = await _connect(database_url)
        try:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK_ID)
                await conn.execute(SCHEMA)
        except BaseException:
            await pool.close()
            raise
        return cls(pool)

    @property
    def pool(self) -> asyncpg.Pool:
        """The PostgreSQL pool, shared with the history routes (GET /klines, GET /fills)."""
        return self._pool

    async def close(self) -> None:
        await self._pool.close()

    async def create_user(self) -> tuple[str, str]:
        """A new user and API key: (user_id, api_key)."""
        user_id, api_key = new_user_id(), secrets.token_urlsafe(32)
        key_hash = hash_key(api_key)
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute("INSERT INTO users (user_id) VALUES ($1)", user_id)
                await conn.execute("INSERT INTO api_keys (key_hash, user_id) VALUES ($1, $2)",
                                   key_hash, user_id)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise _db_unavailable(exc) from exc
        self._cache[key_hash] = user_id
        return user_id, api_key

    async def user_for(self, key_hash: bytes) -> str | None:
        """The user owning the key with this hash, or None."""
        user_id = self._cache.get(key_hash)
        if user_id is not None:
            return user_id
        try:
            user_id = await self._pool.fetchval("SELECT user_id FROM api_keys WHERE key_hash = $1", key_hash)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise _db_unavailable(exc) from exc
        if user_id is not None:
            self._cache[key_hash] = user_id
        return user_id


async def _connect(database_url: str) -> asyncpg.Pool:
    """A pool on ``database_url``, retried for a while (PostgreSQL may still be starting)."""
    deadline = time.monotonic() + _CONNECT_BUDGET_S
    while True:
        try:
            return await asyncpg.create_pool(database_url, min_size=1, max_size=10)
        except asyncpg.InvalidCatalogNameError:
            await ensure_database(database_url)
        except (OSError, asyncpg.CannotConnectNowError) as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("PostgreSQL not reachable yet, retrying: %s", exc)
            await asyncio.sleep(1.0)


def _db_unavailable(exc: BaseException) -> ApiError:
    log.warning("PostgreSQL unavailable: %s", exc)
    return ApiError(SERVICE_UNAVAILABLE, "the user database is unavailable", status=503)
