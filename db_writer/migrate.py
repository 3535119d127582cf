"""Versioned SQL migrations (``db_writer/migrations/``), applied at start by every writer process.

A file is ``NNNN_name.sql`` (applied on every database) or ``NNNN_name.<flavour>.sql`` where flavour is
``timescale`` (TimescaleDB is available: trades is a hypertable, candles are continuous aggregates) or
``plain`` (plain PostgreSQL: the writer maintains candle tables itself). A version has either one common
file or per-flavour files; a flavour without a file for that version skips it.

:func:`migrate` applies what is missing in ONE transaction that first takes a transaction-level advisory
lock, so several processes starting together apply each migration exactly once (the others wait, then
find nothing to do), and a failure leaves the schema as it was. ``schema_migrations`` records each
version with its flavour and the SHA-256 of its file: the flavour chosen for a database never changes
afterwards, a migration edited after it was applied is refused, and so is a database migrated by a newer
writer (a version this code does not know).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import asyncpg

log = logging.getLogger("db_writer.migrate")

Flavour = Literal["plain", "timescale"]
FLAVOURS: tuple[Flavour, ...] = ("plain", "timescale")
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Any constant shared by every process that migrates this schema: "mudradbw" in ASCII.
LOCK_ID = 0x6D75647261646277

_FILE_NAME = re.compile(r"(?P<version>[0-9]{4})_(?P<name>[a-z0-9_]+)(?:\.(?P<flavour>[a-z]+))?\.sql")

SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer     PRIMARY KEY,
    name        text        NOT NULL,
    flavour     text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    """The migration files or the database's recorded migrations are inconsistent."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    flavour: Flavour | None  # None: for every flavour
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration file of ``directory``, by version (MigrationError on a misnamed or clashing one)."""
    found: list[Migration] = []
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _FILE_NAME.fullmatch(path.name)
        if match is None:
            raise MigrationError(f"migration file {path.name}: expected NNNN_name[.flavour].sql")
        flavour = match["flavour"]
        if flavour is not None and flavour not in FLAVOURS:
            raise MigrationError(f"migration file {path.name}: unknown flavour {flavour!r}")
        found.append(Migration(int(match["version"]), match["name"], _flavour(flavour), path.read_text()))
    by_version: dict[int, list[Migration]] = {}
    for migration in found:
        by_version.setdefault(migration.version, []).append(migration)
    for version, group in by_version.items():
        flavours = [m.flavour for m in group]
        if (None in flavours and len(group) > 1) or len(set(flavours)) != len(flavours):
            raise MigrationError(f"migration {version:04d}: one common file, or at most one per flavour")
    return sorted(found, key=lambda m: (m.version, m.flavour or ""))


def _flavour(name: str | None) -> Flavour | None:
    for flavour in FLAVOURS:
        if name == flavour:
            return flavour
    return None


def pending(migrations: Sequence[Migration], applied: Mapping[int, str], flavour: Flavour) -> list[Migration]:
    """The migrations to apply on a database of ``flavour`` that has ``applied`` (version -> checksum).

    Raises MigrationError when an applied migration's file changed or is unknown to this code.
    """
    mine = [m for m in migrations if m.flavour in (None, flavour)]
    known = {m.version: m for m in mine}
    for version, checksum in applied.items():
        migration = known.get(version)
        if migration is None:
            if any(m.version == version for m in migrations):
                raise MigrationError(f"migration {version:04d} was applied for another flavour than "
                                     f"{flavour}")
            raise MigrationError(f"the database has migration {version:04d}, which this writer does not "
                                 "know: it was migrated by a newer version")
        if migration.checksum != checksum:
            raise MigrationError(f"migration {version:04d}_{migration.name} was changed after it was "
                                 "applied to this database; add a new migration instead")
    return [m for m in mine if m.version not in applied]


async def migrate(conn: asyncpg.Connection, migrations: list[Migration] | None = None) -> Flavour:
    """Apply the missing migrations in one transaction; return the database's flavour."""
    todo_from = load_migrations() if migrations is None else migrations
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_ID)
        await conn.execute(SCHEMA_MIGRATIONS)
        rows = await conn.fetch("SELECT version, checksum, flavour FROM schema_migrations")
        applied = {row["version"]: row["checksum"] for row in rows}
        recorded = {row["flavour"] for row in rows}
        flavour: Flavour = await _choose_flavour(conn) if not recorded else _recorded_flavour(recorded)
        todo = pending(todo_from, applied, flavour)
        for migration in todo:
            log.info("applying migration %04d_%s (%s)", migration.version, migration.name, flavour)
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, flavour, checksum) VALUES ($1, $2, $3, $4)",
                migration.version, migration.name, flavour, migration.checksum)
    return flavour


def _recorded_flavour(recorded: set[str]) -> Flavour:
    for flavour in FLAVOURS:
        if recorded == {flavour}:
            return flavour
    raise MigrationError(f"schema_migrations records an unknown or mixed flavour: {sorted(recorded)}")


async def _choose_flavour(conn: asyncpg.Connection) -> Flavour:
    """``timescale`` when the extension is available and can be created here, else ``plain``."""
    available = await conn.fetchval("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    if not available:
        return "plain"
    try:
        async with conn.transaction():  # a savepoint: a failure here leaves the migration going
            await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except asyncpg.PostgresError as exc:  # e.g. installed but not in shared_preload_libraries
        log.warning("timescaledb is installed but cannot be created (%s): using plain PostgreSQL", exc)
        return "plain"
    return "timescale"
