"""depth@M: snapshot then contiguous diffs, under load, across gaps, lagging keys and a lost Redis link."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from shared.types import Side
from tests.integration.ws.conftest import Client, ClientFactory, StartServer, eventually
from tests.integration.ws.engine_double import EngineDouble
from ws.server import WsServer

pytestmark = pytest.mark.asyncio

M = "TATA-INR"
DEPTH = f"depth@{M}"


class BookFollower:
    """What a careful client does: apply a snapshot, then diffs whose U is the previous u + 1."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.sequence: int | None = None
        self.bids: dict[Decimal, list[str]] = {}
        self.asks: dict[Decimal, list[str]] = {}
        self.snapshots = 0
        self.diffs = 0

    async def follow_until(self, sequence: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while self.sequence is None or self.sequence < sequence:
                self.apply(await self.client.recv())

    def apply(self, event: dict[str, Any]) -> None:
        assert event["stream"] == DEPTH, event
        data = event["data"]
        if data["type"] == "snapshot":
            self.snapshots += 1
            self.bids = {Decimal(p): [p, q] for p, q in data["bids"]}
            self.asks = {Decimal(p): [p, q] for p, q in data["asks"]}
            self.sequence = data["sequence"]
            return
        assert data["type"] == "update"
        assert self.sequence is not None, "a diff before the snapshot"
        assert data["firstSequence"] == self.sequence + 1, (self.sequence, data["firstSequence"])
        assert data["sequence"] >= data["firstSequence"]
        self.diffs += 1
        for side, levels in ((self.bids, data["bids"]), (self.asks, data["asks"])):
            for price, quantity in levels:
                if Decimal(quantity) == 0:
                    side.pop(Decimal(price), None)
                else:
                    side[Decimal(price)] = [price, quantity]
        self.sequence = data["sequence"]

    def book(self) -> dict[str, Any]:
        return {"sequence": self.sequence,
                "bids": [self.bids[p] for p in sorted(self.bids, reverse=True)],
                "asks": [self.asks[p] for p in sorted(self.asks)]}


def expected(engine: EngineDouble) -> dict[str, Any]:
    depth = engine[M].depth()
    return {"sequence": depth["sequence"], "bids": depth["bids"], "asks": depth["asks"]}


def replica(server: WsServer) -> dict[str, Any]:
    book = server.books[M]
    bids, asks = book.levels()
    return {"sequence": book.sequence, "bids": bids, "asks": asks}


async def subscribe_depth(client: Client) -> BookFollower:
    await client.subscribe(DEPTH)
    follower = BookFollower(client)
    first = await client.recv()
    assert first["data"]["type"] == "snapshot", first
    follower.apply(first)
    return follower


async def test_snapshot_of_key_then_contiguous_diffs(start_server: StartServer, client_factory: ClientFactory,
                                                     engine: EngineDouble) -> None:
    rng = random.Random(1)
    for _ in range(5):
        await engine.update(M, engine[M].random_changes(rng, 4), write_key=True)
    server = await start_server()
    client = await client_factory(server)
    await client.send({"method": "SUBSCRIBE", "params": [DEPTH], "id": 1})
    assert await client.recv() == {"id": 1, "result": None}
    snapshot = await client.recv()
    depth = engine[M].depth()
    assert depth["sequence"] == 20 and depth["bids"] and depth["asks"]
    assert snapshot == {"stream": DEPTH, "data": {"type": "snapshot", "sequence": 20, "bids": depth["bids"],
                                                  "asks": depth["asks"]}}
    follower = BookFollower(client)
    follower.apply(snapshot)
    sent = [await engine.update(M, engine[M].random_changes(rng, 3)) for _ in range(10)]
    for frame in sent:
        event = await client.recv()
        assert event == orjson.loads(frame)  # diffs forwarded exactly as the engine published them
        follower.apply(event)
    assert follower.book() == expected(engine) == replica(server)


async def test_resubscribe_gives_a_fresh_snapshot(client: Client, engine: EngineDouble) -> None:
    rng = random.Random(2)
    follower = await subscribe_depth(client)
    await engine.update(M, engine[M].random_changes(rng, 3))
    await follower.follow_until(3)
    await client.send({"method": "SUBSCRIBE", "params": [DEPTH], "id": 99})
    assert await client.recv() == {"id": 99, "result": None}
    again = await client.recv()
    assert again["data"]["type"] == "snapshot" and again["data"]["sequence"] == 3
    follower.apply(again)
    assert follower.book() == expected(engine)


async def test_unsubscribe_depth_stops_diffs(client: Client, engine: EngineDouble) -> None:
    await subscribe_depth(client)
    await client.request("UNSUBSCRIBE", [DEPTH])
    await engine.update(M, [(Side.BUY, 9_900, 5)])
    await client.silent()


async def test_clients_follow_2000_random_updates_exactly(server: WsServer, client_factory: ClientFactory,
                                                         engine: EngineDouble) -> None:
    rng = random.Random(20251125)
    join_at = sorted([0, *rng.sample(range(1, 1800), 6)])  # updates published before each client joins
    followers: list[BookFollower] = []
    readers: list[asyncio.Task[None]] = []
    target = 2000

    async def join() -> None:
        follower = await subscribe_depth(await client_factory(server))
        followers.append(follower)
        readers.append(asyncio.create_task(follower.follow_until(target, timeout=60)))

    loop = asyncio.get_running_loop()
    key_written = loop.time()
    published = 0
    while published < target:
        while join_at and join_at[0] <= published:
            join_at.pop(0)
            await join()
        count = min(rng.randint(1, 6), target - published)
        now = loop.time()
        # like the engine: the key in the same MULTI/EXEC as a diff, at most every 50 ms
        write_key = now - key_written >= 0.05
        await engine.update(M, engine[M].random_changes(rng, count), write_key=write_key)
        key_written = now if write_key else key_written
        published += count
        if rng.random() < 0.3:
            await asyncio.sleep(0)
    await engine.write_key(M)  # the engine's trailing write
    await asyncio.gather(*readers)
    assert len(followers) == 7
    final = expected(engine)
    assert final["sequence"] == target
    for follower in followers:
        assert follower.book() == final
        assert follower.snapshots == 1
    assert replica(server) == final


async def test_gap_in_feed_resyncs_and_sends_a_new_snapshot(client: Client, server: WsServer,
                                                            engine: EngineDouble) -> None:
    rng = random.Random(3)
    follower = await subscribe_depth(client)
    await engine.update(M, engine[M].random_changes(rng, 2))
    await follower.follow_until(2)
    engine[M].change(engine[M].random_changes(rng, 3))  # sequences 3..5 never published: lost
    await engine.update(M, engine[M].random_changes(rng, 2))  # 6..7: a gap for the server
    await client.silent(0.1)  # nothing forwarded while the key lags behind
    await engine.write_key(M)  # the engine's deferred write catches up
    resync = await client.recv()
    assert resync["data"]["type"] == "snapshot" and resync["data"]["sequence"] == 7
    follower.apply(resync)
    await engine.update(M, engine[M].random_changes(rng, 2))
    await follower.follow_until(9)
    assert follower.book() == expected(engine) == replica(server)


async def test_server_starting_on_a_lagging_key_catches_up(start_server: StartServer,
                                                           client_factory: ClientFactory,
                                                           engine: EngineDouble) -> None:
    rng = random.Random(4)
    await engine.update(M, engine[M].random_changes(rng, 5), write_key=True)
    await engine.update(M, engine[M].random_changes(rng, 5))  # published before the server ran
    server = await start_server()  # loads the key at 5 and hears nothing more: stale for now
    client = await client_factory(server)
    follower = await subscribe_depth(client)
    assert follower.sequence == 5
    await engine.write_key(M)  # within 50 ms in the real engine
    await follower.follow_until(10, timeout=3)
    assert follower.snapshots == 2
    assert follower.book() == expected(engine) == replica(server)


async def test_subscriber_of_a_loading_book_gets_its_snapshot_once_synced(
        start_server: StartServer, client_factory: ClientFactory, engine: EngineDouble) -> None:
    rng = random.Random(5)
    await engine.update(M, engine[M].random_changes(rng, 3), write_key=True)
    server = await start_server()
    engine[M].change(engine[M].random_changes(rng, 2))  # 4..5 lost
    await engine.update(M, engine[M].random_changes(rng, 1))  # 6: gap, the book reloads (key lags)
    await eventually(lambda: not server.books[M].synced)
    client = await client_factory(server)
    await client.subscribe(DEPTH)
    await client.silent(0.1)
    await engine.write_key(M)
    follower = BookFollower(client)
    await follower.follow_until(6)
    assert follower.snapshots == 1
    assert follower.book() == expected(engine)


async def test_lost_redis_connection_resyncs_subscribers(client: Client, server: WsServer,
                                                         engine: EngineDouble,
                                                         redis_client: aioredis.Redis) -> None:
    rng = random.Random(6)
    follower = await subscribe_depth(client)
    await engine.update(M, engine[M].random_changes(rng, 2), write_key=True)
    await follower.follow_until(2)
    generation = server.feed.generation
    await kill_feed_connection(redis_client, server)
    await engine.update(M, engine[M].random_changes(rng, 3), write_key=True)  # maybe lost
    await eventually(lambda: server.feed.generation > generation and server.feed.connected.is_set())
    await engine.update(M, engine[M].random_changes(rng, 2), write_key=True)
    await follower.follow_until(7)
    assert follower.book() == expected(engine)
    await eventually(lambda: replica(server) == expected(engine))


async def kill_feed_connection(redis_client: aioredis.Redis, server: WsServer) -> None:
    """CLIENT KILL the server's pub/sub connection (found by its client name), not anyone else's."""
    name = server.feed.client_name
    clients = await redis_client.client_list(_type="pubsub")
    ids = [c["id"] for c in clients if c.get("name") == name]
    assert ids, f"no pub/sub client named {name}"
    for client_id in ids:
        await redis_client.client_kill_filter(_id=client_id)
