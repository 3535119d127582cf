"""Creating the exchange's PostgreSQL database on first start (API.md: no manual SQL step).

The API, the WebSocket server, the DB writer and the launcher may all find it missing at once on a fresh
server. ``CREATE DATABASE`` then fails for all but one of them, with DuplicateDatabaseError or, when
the two catalog inserts race, UniqueViolationError on pg_database's name index: both mean "it exists".
"""

from __future__ import annotations

import logging
from urllib.parse import unquote, urlsplit

import asyncpg

log = logging.getLogger("shared.database")

_ALREADY_THERE = (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError)


def database_name(database_url: str) -> str:
    """The database a URL names; ValueError when it names none."""
    name = unquote(urlsplit(database_url).path.lstrip("/"))
    if not name:
        raise ValueError("DATABASE_URL names no database")
    return name


async def ensure_database(database_url: str, timeout: float = 60) -> bool:
    """Create the database of ``database_url`` when it does not exist; True when this call created it.

    Connects to the ``postgres`` database of the same server for that (CREATE DATABASE cannot run in
    the database it creates). Connection errors propagate to the caller, which knows how to retry.
    """
    try:
        conn = await asyncpg.connect(database_url, timeout=timeout)
    except asyncpg.InvalidCatalogNameError:
        pass
    else:
        await conn.close()
        return False
    name = database_name(database_url)
    admin = await asyncpg.connect(database_url, database="postgres", timeout=timeout)
    try:
        await admin.execute('CREATE DATABASE "{}"'.format(name.replace('"', '""')))
    except _ALREADY_THERE:
        return False
    finally:
        await admin.close()
    log.info("created database %s", name)
    return True
