"""The DB writer: engine events from the Redis stream ``{ns}:events`` into PostgreSQL (docs/db-writer.md).

Modules, from the pure core out to the I/O::

    rows.py      stream entries -> COPY data for each table (pure, no I/O; msgspec typed decoding)
    copycsv.py   COPY data in CSV: msgspec's JSON of the decoded events made CSV, or row by row
    store.py     one batch of rows -> one PostgreSQL transaction (COPY straight into the tables; on a
                 replay, COPY into staging and idempotent upserts)
    migrate.py   versioned SQL migrations (migrations/), applied at start under an advisory lock
    database.py  the asyncpg pool; creates a missing database
    writer.py    the consumer-group loop: read, write, acknowledge, retry, report lag
    config.py    settings from the environment, read once
"""
