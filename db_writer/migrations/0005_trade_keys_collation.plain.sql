-- The trades' text keys compared byte by byte ("C"), not by the database's default collation (strcoll),
-- as 0004 did for orders: its three indexes compare them on every insert (~0.6 us of server CPU per trade
-- less, measured 2026-11-26). Equality is the same, and so is the order of ASCII texts (market symbols,
-- user ids). Plain PostgreSQL only: TimescaleDB's continuous aggregates read trades.market, and a column
-- a view reads cannot change its type or collation.
ALTER TABLE trades
    ALTER COLUMN market TYPE text COLLATE "C",
    ALTER COLUMN maker_user_id TYPE text COLLATE "C",
    ALTER COLUMN taker_user_id TYPE text COLLATE "C";
