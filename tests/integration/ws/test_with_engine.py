"""The ws server against the real engine process (``python -m engine``), requests pushed as the API does."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import random
import signal
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import asyncpg
import orjson
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from shared.keys import Keys
from shared.wire import decode_reply, encode_request
from tests.integration.ws.conftest import ClientFactory, eventually
from tests.integration.ws.test_depth import BookFollower
from tests.integration.ws.test_process import ROOT, ws_env
from ws.server import WsServer

pytestmark = pytest.mark.asyncio

M = "TATA-INR"
_PURE_ENGINE = ("from tests.support.pure_build import use_pure_sources; use_pure_sources(); "
                "import runpy; runpy.run_module('engine', run_name='__main__', alter_sys=True)")


class EngineClient:
    """Push requests on the shard's list and wait for their replies, like an API process."""

    def __init__(self, redis: aioredis.Redis, namespace: str) -> None:
        self.redis = redis
        self.keys = Keys(namespace)
        self.reply_key = self.keys.replies("ws-test")
        self.ids = itertools.count(1)

    async def call(self, op: str, **fields: Any) -> tuple[int, Any]:
        request_id = str(next(self.ids))
        request = encode_request(request_id, self.reply_key, op, **fields)
        await self.redis.rpush(self.keys.engine_in("all"), request)
        async with asyncio.timeout(10):
            popped = await self.redis.blpop([self.reply_key], timeout=10)  # type: ignore[misc]
        assert popped is not None, f"no reply to {op}"
        raw = popped[1]
        assert isinstance(raw, bytes)
        reply_id, status, body = decode_reply(raw)
        assert reply_id == request_id
        return status, orjson.loads(body)


@pytest_asyncio.fixture
async def engine_process(namespace: str, redis_client: aioredis.Redis) -> AsyncIterator[EngineClient]:
    command = ([sys.executable, "-c", _PURE_ENGINE] if os.environ.get("MUDRA_TEST_PURE") == "1"
               else [sys.executable, "-m", "engine"])
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, env=ws_env(MUDRA_NAMESPACE=namespace), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    client = EngineClient(redis_client, namespace)
    try:
        assert await client.call("ping") == (200, {"status": "ok"})
        yield client
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()


async def test_clients_follow_the_real_engine(server: WsServer, client_factory: ClientFactory,
                                              engine_process: EngineClient, database_url: str,
                                              redis_client: aioredis.Redis, namespace: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("INSERT INTO api_keys (key_hash, user_id) VALUES ($1, $2)",
                           hashlib.sha256(b"maker-key").digest(), "u-maker")
    finally:
        await conn.close()
    early = await client_factory(server)
    assert await early.request("AUTH", {"apiKey": "maker-key"}) == {"id": 1, "result": None}
    await early.subscribe("orders", f"trade@{M}", f"depth@{M}")
    snapshot = await early.recv()
    assert snapshot["data"]["type"] == "snapshot"

    for user in ("u-maker", "u-taker"):
        assert (await engine_process.call("deposit", user=user, asset="INR", amount=10**10))[0] == 200
        assert (await engine_process.call("deposit", user=user, asset="TATA", amount=10**6))[0] == 200
    rng = random.Random(7)
    maker_orders: set[str] = set()
    late_followers: list[BookFollower] = []
    for n in range(300):
        user = rng.choice(("u-maker", "u-taker"))
        side = rng.choice(("buy", "sell"))
        status, order = await engine_process.call(
            "place", user=user, market=M, side=side, type="limit", price=rng.randint(9_950, 10_050),
            quantity=rng.randint(1, 20), tif="GTC", postOnly=False, clientOrderId=None)
        assert status == 201, order
        if user == "u-maker":
            maker_orders.add(order["orderId"])
        if n in (100, 200):
            late = await client_factory(server)
            await late.subscribe(f"depth@{M}")
            follower = BookFollower(late)
            follower.apply(await late.recv())
            late_followers.append(follower)

    # the engine's trailing depth write, then every follower reaches its sequence
    keys = Keys(namespace)

    await asyncio.sleep(0.2)
    raw_depth = await redis_client.get(keys.depth(M))
    assert raw_depth is not None
    depth = orjson.loads(raw_depth)
    assert depth["sequence"] > 0
    events: list[dict[str, Any]] = [snapshot]
    follower = BookFollower(early)
    follower.apply(snapshot)
    async with asyncio.timeout(10):
        while follower.sequence is None or follower.sequence < depth["sequence"]:
            event = await early.recv()
            events.append(event)
            if event["stream"] == f"depth@{M}":
                follower.apply(event)
    for each in late_followers:
        await each.follow_until(depth["sequence"])
    expected = {"sequence": depth["sequence"], "bids": depth["bids"], "asks": depth["asks"]}
    for each in (follower, *late_followers):
        assert _normal(each.book()) == _normal(expected)
    await eventually(lambda: server.books[M].sequence == depth["sequence"])

    # private frames: only the maker's own orders; public trades: as many as the engine recorded
    await asyncio.sleep(0.2)
    while True:
        try:
            events.append(await early.recv(timeout=0.3))
        except TimeoutError:
            break
    seen_orders = {e["data"]["orderId"] for e in events if e["stream"] == "orders"}
    assert seen_orders and seen_orders <= maker_orders
    trades = [e for e in events if e["stream"] == f"trade@{M}"]
    assert trades
    assert len(trades) == await redis_client.llen(keys.trades(M))
    assert len({t["data"]["tradeId"] for t in trades}) == len(trades)


def _normal(book: dict[str, Any]) -> dict[str, Any]:
    """Compare levels as numbers: the replica shows the engine's strings, which are canonical anyway."""
    return {"sequence": book["sequence"],
            "bids": [[Decimal(p), Decimal(q)] for p, q in book["bids"]],
            "asks": [[Decimal(p), Decimal(q)] for p, q in book["asks"]]}
