"""Without a running engine: 503 ENGINE_UNAVAILABLE after ENGINE_TIMEOUT_MS, health degraded."""

from __future__ import annotations

import time

import pytest
import redis

from shared.keys import Keys
from tests.integration.api.conftest import ClientFactory, error_code, sign_up


@pytest.mark.asyncio
async def test_no_shard_registered_is_503(make_client: ClientFactory) -> None:
    async with make_client(ENGINE_TIMEOUT_MS="200") as client:
        _, headers = await sign_up(client)
        quote = {"market": "TATA-INR", "kind": "buy", "quantity": "1"}
        for method, path, body in [("GET", "/balances", None), ("GET", "/orders", None),
                                   ("POST", "/deposit", {"asset": "INR", "amount": "1"}),
                                   ("POST", "/order/quote", quote)]:
            response = await client.request(method, path, json=body, headers=headers)
            assert response.status_code == 503, (method, path)
            assert error_code(response) == "ENGINE_UNAVAILABLE"
        health = await client.get("/health")
        assert health.status_code == 503
        assert health.json() == {"status": "degraded", "engine": "down"}


@pytest.mark.asyncio
async def test_a_silent_shard_times_out_with_503(make_client: ClientFactory, sync_redis: redis.Redis,
                                                 keys: Keys) -> None:
    """The shard map names a shard but no engine pops its list: the API gives up after the timeout."""
    sync_redis.hset(keys.shards(), mapping={"TATA-INR": "all", "asset:INR": "all", "asset:TATA": "all"})
    async with make_client(ENGINE_TIMEOUT_MS="300") as client:
        _, headers = await sign_up(client)
        started = time.monotonic()
        response = await client.post("/order", headers=headers, json={
            "market": "TATA-INR", "kind": "buy", "type": "limit", "price": "1", "quantity": "1",
            "clientOrderId": "retry-me"})
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert error_code(response) == "ENGINE_UNAVAILABLE"
        assert 0.25 <= elapsed < 2.5
        # The request waits on the shard's list: an engine that comes back may still apply it, which
        # is why API.md says retrying with the same clientOrderId is the safe way to find out.
        assert sync_redis.llen(keys.engine_in("all")) == 1
        health = await client.get("/health")
        assert health.status_code == 503


@pytest.mark.asyncio
async def test_a_market_without_a_shard_makes_whole_exchange_answers_503(make_client: ClientFactory,
                                                                         sync_redis: redis.Redis,
                                                                         keys: Keys) -> None:
    """Balances or open orders merged without one shard would silently miss its part: 503 instead."""
    sync_redis.hset(keys.shards(), mapping={"TATA-INR": "all", "asset:INR": "all", "asset:TATA": "all"})
    async with make_client(ENGINE_TIMEOUT_MS="5000") as client:
        _, headers = await sign_up(client)
        started = time.monotonic()
        for path in ("/balances", "/orders"):
            response = await client.get(path, headers=headers)
            assert response.status_code == 503
            assert error_code(response) == "ENGINE_UNAVAILABLE"
            assert "INFY-INR" in response.json()["error"]["message"]
        assert time.monotonic() - started < 2  # known at once, no waiting for a reply
