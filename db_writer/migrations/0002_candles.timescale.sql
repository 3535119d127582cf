-- Candles with TimescaleDB: trades becomes a hypertable on its integer ms time column and each
-- interval is a continuous aggregate over it, with real-time aggregation (materialized_only = false:
-- the newest, not yet materialized buckets are computed from trades at query time) and a refresh
-- policy. Every aggregate reads trades directly rather than the next finer one: first/last by trade id
-- stay one plain aggregate each, and no level waits for another's refresh.
-- Same names and columns as the plain path (0002_candles.plain.sql), so readers need not know which.
-- Runs inside the migration transaction: CREATE MATERIALIZED VIEW ... WITH NO DATA is allowed there
-- (WITH DATA is not); the policies fill the aggregates.

CREATE EXTENSION IF NOT EXISTS timescaledb;

-- A hypertable's unique keys must contain its partitioning column. A trade's ts never changes, so
-- (market, trade_id, ts) is as unique as (market, trade_id) and the writer's ON CONFLICT DO NOTHING
-- stays idempotent.
ALTER TABLE trades DROP CONSTRAINT trades_pkey;
ALTER TABLE trades ADD PRIMARY KEY (market, trade_id, ts);
SELECT create_hypertable('trades', 'ts', chunk_time_interval => 86400000::bigint, migrate_data => true);

-- Integer time needs a "now" in the same unit for real-time aggregation and the policies.
CREATE FUNCTION mudra_now_ms() RETURNS bigint
    LANGUAGE sql STABLE AS $$ SELECT (extract(epoch FROM now()) * 1000)::bigint $$;
SELECT set_integer_now_func('trades', 'mudra_now_ms');

CREATE MATERIALIZED VIEW candles_1s
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT market,
       time_bucket(1000::bigint, ts)  AS open_time,
       first(price, trade_id)         AS open,
       max(price)                     AS high,
       min(price)                     AS low,
       last(price, trade_id)          AS close,
       sum(quantity)                  AS volume,
       sum(quote_quantity)            AS quote_volume,
       count(*)                       AS trades,
       min(trade_id)                  AS first_trade_id,
       max(trade_id)                  AS last_trade_id
FROM trades
GROUP BY market, time_bucket(1000::bigint, ts)
WITH NO DATA;

CREATE MATERIALIZED VIEW candles_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT market,
       time_bucket(60000::bigint, ts) AS open_time,
       first(price, trade_id)         AS open,
       max(price)                     AS high,
       min(price)                     AS low,
       last(price, trade_id)          AS close,
       sum(quantity)                  AS volume,
       sum(quote_quantity)            AS quote_volume,
       count(*)                       AS trades,
       min(trade_id)                  AS first_trade_id,
       max(trade_id)                  AS last_trade_id
FROM trades
GROUP BY market, time_bucket(60000::bigint, ts)
WITH NO DATA;

CREATE MATERIALIZED VIEW candles_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT market,
       time_bucket(3600000::bigint, ts) AS open_time,
       first(price, trade_id)           AS open,
       max(price)                       AS high,
       min(price)                       AS low,
       last(price, trade_id)            AS close,
       sum(quantity)                    AS volume,
       sum(quote_quantity)              AS quote_volume,
       count(*)                         AS trades,
       min(trade_id)                    AS first_trade_id,
       max(trade_id)                    AS last_trade_id
FROM trades
GROUP BY market, time_bucket(3600000::bigint, ts)
WITH NO DATA;

CREATE MATERIALIZED VIEW candles_1d
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT market,
       time_bucket(86400000::bigint, ts) AS open_time,  -- UTC days: buckets start at multiples of 1 day
       first(price, trade_id)            AS open,
       max(price)                        AS high,
       min(price)                        AS low,
       last(price, trade_id)             AS close,
       sum(quantity)                     AS volume,
       sum(quote_quantity)               AS quote_volume,
       count(*)                          AS trades,
       min(trade_id)                     AS first_trade_id,
       max(trade_id)                     AS last_trade_id
FROM trades
GROUP BY market, time_bucket(86400000::bigint, ts)
WITH NO DATA;

-- Offsets are in the time column's unit (ms). Each policy materialises up to one bucket before now;
-- anything newer comes from the real-time part of the aggregate. Trades written late (after a writer
-- outage) invalidate the buckets they fall in, and a refresh re-materialises only invalidated buckets,
-- so a long start_offset costs little: it is how far back late trades still reach the materialised
-- candles without a manual refresh_continuous_aggregate() (docs/db-writer.md).
SELECT add_continuous_aggregate_policy('candles_1s', start_offset => 172800000::bigint,
    end_offset => 1000::bigint, schedule_interval => INTERVAL '5 seconds');
SELECT add_continuous_aggregate_policy('candles_1m', start_offset => 604800000::bigint,
    end_offset => 60000::bigint, schedule_interval => INTERVAL '30 seconds');
SELECT add_continuous_aggregate_policy('candles_1h', start_offset => 2592000000::bigint,
    end_offset => 3600000::bigint, schedule_interval => INTERVAL '5 minutes');
SELECT add_continuous_aggregate_policy('candles_1d', start_offset => 31536000000::bigint,
    end_offset => 86400000::bigint, schedule_interval => INTERVAL '1 hour');
-- (Each aggregate gets an index on (market, open_time DESC) by default: timescaledb.create_group_indexes.)
