"""The consumer loop: ``{ns}:events`` -> PostgreSQL, at least once, made exactly once by idempotent writes.

One step: read up to ``batch_size`` entries with XREADGROUP (this consumer's pending entries first, then
new ones, blocking while there are none), decode them (rows.py), write them in ONE transaction
(store.py), then XACK and XDEL them in one MULTI so that the stream does not grow. A crash anywhere in
between leaves the entries pending for this consumer: the next start re-reads them (XREADGROUP from id
0) and writes them again, which changes nothing that is already stored.

Failures, and what the loop does about them::

    PostgreSQL away (down, restarting, connection terminated, deadlock...)  wait with backoff, retry the
    Redis away                                                              same work; nothing is acked
    an entry that is not a batch of events (rows.BadEntry), or whose rows   copied to the dead-letter
    PostgreSQL refuses as data (SQLSTATE classes 22, 23)                    stream, acked, logged
    anything else (a bug)                                                   raised: the process exits

Pending entries of another consumer that stayed idle for ``claim_idle_ms`` (a writer that died under
another name) are claimed and written too. Every ``health_every_s`` the lag (entries pending and unread,
seconds behind) is logged and stored as JSON in ``{ns}:db_writer:health``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import asyncpg
import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from db_writer.config import DEFAULT_CONNECTIONS, WriterConfig
from db_writer.database import is_transient, open_database
from db_writer.rows import Batch, add_entry, decode_entries, entry_time_ms
from db_writer.store import Store
from shared.keys import Keys

log = logging.getLogger("db_writer")

GROUP = "db_writer"
BLOCK_MS = 1000
FIRST_BACKOFF_S = 0.05
MAX_BACKOFF_S = 5.0
# Adaptive batch size: entries per read start at MIN_BATCH (small transactions, a short lag); they double
# (up to ``batch_size``: larger transactions cost less per trade) while full reads find the writer more
# than BEHIND_S behind and no less behind than at the previous read (a backlog that is not shrinking), stay
# while it catches up, and halve once it is less than BEHIND_S behind. A fixed 20 kept a standing backlog
# of 2-6 s at 10,000 trades/s (docs/db-writer.md): up to two full batches in flight, each slowed by the
# other.
MIN_BATCH = 4
BEHIND_S = 1.0

T = TypeVar("T")
Entry = tuple[bytes, dict[bytes, bytes]]

# Errors that say "these rows are wrong", not "the database is away": retrying cannot help.
_DATA_ERRORS = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, TypeError, ValueError,
                OverflowError)


class Stopped(Exception):
    """stop() was called while the writer was waiting for PostgreSQL or Redis."""


@dataclass(slots=True)
class Counters:
    batches: int = 0
    entries: int = 0
    events: int = 0
    trades: int = 0  # trade rows written (a re-delivered trade counts again; it is stored once)
    dead: int = 0  # entries set aside in the dead-letter stream


@dataclass(frozen=True, slots=True)
class _Read:
    entries: list[Entry]  # as read, including entries trimmed before they were written
    present: list[Entry]
    batch: Batch
    bad: list[tuple[bytes, str]]


@dataclass(frozen=True, slots=True)
class Lag:
    pending: int  # delivered to a writer, not yet acknowledged (being written, or left by a crash)
    unread: int  # not yet delivered to any writer
    behind_s: float  # age of the oldest entry not yet written; 0 when there is none


class Writer:
    """Consume the events stream of one namespace into one database."""

    def __init__(self, redis: Redis, database_url: str, keys: Keys, *, batch_size: int = 20,
                 consumer: str = "writer-1", health_every_s: float = 5.0, claim_idle_ms: int = 60_000,
                 connections: int = DEFAULT_CONNECTIONS, block_ms: int = BLOCK_MS,
                 clock: Callable[[], float] = time.time) -> None:
        self.redis: Any = redis  # redis-py types every reply loosely; ours are bytes
        self.database_url = database_url
        self.keys = keys
        self.stream = keys.db_events()
        self.batch_size = batch_size  # the most entries per transaction
        self.read_count = min(MIN_BATCH, batch_size)  # entries asked for by the next read (adaptive)
        self._behind_s = 0.0  # age of the oldest entry of the previous read
        self.consumer = consumer
        self.health_every_s = health_every_s
        self.claim_idle_ms = claim_idle_ms
        self.connections = connections  # batches written at the same time, each on two connections
        self.block_ms = block_ms
        self.clock = clock
        self.pool: asyncpg.Pool | None = None
        self.store: Store | None = None
        self.status = "starting"
        self.counters = Counters()
        self.last_event_ts = 0  # newest event time written (ms)
        self.last_write_ms = 0
        self._read_pending = True  # this consumer's pending entries come first
        self._claimed_at = 0.0
        self._stop = asyncio.Event()

    @classmethod
    def from_config(cls, config: WriterConfig, redis: Redis) -> Writer:
        return cls(redis, config.common.database_url, Keys(config.common.namespace),
                   batch_size=config.batch_size, consumer=config.consumer,
                   health_every_s=config.health_every_s, claim_idle_ms=config.claim_idle_ms,
                   connections=config.connections)

    # ------------------------------------------------------------------ life cycle

    def stop(self) -> None:
        """Finish the batch in hand (if the database lets it), then return from run()."""
        self._stop.set()

    async def open(self) -> None:
        """Create/migrate the database and open the pool, waiting while PostgreSQL is away."""
        if self.pool is None:
            self.pool, flavour = await self._retry("database_unavailable", self._open_database)
            self.store = Store(flavour)
            log.info("database ready (%s PostgreSQL); consuming %s as %s/%s", flavour, self.stream,
                     GROUP, self.consumer)
        await self._retry("redis_unavailable", self._create_group)
        self.status = "ok"

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    async def run(self) -> None:
        """Write until stop(); the lag report runs alongside.

        Pipelined: the next batch is read and decoded (Python) while PostgreSQL writes up to
        ``connections`` earlier ones (two connections each, the lanes), and each batch is acknowledged by
        the task that wrote it. The lanes' advisory locks make batches in flight take turns in each lane,
        always in the same lock order, so they never deadlock; either outcome is the same (store.py). This
        consumer's pending entries are read only when nothing is in flight (they would include the entries
        being written).
        """
        reporter = asyncio.create_task(self._report_forever())
        writing: set[asyncio.Task[None]] = set()
        try:
            await self.open()
            while not self._stop.is_set():
                if writing and self._read_pending:
                    await asyncio.gather(*writing)
                await self._collect(writing, block=False)
                read = await self._read_batch()
                if read is None:
                    continue
                while len(writing) >= self.connections:
                    await self._collect(writing, block=True)
                writing.add(asyncio.create_task(self._store(read)))
            await asyncio.gather(*writing)
        except Stopped:
            pass
        finally:
            for task in writing:  # only after an error elsewhere: their entries stay pending
                task.cancel()
            await asyncio.gather(*writing, return_exceptions=True)
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
            await self.close()
        log.info("stopped after %d batches (%d entries, %d trades)", self.counters.batches,
                 self.counters.entries, self.counters.trades)

    @staticmethod
    async def _collect(writing: set[asyncio.Task[None]], block: bool) -> None:
        """Drop finished writes from ``writing`` (waiting for one first when ``block``), raising theirs."""
        if block and writing:
            await asyncio.wait(writing, return_when=asyncio.FIRST_COMPLETED)
        for task in [t for t in writing if t.done()]:
            writing.discard(task)
            task.result()

    # ------------------------------------------------------------------ one batch

    async def step(self) -> int:
        """Read, write and acknowledge one batch; return the number of entries it had (0: none came)."""
        read = await self._read_batch()
        if read is None:
            return 0
        await self._store(read)
        return len(read.entries)

    async def _read_batch(self) -> _Read | None:
        """The next entries, decoded; None when none came within the block time."""
        await self._claim_abandoned()
        entries = await self._retry("redis_unavailable", self._read)
        if not entries:
            return None
        self._adapt(entries)
        present: list[Entry] = []
        for entry_id, fields in entries:
            if fields:
                present.append((entry_id, fields))
            else:  # pending, but trimmed from the stream (the engine caps it) before it was written
                log.error("event entry %s was trimmed from the stream before it was written: lost",
                          entry_id.decode())
        batch, bad = await _decode_yielding(present)
        return _Read(entries, present, batch, bad)

    def _adapt(self, entries: list[Entry]) -> None:
        """Grow the next read while a backlog is not shrinking, shrink it once the writer caught up."""
        behind = self.clock() - entry_time_ms(entries[0][0]) / 1000
        previous, self._behind_s = self._behind_s, behind
        if behind <= BEHIND_S or len(entries) < self.read_count:
            self.read_count = max(min(MIN_BATCH, self.batch_size), self.read_count // 2)
        elif behind >= previous:
            self.read_count = min(self.batch_size, self.read_count * 2)

    async def _store(self, read: _Read) -> None:
        """Write a decoded batch, set aside what cannot be stored, acknowledge and delete the entries."""
        rejected = await self._write(read.batch, read.present, read.bad)
        if rejected:
            await self._retry("redis_unavailable", lambda: self._dead_letter(read.present, rejected))
        ids = [entry_id for entry_id, _ in read.entries]
        await self._retry("redis_unavailable", lambda: self._ack(ids))
        self.status = "ok"

    async def _read(self) -> list[Entry]:
        if self._read_pending:
            reply = await self.redis.xreadgroup(GROUP, self.consumer, {self.stream: "0"},
                                                count=self.read_count)
            entries: list[Entry] = reply[0][1] if reply else []
            if entries:
                return entries
            self._read_pending = False
        reply = await self.redis.xreadgroup(GROUP, self.consumer, {self.stream: ">"}, count=self.read_count,
                                            block=self.block_ms)
        return reply[0][1] if reply else []

    async def _write(self, batch: Batch, entries: list[Entry],
                     bad: list[tuple[bytes, str]]) -> dict[bytes, str]:
        """Store the batch; return the entries set aside (id -> reason), splitting it to find them."""
        rejected = dict(bad)
        try:
            await self._retry("database_unavailable", lambda: self._write_batch(batch))
        except _DATA_ERRORS as exc:
            good = [entry for entry in entries if entry[0] not in rejected]
            if len(good) == 1:
                rejected[good[0][0]] = f"refused by PostgreSQL: {type(exc).__name__}: {exc}"
                return rejected
            log.warning("a batch of %d entries was refused (%s: %s): writing them one at a time",
                        len(good), type(exc).__name__, exc)
            for entry in good:
                single, single_bad = decode_entries([entry])
                rejected.update(await self._write(single, [entry], single_bad))
            return rejected
        self.counters.batches += 1
        self.counters.entries += batch.entries
        self.counters.events += batch.events
        self.counters.trades += batch.trades
        self.last_event_ts = max(self.last_event_ts, batch.newest_ts)
        self.last_write_ms = int(self.clock() * 1000)
        return rejected

    async def _write_batch(self, batch: Batch) -> None:
        assert self.pool is not None and self.store is not None
        if not batch.has_rows():
            return  # only depth updates and rejections: nothing to store
        async with self.pool.acquire() as conn, self.pool.acquire() as other:
            try:
                await self.store.write_batch(conn, batch, other)  # two lanes, one connection each
            except _DATA_ERRORS:
                raise  # the transactions were rolled back; the connections are fine
            except BaseException:
                # Whatever broke mid-COPY may have left a connection in an unknown protocol state
                # (a terminated backend leaves asyncpg "in the middle of an operation"): never reuse
                # them. A connection that died is already back in the pool, and refuses terminate().
                for used in (conn, other):
                    with contextlib.suppress(asyncpg.InterfaceError):
                        used.terminate()
                raise

    async def _ack(self, ids: list[bytes]) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.xack(self.stream, GROUP, *ids)
        pipe.xdel(self.stream, *ids)
        await pipe.execute()

    async def _dead_letter(self, entries: list[Entry], rejected: dict[bytes, str]) -> None:
        pipe = self.redis.pipeline(transaction=True)
        for entry_id, fields in entries:
            reason = rejected.get(entry_id)
            if reason is not None:
                log.error("event entry %s set aside in %s: %s", entry_id.decode(), self.keys.db_writer_dead(),
                          reason)
                pipe.xadd(self.keys.db_writer_dead(), {b"id": entry_id, b"reason": reason.encode(), **fields})
        await pipe.execute()
        self.counters.dead += len(rejected)

    async def _claim_abandoned(self) -> None:
        """Take over entries another consumer left pending for claim_idle_ms (it died under its name)."""
        now = time.monotonic()
        if now - self._claimed_at < self.claim_idle_ms / 2000:
            return
        self._claimed_at = now
        try:
            reply = await self.redis.xautoclaim(self.stream, GROUP, self.consumer, self.claim_idle_ms,
                                                start_id="0-0", count=self.batch_size, justid=True)
        except RedisError as exc:
            log.warning("could not claim abandoned entries: %s", exc)
            return
        if reply and reply[1]:
            log.info("claimed %d entries left pending by another writer", len(reply[1]))
            self._read_pending = True

    # ------------------------------------------------------------------ waiting out outages

    async def _retry(self, status: str, action: Callable[[], Awaitable[T]]) -> T:
        """``action()``, retried with backoff while PostgreSQL or Redis is away; Stopped on stop()."""
        delay = FIRST_BACKOFF_S
        failures = 0
        while True:
            try:
                result = await action()
            except _DATA_ERRORS:
                raise
            except Exception as exc:
                if not (is_transient(exc) or isinstance(exc, (asyncpg.PostgresError, RedisError))):
                    raise
                failures += 1
                self.status = status
                if isinstance(exc, RedisError):
                    self._read_pending = True  # a reply may have been lost: entries delivered but unseen
                    if isinstance(exc, ResponseError) and "NOGROUP" in str(exc):  # the stream was deleted
                        with contextlib.suppress(RedisError):
                            await self._create_group()
                level = logging.WARNING if failures == 1 or failures % 20 == 0 else logging.DEBUG
                log.log(level, "%s (attempt %d, next in %.2f s): %s: %s", status.replace("_", " "), failures,
                        delay, type(exc).__name__, exc)
                try:
                    await asyncio.wait_for(self._stop.wait(), delay)
                except TimeoutError:
                    pass
                else:
                    raise Stopped from exc
                delay = min(delay * 2, MAX_BACKOFF_S)
                continue
            if failures:
                log.info("%s: recovered after %d failed attempts", status.replace("_", " "), failures)
            return result

    async def _open_database(self) -> tuple[asyncpg.Pool, Any]:
        # Each batch in flight writes its two lanes on two connections (store.py).
        return await open_database(self.database_url, pool_size=2 * self.connections)

    async def _create_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    # ------------------------------------------------------------------ lag

    async def lag(self) -> Lag:
        """Entries pending and unread in the group, and how far behind the oldest of them is."""
        try:
            groups = await self.redis.xinfo_groups(self.stream)
        except ResponseError:  # no stream yet
            return Lag(0, 0, 0.0)
        group = next((g for g in groups if _text(g.get("name")) == GROUP), None)
        if group is None:
            return Lag(0, 0, 0.0)
        pending = int(group.get("pending") or 0)
        unread = group.get("lag")
        if unread is None:  # Redis cannot tell after some trims; every acked entry is deleted, so:
            unread = max(0, int(await self.redis.xlen(self.stream)) - pending)
        oldest: bytes | str | None = None
        if pending:
            summary = await self.redis.xpending(self.stream, GROUP)
            oldest = summary.get("min")
        elif unread:
            after = await self.redis.xrange(self.stream, min=f"({_text(group.get('last-delivered-id'))}",
                                            count=1)
            oldest = after[0][0] if after else None
        behind = max(0.0, self.clock() - entry_time_ms(oldest) / 1000) if oldest else 0.0
        return Lag(pending, int(unread), behind)

    async def report(self) -> dict[str, Any]:
        """Log the lag and store it with the status in the health key; return what was stored."""
        lag = await self.lag()
        health = {
            "status": self.status,
            "consumer": self.consumer,
            "pending": lag.pending,
            "unread": lag.unread,
            "behindSeconds": round(lag.behind_s, 3),
            "lastEventTs": self.last_event_ts or None,
            "lastWriteAt": self.last_write_ms or None,
            "written": asdict(self.counters),
            "updatedAt": int(self.clock() * 1000),
        }
        ttl = max(10, int(self.health_every_s * 3))
        await self.redis.set(self.keys.db_writer_health(), orjson.dumps(health), ex=ttl)
        log.info("lag: %d pending, %d unread, %.1f s behind; status %s; written %d batches, %d entries, "
                 "%d trades", lag.pending, lag.unread, lag.behind_s, self.status, self.counters.batches,
                 self.counters.entries, self.counters.trades)
        return health

    async def _report_forever(self) -> None:
        while True:
            await asyncio.sleep(self.health_every_s)
            try:
                await self.report()
            except (RedisError, OSError) as exc:
                log.warning("could not report the lag: %s", exc)


async def _decode_yielding(entries: list[Entry]) -> tuple[Batch, list[tuple[bytes, str]]]:
    """decode_entries(), giving the event loop a turn after each entry.

    Decoding a full batch takes ~0.1-0.2 s of CPU (10,000 trades). In one piece it would hold back the
    batch being written meanwhile, whose every statement needs the loop. (Decoding in a thread instead
    made no difference in 3 interleaved runs, 2026-11-26, and cost more CPU: the GIL.)
    """
    batch = Batch()
    bad: list[tuple[bytes, str]] = []
    for entry_id, fields in entries:
        add_entry(batch, bad, entry_id, fields)
        await asyncio.sleep(0)
    return batch, bad


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
