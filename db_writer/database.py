"""The writer's PostgreSQL connections: create a missing database (shared.database), migrate, open the
asyncpg pool.

Errors that mean "the database is away for now" (server down or restarting, connection dropped or
terminated by an administrator, too many connections, a deadlock or serialization failure) are
*transient*: the caller waits and tries the same work again. :func:`is_transient` decides.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from db_writer.migrate import Flavour, migrate
from shared.database import ensure_database

log = logging.getLogger("db_writer")

_TRANSIENT = (
    OSError,  # refused, reset, unreachable (ConnectionError and socket errors)
    asyncio.TimeoutError,
    asyncpg.InterfaceError,  # e.g. ConnectionDoesNotExistError-like client-side "connection is closed"
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.OperatorInterventionError,  # class 57: admin shutdown, pg_terminate_backend, crash shutdown
    asyncpg.InsufficientResourcesError,  # class 53: too many connections, out of memory or disk
    asyncpg.TransactionRollbackError,  # class 40: deadlock, serialization failure
    asyncpg.CannotConnectNowError,  # the server is starting up
    asyncpg.InternalClientError,  # asyncpg's protocol state after a connection died mid-operation
)


def is_transient(exc: BaseException) -> bool:
    """True when waiting and retrying the same work may succeed."""
    return isinstance(exc, _TRANSIENT)


async def open_database(database_url: str, pool_size: int = 2) -> tuple[asyncpg.Pool, Flavour]:
    """Create the database if missing, apply the migrations, open the pool; return it and the flavour."""
    await ensure_database(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        flavour = await migrate(conn)
    finally:
        await conn.close()
    # min_size=0: connections are opened on demand; with a floor, asyncpg's pool would also try to
    # restore it in the background during an outage (and log each failure with a traceback).
    pool = await asyncpg.create_pool(database_url, min_size=0, max_size=pool_size)
    return pool, flavour
