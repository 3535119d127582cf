"""API-key authentication for the private ``orders`` stream, against the API's ``api_keys`` table.

The API owns ``api_keys(key_hash ... PRIMARY KEY, user_id text NOT NULL, created_at ...)``, holding the
SHA-256 of each key. Which representation the column has is read from the catalog at start, and both
work: ``bytea`` (the raw digest, what api/auth.py creates) or ``text`` (the lower-case hex digest).

When the table is missing (the ws service started first) we create it as the API does, ``bytea``, under
the API's transaction-level advisory lock so that concurrent creations do not collide; the API's own
``CREATE TABLE IF NOT EXISTS`` then finds it. A missing database is created too, as the API does.

Exceptions: :class:`AuthUnavailable` (the database cannot be asked right now: the client may retry),
raised by :meth:`Authenticator.user_for`; :class:`AuthStartError` when the database cannot be reached at
start-up or the table has an unexpected shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging

import asyncpg

from shared.database import ensure_database

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash bytea PRIMARY KEY,
    user_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""
_LOOKUP = "SELECT user_id FROM api_keys WHERE key_hash = $1"
_KEY_HASH_TYPE = """
SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
WHERE a.attrelid = to_regclass('api_keys') AND a.attname = 'key_hash' AND NOT a.attisdropped
"""
#: The API's schema lock id ("mudraapi" in ASCII, api/auth.py): whoever creates the tables holds it.
_SCHEMA_LOCK_ID = 0x6D75647261617069
_QUERY_TIMEOUT = 5.0
_DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


class AuthUnavailable(RuntimeError):
    """The key could not be checked (database unreachable or slow)."""


class AuthStartError(RuntimeError):
    """The database could not be used at start-up; the message names DATABASE_URL."""


class Authenticator:
    """Resolve API keys to user ids through a small asyncpg pool."""

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._pool: asyncpg.Pool | None = None
        self._hex_hash = False  # key_hash is text (hex digest) rather than bytea (raw digest)

    async def start(self, timeout: float = 15.0) -> None:
        """Connect and make sure the table exists, retrying until ``timeout`` seconds have passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        delay = 0.2
        while True:
            try:
                pool = await asyncpg.create_pool(self._database_url, min_size=1, max_size=4,
                                                 command_timeout=_QUERY_TIMEOUT)
                break
            except asyncpg.InvalidCatalogNameError:
                try:
                    await ensure_database(self._database_url)
                except (*_DB_ERRORS, ValueError) as exc:
                    raise AuthStartError(f"cannot create the database of DATABASE_URL: {exc}") from exc
            except _DB_ERRORS as exc:
                if loop.time() + delay > deadline:
                    raise AuthStartError(f"cannot reach the database of DATABASE_URL: {exc}") from exc
                log.warning("database not reachable yet (%s); retrying", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        try:
            self._hex_hash = await _ensure_schema(pool)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def user_for(self, api_key: str) -> str | None:
        """The user id owning ``api_key``, or None when the key is unknown."""
        if self._pool is None:
            raise AuthUnavailable("authentication is not available")
        digest = hashlib.sha256(api_key.encode())
        try:
            user_id = await self._pool.fetchval(
                _LOOKUP, digest.hexdigest() if self._hex_hash else digest.digest(), timeout=_QUERY_TIMEOUT)
        except _DB_ERRORS as exc:
            log.warning("api key lookup failed: %s", exc)
            raise AuthUnavailable("the user database is unavailable; retry") from exc
        return None if user_id is None else str(user_id)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()


async def _ensure_schema(pool: asyncpg.Pool) -> bool:
    """Create the table when missing; return whether its key_hash column holds hex text."""
    async with pool.acquire() as conn:
        # a concurrent creation by a process not taking the lock: the table exists, all we need
        with contextlib.suppress(asyncpg.UniqueViolationError, asyncpg.DuplicateTableError,
                                 asyncpg.DuplicateObjectError):
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK_ID)
                await conn.execute(SCHEMA)
        column_type = str(await conn.fetchval(_KEY_HASH_TYPE))
    if column_type == "bytea":
        return False
    if column_type == "text" or column_type.startswith("character"):
        return True
    raise AuthStartError(f"api_keys.key_hash in DATABASE_URL has type {column_type}; expected bytea or text")
