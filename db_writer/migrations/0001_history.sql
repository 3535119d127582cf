-- Trades, the final state of every order, and every balance change, as the engine's events give them.
-- Units are the engine's integers: prices in ticks, quantities in lots (BIGINT: the writer refuses a
-- markets file whose grid would overflow them), quote amounts and balances in the asset's minor units
-- (NUMERIC(39,0): a price x quantity may exceed 2^63). Times are ms since the Unix epoch (UTC).
-- Every write is idempotent on these primary keys, so a batch written twice changes nothing.

CREATE TABLE trades (
    market          text          NOT NULL,
    trade_id        bigint        NOT NULL,  -- per engine shard, increasing
    price           bigint        NOT NULL,  -- ticks, the maker's price
    quantity        bigint        NOT NULL,  -- lots
    quote_quantity  numeric(39,0) NOT NULL,  -- quote minor units
    taker_side      text          NOT NULL CHECK (taker_side IN ('buy', 'sell')),
    maker_order_id  bigint        NOT NULL,
    taker_order_id  bigint        NOT NULL,
    maker_user_id   text          NOT NULL,
    taker_user_id   text          NOT NULL,
    ts              bigint        NOT NULL,
    seq             bigint        NOT NULL,  -- the command that made it
    shard           text          NOT NULL,
    PRIMARY KEY (market, trade_id)
);
-- A user's fills, newest first (GET /fills): one index per side of the trade.
CREATE INDEX trades_maker_user_ts ON trades (maker_user_id, ts);
CREATE INDEX trades_taker_user_ts ON trades (taker_user_id, ts);

-- One row per order: its state after the last command that changed it (the highest (shard, seq)).
-- Its fills are the trades naming it as maker or taker order. Room is left on each page so that most
-- updates of an order are HOT (no indexed column changes after it is placed).
CREATE TABLE orders (
    market             text          NOT NULL,
    order_id           bigint        NOT NULL,  -- the seq of the command that placed it
    user_id            text          NOT NULL,
    side               text          NOT NULL CHECK (side IN ('buy', 'sell')),
    order_type         text          NOT NULL CHECK (order_type IN ('limit', 'market')),
    price              bigint,                  -- ticks; NULL for a market order
    quantity           bigint        NOT NULL,  -- lots
    executed_quantity  bigint        NOT NULL,
    executed_quote     numeric(39,0) NOT NULL,  -- quote minor units
    status             text          NOT NULL
        CHECK (status IN ('new', 'partially_filled', 'filled', 'cancelled', 'expired')),
    time_in_force      text          NOT NULL CHECK (time_in_force IN ('GTC', 'IOC', 'FOK')),
    post_only          boolean       NOT NULL,
    client_order_id    text,
    created_at         bigint        NOT NULL,
    updated_at         bigint        NOT NULL,  -- ts of the command that last changed it
    seq                bigint        NOT NULL,  -- that command's seq
    shard              text          NOT NULL,
    PRIMARY KEY (market, order_id)
) WITH (fillfactor = 80);
CREATE INDEX orders_user_created ON orders (user_id, created_at);

-- One row per (command, user, asset) the command touched: the sum of the deltas of a user and asset is
-- the engine's balance, and (available, locked) is the balance right after that command.
CREATE TABLE balance_changes (
    shard            text          NOT NULL,
    seq              bigint        NOT NULL,
    user_id          text          NOT NULL,
    asset            text          NOT NULL,
    delta_available  numeric(39,0) NOT NULL,
    delta_locked     numeric(39,0) NOT NULL,
    available        numeric(39,0) NOT NULL,
    locked           numeric(39,0) NOT NULL,
    ts               bigint        NOT NULL,
    PRIMARY KEY (shard, seq, user_id, asset)
);
