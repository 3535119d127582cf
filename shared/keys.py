"""Every Redis key and channel name, under the ``MUDRA_NAMESPACE`` prefix (docs/internals.md)."""

from __future__ import annotations


class Keys:
    """Names for one exchange (namespace); two exchanges with different namespaces share nothing."""

    __slots__ = ("ns",)

    def __init__(self, namespace: str) -> None:
        self.ns = namespace

    # --- engine shards: command queue, in-flight batch, journal, snapshot
    def shards(self) -> str:
        """Hash market -> shard id and ``asset:<A>`` -> shard id, written by each engine at start."""
        return f"{self.ns}:shards"

    def shard_alive(self, shard: str) -> str:
        return f"{self.ns}:engine:{shard}:alive"

    def engine_in(self, shard: str) -> str:
        return f"{self.ns}:engine:{shard}:in"

    def engine_inflight(self, shard: str) -> str:
        return f"{self.ns}:engine:{shard}:inflight"

    def journal(self, shard: str) -> str:
        return f"{self.ns}:engine:{shard}:journal"

    def snapshot(self, shard: str) -> str:
        return f"{self.ns}:engine:{shard}:snapshot"

    # --- replies to one API process
    def replies(self, api_id: str) -> str:
        return f"{self.ns}:reply:{api_id}"

    # --- durable events for the DB writer
    def db_events(self) -> str:
        return f"{self.ns}:events"

    def db_writer_health(self) -> str:
        """String (JSON, with a TTL) the DB writer rewrites every few seconds: its lag and status."""
        return f"{self.ns}:db_writer:health"

    def db_writer_dead(self) -> str:
        """Stream of the event entries the DB writer could not store (malformed), kept for inspection."""
        return f"{self.ns}:db_writer:dead"

    # --- market data: pub/sub channels and the state the REST API reads
    def market_channel(self, market: str) -> str:
        return f"{self.ns}:md:{market}"

    def market_channel_pattern(self) -> str:
        return f"{self.ns}:md:*"

    def orders_channel(self) -> str:
        return f"{self.ns}:orders"

    def depth(self, market: str) -> str:
        return f"{self.ns}:depth:{market}"

    def trades(self, market: str) -> str:
        return f"{self.ns}:trades:{market}"

    def ticker(self, market: str) -> str:
        return f"{self.ns}:ticker:{market}"

    def klines(self, market: str, interval: str) -> str:
        return f"{self.ns}:kline:{interval}:{market}"
