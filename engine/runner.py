"""The engine service: a thin Redis adapter around the pure engine (docs/internals.md).

One loop, one thread: take a batch of requests (atomically moved from the shard's ``in`` list to its
``inflight`` list), apply them, then commit journal entry, DB events, replies, market data and the
removal of ``inflight`` in one atomic Lua script call (engine/commit.py). A crash before that call
leaves no trace but ``inflight``, which the next start processes first; a crash after it loses nothing.
Start-up restores the last snapshot and replays the journal after it, so the state is exactly what the
committed batches made it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

import orjson
import redis

from engine.commit import COMMIT, Writes
from engine.config import EngineConfig
from engine.core import Engine
from engine.journal import decode_batch, encode_batch
from engine.marketdata import BatchOutput, MarketData
from engine.requests import RequestHandler
from engine.snapshot import from_state, to_state
from shared.events import Event, encode_stored_events, stored_events
from shared.keys import Keys
from shared.views import levels_view
from shared.wire import WireError, decode_request, encode_reply

log = logging.getLogger("engine")

# Move up to ARGV[1] requests from KEYS[1] (in) to the end of KEYS[2] (inflight) and return them.
MOVE_BATCH = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items > 0 then
  redis.call('LTRIM', KEYS[1], #items, -1)
  redis.call('RPUSH', KEYS[2], unpack(items))
end
return items
"""
ALIVE_TTL_S = 10
DEPTH_WRITE_INTERVAL_S = 0.05
TICKER_REFRESH_S = 1.0
REPLY_TTL_S = 300
TRADES_KEPT = 1000
SNAPSHOT_VERSION = 1


