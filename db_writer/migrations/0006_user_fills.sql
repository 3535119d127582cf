-- A user's fills are found through `user_fills` instead of one index entry per trade and side.
-- trades_maker_user_ts and trades_taker_user_ts took a random B-tree insert each per trade, 4.6 us of
-- PostgreSQL's ~20 us per trade of the COPYs (measured 2026-11-26, bench/db_copy_order_bench.py's
-- batches). A row here lists the trades of one user written by one batch (one transaction) within one
-- minute, as parallel arrays: one index entry per user and batch, not per trade (a batch of 10,000
-- trades among 1,000 users: ~1,000 rows with ~20 trades each). Its heap insert and the parsing of its
-- arrays cost ~1 us per trade. Readers: api/history_db.py (GET /fills, the fills of stored orders).
--
-- Each stored trade is listed exactly once for its maker and once for its taker: the fast path writes a
-- batch's rows in the transaction that COPYs its trades (a trade already stored fails trades' key and the
-- batch goes the idempotent way), the idempotent path lists only the trades its INSERT actually stored.
-- All of a row's trades lie in one minute (bucket = ts - ts % 60,000; times are ms since the epoch, not
-- negative), so last_ts - first_ts < 60,000:
-- the rows holding trades of [a, b] are those with last_ts in [a, b + 59,999] and first_ts <= b.
CREATE TABLE user_fills (
    user_id    text COLLATE "C" NOT NULL,
    first_ts   bigint           NOT NULL,  -- the oldest and the newest ts of the trades listed
    last_ts    bigint           NOT NULL,
    markets    text[]           NOT NULL,  -- (markets[i], trade_ids[i]) is the key of a trade,
    trade_ids  bigint[]         NOT NULL,  -- ts[i] its time
    ts         bigint[]         NOT NULL,
    CHECK (cardinality(trade_ids) > 0 AND cardinality(markets) = cardinality(trade_ids)
           AND cardinality(ts) = cardinality(trade_ids)
           AND first_ts <= ALL (ts) AND last_ts >= ALL (ts)
           AND first_ts >= 0 AND last_ts - last_ts % 60000 = first_ts - first_ts % 60000)
);
CREATE INDEX user_fills_user_last ON user_fills (user_id, last_ts);

-- The trades already stored, listed the same way (one row per user, side-agnostic, and minute).
INSERT INTO user_fills (user_id, first_ts, last_ts, markets, trade_ids, ts)
SELECT user_id, min(ts), max(ts), array_agg(market ORDER BY ts, market, trade_id),
       array_agg(trade_id ORDER BY ts, market, trade_id), array_agg(ts ORDER BY ts, market, trade_id)
FROM (SELECT maker_user_id AS user_id, market, trade_id, ts FROM trades
      UNION ALL
      SELECT taker_user_id, market, trade_id, ts FROM trades) AS sides
GROUP BY user_id, ts - ts % 60000;

DROP INDEX trades_maker_user_ts;
DROP INDEX trades_taker_user_ts;
