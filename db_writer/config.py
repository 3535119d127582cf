"""The DB writer's configuration, read from the environment once at start-up.

A bad value raises :class:`shared.config.ConfigError` naming the variable; ``python -m db_writer``
prints it and exits non-zero.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from shared.config import CommonConfig, ConfigError, env_int, env_str, load_common
from shared.markets import MarketsConfig

# Ticks and lots are stored as BIGINT (cheap to COPY, compare and aggregate); quote amounts, balances
# and volumes as NUMERIC. A market whose largest price or quantity would not fit is refused at start.
BIGINT_MAX = 2**63 - 1
# Batches in flight at once (DB_WRITER_CONNECTIONS): docs/db-writer.md, "Configuration".
DEFAULT_CONNECTIONS = 3


@dataclass(frozen=True, slots=True)
class WriterConfig:
    common: CommonConfig
    batch_size: int  # stream entries (engine batches) read and written per PostgreSQL transaction
    consumer: str  # name in the consumer group; a restarted writer with the same name re-reads its pending
    health_every_s: int  # seconds between lag reports (log line and health key)
    claim_idle_ms: int  # pending entries of another consumer idle this long are taken over
    connections: int  # batches written at the same time (two PostgreSQL connections each: the lanes)


def load_config(environ: Mapping[str, str] | None = None) -> WriterConfig:
    """Read and check every setting of the DB writer (raises ConfigError on a bad one)."""
    env = os.environ if environ is None else environ
    common = load_common(env)
    if not unquote(urlsplit(common.database_url).path.lstrip("/")):
        raise ConfigError(f"DATABASE_URL must name a database, not {common.database_url!r}")
    check_markets_fit(common.markets)
    consumer = env_str(env, "DB_WRITER_CONSUMER", "writer-1")
    if len(consumer) > 64 or not consumer.isprintable() or " " in consumer:
        raise ConfigError(f"DB_WRITER_CONSUMER must be 1-64 printable characters without spaces, "
                          f"not {consumer!r}")
    return WriterConfig(
        common=common,
        batch_size=env_int(env, "DB_WRITER_BATCH_SIZE", 20, minimum=1, maximum=10_000),
        consumer=consumer,
        health_every_s=env_int(env, "DB_WRITER_HEALTH_SECONDS", 5, minimum=1, maximum=3600),
        claim_idle_ms=env_int(env, "DB_WRITER_CLAIM_IDLE_MS", 60_000, minimum=1000),
        connections=env_int(env, "DB_WRITER_CONNECTIONS", DEFAULT_CONNECTIONS, minimum=1,
                            maximum=16),
    )


def check_markets_fit(markets: MarketsConfig) -> None:
    """Refuse a markets file whose prices (ticks) or quantities (lots) could overflow BIGINT."""
    for market in markets.markets.values():
        if market.max_price_ticks > BIGINT_MAX or market.max_lots > BIGINT_MAX:
            raise ConfigError(f"MUDRA_MARKETS: market {market.symbol}: its tickSize or lotSize is so fine "
                              "that prices or quantities would not fit the database's 64-bit integers")