class ShardConflict(RuntimeError):
    """Another live engine shard owns one of this shard's markets or assets."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class EngineService:
    def __init__(self, config: EngineConfig, client: redis.Redis, clock: Callable[[], int] = now_ms) -> None:
        self.config = config
        self.redis: Any = client  # redis-py types every reply as bytes | str; ours are bytes
        self.clock = clock
        self.keys = Keys(config.common.namespace)
        self.shard = config.shard
        self.engine = Engine(config.markets)
        self.handler = RequestHandler(self.engine)
        self.market_data = MarketData(config.markets.markets)
        self.last_journal_id = "0-0"
        self.last_ts = 0
        self.commands_since_snapshot = 0
        self.depth_dirty: set[str] = set(config.markets.markets)
        self._move_batch = client.register_script(MOVE_BATCH)
        self._commit = client.register_script(COMMIT)
        self._in = self.keys.engine_in(self.shard)
        self._inflight = self.keys.engine_inflight(self.shard)
        self._depth_written_at = 0.0
        self._alive_at = 0.0
        self._tickers_at = 0.0
        self._snapshot_at = time.monotonic()
        self._check_inflight = True
        self._last_batch_full = False
        self._snapshot_child: int | None = None

    # ------------------------------------------------------------------ start-up

    def register(self) -> None:
        """Claim this shard's markets and assets in the shard map; refuse if a live shard has one."""
        markets = sorted(self.config.markets.markets.values(), key=lambda m: m.symbol)
        fields = [m.symbol for m in markets]
        fields += sorted({f"asset:{a}" for m in markets for a in (m.base.symbol, m.quote.symbol)})
        owners = self.redis.hmget(self.keys.shards(), fields)
        for name, owner in zip(fields, owners, strict=True):
            if owner is None:
                continue
            other = owner.decode()
            if other != self.shard and self.redis.exists(self.keys.shard_alive(other)):
                raise ShardConflict(f"{name} belongs to the running engine shard {other!r}")
        self.redis.hset(self.keys.shards(), mapping=dict.fromkeys(fields, self.shard))
        self._refresh_alive(time.monotonic())

    def recover(self) -> int:
        """Restore the snapshot and replay the journal after it; return the commands replayed."""
        raw = self.redis.get(self.keys.snapshot(self.shard))
        if raw is not None:
            state = orjson.loads(raw)
            if state.get("version") != SNAPSHOT_VERSION:
                raise RuntimeError(f"unsupported engine snapshot version {state.get('version')!r}")
            self.engine = from_state(state["engine"], self.config.markets)
            self.handler = RequestHandler(self.engine)
            self.market_data.load_state(state["marketData"])
            self.last_journal_id = state["journalId"]
            self.last_ts = state["lastTs"]
        replayed = 0
        start = f"({self.last_journal_id}"
        while True:
            entries = self.redis.xrange(self.keys.journal(self.shard), min=start, count=1000)
            if not entries:
                break
            for entry_id, fields in entries:
                commands = decode_batch(fields[b"b"])
                events: list[Event] = []
                for command in commands:
                    events.extend(self.engine.apply(command))
                    self.last_ts = max(self.last_ts, command.ts)
                self.market_data.on_batch(events, self.last_ts, self._best_prices())
                replayed += len(commands)
                self.last_journal_id = entry_id.decode()
                start = f"({self.last_journal_id}"
        self.commands_since_snapshot = replayed
        self._publish_state(self.market_data.refresh_tickers(self.last_ts, self._best_prices()))
        return replayed

    # ------------------------------------------------------------------ the loop

    def run(self, should_stop: Callable[[], bool]) -> None:
        while not should_stop():
            self.step(block_s=DEPTH_WRITE_INTERVAL_S if self.depth_dirty else 0.5)
            self.housekeeping()
        self.reap_snapshot(wait=True)
        self.take_snapshot()

    def step(self, block_s: float = 0.0) -> int:
        """Process one batch (waiting up to ``block_s`` for the first request); return its size.

        One round trip takes the batch: after a full batch more is probably queued, so only the move
        script runs; otherwise a blocking move of the first request and the script for the rest go in
        one pipeline (Redis runs the script as soon as the blocking move returns).
        """
        items: list[bytes] = []
        if self._check_inflight:  # only a crash leaves a batch behind; after a commit it is empty
            items = self.redis.lrange(self._inflight, 0, -1)
            self._check_inflight = False
        if not items:
            size = self.config.batch_size
            if self._last_batch_full or block_s <= 0:
                items = self._move_batch(keys=[self._in, self._inflight], args=[size])
            else:
                pipe = self.redis.pipeline(transaction=False)
                pipe.blmove(self._in, self._inflight, block_s, "LEFT", "RIGHT")
                self._move_batch(keys=[self._in, self._inflight], args=[size - 1], client=pipe)
                first, more = pipe.execute()
                items = [first, *more] if first is not None else more
        self._last_batch_full = len(items) >= self.config.batch_size
        if items:
            self._process(items)
        return len(items)

    def _process(self, items: list[bytes]) -> None:
        ts = max(self.last_ts, self.clock())
        self.last_ts = ts
        commands = []
        events: list[Event] = []
        replies: dict[str, list[bytes]] = {}
        for raw in items:
            try:
                request = decode_request(raw)
            except WireError as exc:
                log.warning("dropped a malformed request (no one to answer): %s", exc)
                continue
            outcome = self.handler.handle(request, ts)
            if outcome.command is not None:
                commands.append(outcome.command)
                events.extend(outcome.events)
            reply = encode_reply(request.id, outcome.status, outcome.body)
            replies.setdefault(request.reply, []).append(reply)
        output = self.market_data.on_batch(events, ts, self._best_prices(), self.handler.rendered)
        self.handler.rendered.clear()
        writes = Writes()
        if commands:  # first: the script answers the first write's reply, this entry's id
            writes.xadd(self.keys.journal(self.shard), {"b": encode_batch(commands)})
        stored = stored_events(events)
        if stored:
            writes.xadd(self.keys.db_events(), {"s": self.shard, "e": encode_stored_events(stored)},
                        maxlen=self.config.events_maxlen)
        for key, batch in replies.items():
            writes.rpush(key, *batch)
            writes.expire(key, REPLY_TTL_S)
        self._queue_state(writes, output)
        writes.delete(self._inflight)
        first = self._run(writes)
        if commands:
            self.last_journal_id = first.decode()
            self.commands_since_snapshot += len(commands)

    def housekeeping(self) -> None:
        """Periodic work between batches: liveness, deferred depth writes, tickers, snapshots."""
        now = time.monotonic()
        if now - self._alive_at >= 2:
            self._refresh_alive(now)
        if self.depth_dirty and now - self._depth_written_at >= DEPTH_WRITE_INTERVAL_S:
            writes = Writes()
            self._queue_depth(writes, now)
            self._run(writes)
        if now - self._tickers_at >= TICKER_REFRESH_S:
            self._tickers_at = now
            self._publish_state(self.market_data.refresh_tickers(self.clock(), self._best_prices()))
        self.reap_snapshot()
        if self.commands_since_snapshot and now - self._snapshot_at >= self.config.snapshot_every_s:
            self.take_snapshot(background=True)

    def take_snapshot(self, background: bool = False) -> None:
        """Store the state as of the last committed batch and trim the journal before it.

        In the background a forked child serialises and writes it (copy-on-write, as Redis's own
        BGSAVE): serialising a large book takes ~4 ms per 1,000 orders, which would otherwise stall
        the loop. A child that fails leaves the journal untrimmed and the next interval tries again.
        """
        if self._snapshot_child is not None:
            return
        self.commands_since_snapshot = 0
        self._snapshot_at = time.monotonic()
        if not background:
            self._write_snapshot(self.redis)
            return
        pid = os.fork()
        if pid == 0:  # the child: its own connection, never returns into the loop
            status = 1
            try:
                self._write_snapshot(redis.Redis.from_url(self.config.common.redis_url, socket_timeout=None))
                status = 0
            finally:
                os._exit(status)
        self._snapshot_child = pid

    def _write_snapshot(self, client: Any) -> None:
        state = {
            "version": SNAPSHOT_VERSION,
            "journalId": self.last_journal_id,
            "lastTs": self.last_ts,
            "engine": to_state(self.engine),
            "marketData": self.market_data.to_state(),
        }
        pipe = client.pipeline(transaction=True)
        pipe.set(self.keys.snapshot(self.shard), orjson.dumps(state))
        pipe.xtrim(self.keys.journal(self.shard), minid=self.last_journal_id)
        pipe.execute()

    def reap_snapshot(self, wait: bool = False) -> None:
        """Collect a finished snapshot child; on failure make the next interval snapshot again."""
        if self._snapshot_child is None:
            return
        pid, status = os.waitpid(self._snapshot_child, 0 if wait else os.WNOHANG)
        if pid == 0:
            return
        self._snapshot_child = None
        if status != 0:
            log.error("background snapshot failed (status %d); retrying at the next interval", status)
            self.commands_since_snapshot = max(self.commands_since_snapshot, 1)

    # ------------------------------------------------------------------ output

    def _queue_state(self, writes: Writes, output: BatchOutput) -> None:
        keys = self.keys
        for market, frames in output.market_frames.items():
            writes.publish(keys.market_channel(market), b"\n".join(frames))
        if output.order_lines:
            writes.publish(keys.orders_channel(), b"\n".join(output.order_lines))
        for market, trades in output.trades.items():
            writes.lpush(keys.trades(market), *trades)
            writes.ltrim(keys.trades(market), 0, TRADES_KEPT - 1)
        for market, ticker in output.tickers.items():
            writes.set(keys.ticker(market), ticker)
        for (market, interval), candle in output.candles.items():
            writes.set(keys.klines(market, interval), candle)
        self.depth_dirty |= output.depth_changed
        now = time.monotonic()
        if self.depth_dirty and now - self._depth_written_at >= DEPTH_WRITE_INTERVAL_S:
            self._queue_depth(writes, now)

    def _queue_depth(self, writes: Writes, now: float) -> None:
        for symbol in sorted(self.depth_dirty):
            market = self.config.markets.markets[symbol]
            sequence, bids, asks = self.engine.depth(symbol, self.config.depth_levels)
            writes.set(self.keys.depth(symbol), orjson.dumps({
                "market": symbol, "sequence": sequence,
                "bids": levels_view(bids, market), "asks": levels_view(asks, market)}))
        self.depth_dirty.clear()
        self._depth_written_at = now

    def _publish_state(self, output: BatchOutput) -> None:
        writes = Writes()
        self._queue_state(writes, output)
        self._run(writes)

    def _run(self, writes: Writes) -> Any:
        """Run the writes in one COMMIT call; the first write's reply (None when there are none)."""
        return self._commit(keys=writes.keys, args=writes.args) if writes else None

    def _best_prices(self) -> dict[str, tuple[int | None, int | None]]:
        return {symbol: (book.best_bid(), book.best_ask()) for symbol, book in self.engine.books.items()}

    def _refresh_alive(self, now: float) -> None:
        self.redis.set(self.keys.shard_alive(self.shard), b"1", ex=ALIVE_TTL_S)
        self._alive_at = now
