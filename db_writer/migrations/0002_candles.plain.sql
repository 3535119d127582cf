-- Candles without TimescaleDB: tables that the writer keeps current with batched upserts in the same
-- transaction as the trades (store.py). A bucket is [open_time, open_time + interval) in ms, UTC;
-- a bucket with no trade has no row. open/close are the prices of the first/last trade by trade id
-- (several trades may share a millisecond), which first_trade_id/last_trade_id guard on every upsert.
-- The TimescaleDB path (0002_candles.timescale.sql) defines relations of the same names and columns.

CREATE TABLE candles_1s (
    market          text    NOT NULL,
    open_time       bigint  NOT NULL,
    open            bigint  NOT NULL,
    high            bigint  NOT NULL,
    low             bigint  NOT NULL,
    close           bigint  NOT NULL,
    volume          numeric NOT NULL,  -- lots
    quote_volume    numeric NOT NULL,  -- quote minor units
    trades          bigint  NOT NULL,
    first_trade_id  bigint  NOT NULL,
    last_trade_id   bigint  NOT NULL,
    PRIMARY KEY (market, open_time)
);
CREATE TABLE candles_1m (LIKE candles_1s INCLUDING ALL);
CREATE TABLE candles_1h (LIKE candles_1s INCLUDING ALL);
CREATE TABLE candles_1d (LIKE candles_1s INCLUDING ALL);
