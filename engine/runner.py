"""The engine service: a thin Redis adapter around the pure engine (docs/internals.md).

One loop, one thread: take a batch of requests (atomically moved from the shard's ``in`` list to the end
of its ``inflight`` list), apply them, then commit journal entry, DB events, replies, market data and the
removal of the batch from ``inflight`` in one atomic Lua script call (engine/commit.py), which also
takes the next requests. A crash before that call leaves no trace but ``inflight``, which the next
start processes first (in order); a crash after it loses nothing.
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

from engine.commit import Writes
from engine.config import EngineConfig
from engine.core import Engine
from engine.journal import decode_batch, encode_batch
from engine.marketdata import BatchOutput, MarketData, frame_bytes
from engine.requests import RequestHandler
from engine.snapshot import from_state, to_state
from shared.events import Event, encode_stored_rows, stored_events
from shared.keys import Keys
from shared.views import levels_view
from shared.wire import WireError, decode_request, encode_reply, pack_command

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
TICKER_REFRESH_S = 1.0  # how often the idle loop drops trades older than 24 h from the tickers
# Under load (the next batch already taken) tickers are published at most this often per market (batch
# time); the last batch of a burst or the idle loop publishes what is held back, so a change is published
# within this plus one loop turn, inside the contract's 100 ms for ticker updates.
TICKER_INTERVAL_MS = 50
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
        self.market_data = MarketData(config.markets.markets, TICKER_INTERVAL_MS)
        self.last_journal_id = "0-0"
        self.last_ts = 0
        self.commands_since_snapshot = 0
        self.depth_dirty: set[str] = set(config.markets.markets)
        self._move_batch = client.register_script(MOVE_BATCH)
        self._conn: Any = None
        self._pending = False  # a COMMIT call was sent and its reply not read yet
        self._pending_commands = 0  # the commands of the batch that call commits
        self._taken: list[bytes] = []  # requests already moved to in-flight, not yet applied
        self._in = self.keys.engine_in(self.shard)
        self._inflight = self.keys.engine_inflight(self.shard)
        self._depth_written_at = 0.0
        self._alive_at = 0.0
        self._tickers_at = 0.0
        self._snapshot_at = time.monotonic()
        self._check_inflight = True
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
                self.market_data.on_batch(events, self.last_ts, self._best_prices(), more=True)
                replayed += len(commands)
                self.last_journal_id = entry_id.decode()
                start = f"({self.last_journal_id}"
        self.commands_since_snapshot = replayed
        self._publish_changed_tickers()
        return replayed

    def _publish_changed_tickers(self) -> None:
        """Publish the tickers whose stored key differs from the restored state (beyond its ``time``).

        A ticker held back by the throttle when the engine died, or a 24 h window that lost trades
        meanwhile, is published; an unchanged one keeps its key byte for byte.
        """
        markets = sorted(self.market_data.markets)
        self.market_data.ticker_pending.update(markets)
        current = self.market_data.flush_tickers(self.last_ts, self._best_prices(), force=True)
        stored = self.redis.mget([self.keys.ticker(m) for m in markets])
        changed = BatchOutput()
        for market, raw in zip(markets, stored, strict=True):
            view = current.tickers[market]
            if raw is None or _without_time(raw) != _without_time(view):
                changed.tickers[market] = view
                changed.market_frames[market] = [frame_bytes(f"ticker@{market}", view)]
        self._publish_state(changed)

    # ------------------------------------------------------------------ the loop

    def run(self, should_stop: Callable[[], bool]) -> None:
        while not should_stop():
            self.step(block_s=self._idle_wait_s(), wait=False)
            self.housekeeping()
        self.sync()
        self._flush_tickers()
        self.reap_snapshot(wait=True)
        self.take_snapshot()

    def step(self, block_s: float = 0.0, wait: bool = True) -> int:
        """Process one batch (waiting up to ``block_s`` for the first request); return its size.

        The batch's commit also takes the requests after it (engine/commit.py), so a busy engine makes
        one round trip per batch. With ``wait=False`` (the loop) the commit's reply is read only after
        the next batch has been applied and rendered, so the engine works while Redis runs the commit:
        it keeps up to two batches taken ahead for that. ``sync`` reads an outstanding reply; after it
        every applied batch is committed. A blocking take (``BLMOVE`` of the first request plus the move
        script for the rest, one pipeline) happens only when nothing is taken or outstanding.
        """
        size = self.config.batch_size
        if not self._taken:
            self.sync()
        if not self._taken:
            self._taken = self._take(block_s)
        items = self._taken[:size]
        del self._taken[:size]
        if not items:
            return 0
        writes, commands = self._process(items)  # meanwhile Redis runs the previous batch's commit
        self.sync()
        self._send(writes, done=len(items), take=max(0, 2 * size - len(self._taken)), commands=commands)
        if wait:
            self.sync()
        return len(items)

    def sync(self) -> None:
        """Read the outstanding commit's reply, if any: its journal id and the requests it took."""
        if not self._pending:
            return
        self._pending = False
        first, taken = self._connection().read_response()
        if self._pending_commands:
            self.last_journal_id = first.decode()
            self.commands_since_snapshot += self._pending_commands
        self._taken.extend(taken)

    def _take(self, block_s: float) -> list[bytes]:
        """The requests left in flight by a crash (first call only), else a (blocking) move from ``in``."""
        items: list[bytes] = []
        if self._check_inflight:  # only a crash leaves requests behind; after a commit they are taken
            items = self.redis.lrange(self._inflight, 0, -1)
            self._check_inflight = False
        if items:
            return items
        size = self.config.batch_size
        if block_s <= 0:
            return list(self._move_batch(keys=[self._in, self._inflight], args=[size]))
        pipe = self.redis.pipeline(transaction=False)
        pipe.blmove(self._in, self._inflight, block_s, "LEFT", "RIGHT")
        self._move_batch(keys=[self._in, self._inflight], args=[size - 1], client=pipe)
        first, more = pipe.execute()
        return [first, *more] if first is not None else list(more)

    def _send(self, writes: Writes, done: int, take: int, commands: int = 0) -> None:
        """Send the COMMIT call (no outstanding reply allowed); ``sync`` reads its reply."""
        assert not self._pending
        self._connection().send_packed_command(
            [pack_command(writes.command(self._in, self._inflight, done, take))], check_health=False)
        self._pending = True
        self._pending_commands = commands

    def _connection(self) -> Any:
        """The runner's own connection for COMMIT calls (their replies are read late)."""
        if self._conn is None:
            self._conn = self.redis.connection_pool.get_connection()
        return self._conn

    def _process(self, items: list[bytes]) -> tuple[Writes, int]:
        """Apply and render a batch; its writes (journal entry first) and its number of commands."""
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
        output = self.market_data.on_batch(events, ts, self._best_prices(), self.handler.rendered,
                                           more=bool(self._taken))
        self.handler.rendered.clear()
        writes = Writes()
        if commands:  # first: the script answers the first write's reply, this entry's id
            writes.xadd(self.keys.journal(self.shard), {"b": encode_batch(commands)})
        stored = stored_events(events)
        if stored:
            trades, orders, balances = encode_stored_rows(stored)
            writes.xadd(self.keys.db_events(), {"s": self.shard, "t": trades, "o": orders, "b": balances},
                        maxlen=self.config.events_maxlen)
        for key, batch in replies.items():
            writes.rpush(key, *batch)
            writes.expire(key, REPLY_TTL_S)
        self._queue_state(writes, output)
        return writes, len(commands)

    def _idle_wait_s(self) -> float:
        """How long an idle loop may block: until a deferred depth or ticker write is due."""
        wait = 0.5
        if self.depth_dirty:
            wait = DEPTH_WRITE_INTERVAL_S
        due = self.market_data.ticker_due_in(self.clock())
        if due is not None:
            wait = min(wait, max(due, 1) / 1000)
        return wait

    def housekeeping(self) -> None:
        """Periodic work between batches: liveness, deferred depth writes, tickers, snapshots."""
        now = time.monotonic()
        if now - self._alive_at >= 2:
            self._refresh_alive(now)
        if self.depth_dirty and now - self._depth_written_at >= DEPTH_WRITE_INTERVAL_S:
            writes = Writes()
            self._queue_depth(writes, now)
            self._run(writes)
        if self.market_data.ticker_due_in(max(self.last_ts, self.clock())) == 0:
            self._flush_tickers()  # the trailing update of a throttled ticker
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
        self.sync()  # the state to store is the committed one
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

    def _flush_tickers(self) -> None:
        """Publish the tickers the throttle holds back, as of the last batch."""
        if self.market_data.ticker_pending:
            self._publish_state(self.market_data.flush_tickers(self.last_ts, self._best_prices(), force=True))

    def _publish_state(self, output: BatchOutput) -> None:
        writes = Writes()
        self._queue_state(writes, output)
        self._run(writes)

    def _run(self, writes: Writes) -> None:
        """Commit writes outside a batch (nothing taken, nothing removed from in-flight)."""
        if writes:
            self.sync()
            self._send(writes, done=0, take=0)
            self.sync()

    def _best_prices(self) -> dict[str, tuple[int | None, int | None]]:
        return {symbol: (book.best_bid(), book.best_ask()) for symbol, book in self.engine.books.items()}

    def _refresh_alive(self, now: float) -> None:
        self.redis.set(self.keys.shard_alive(self.shard), b"1", ex=ALIVE_TTL_S)
        self._alive_at = now


def _without_time(ticker_json: bytes) -> object:
    """A ticker's fields but ``time``, to tell a changed ticker from a recomputed one."""
    try:
        ticker = orjson.loads(ticker_json)
    except orjson.JSONDecodeError:
        return None
    if isinstance(ticker, dict):
        ticker.pop("time", None)
    return ticker
