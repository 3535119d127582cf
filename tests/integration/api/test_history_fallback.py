"""What the engine and Redis no longer hold comes from the DB writer's tables: GET /order/{id} of an order
the engine has forgotten, and GET /trades beyond the Redis list. Real engine, writer, Redis, PostgreSQL."""

from __future__ import annotations

import orjson
import pytest

from tests.integration.api.conftest import error_code, post_ok, sign_up
from tests.support.writer import running_writer, wait_drained

T = "TATA-INR"


async def trade_some(client) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, str]]]:
    """Alice buys from Bob's asks: filled, partially filled, cancelled, expired and untouched orders.

    Returns Alice's and Bob's headers and every order id with its owner's headers (14 trades in all)."""
    _, alice = await sign_up(client)
    _, bob = await sign_up(client)
    await post_ok(client, "/deposit", alice, asset="INR", amount="1000000")
    await post_ok(client, "/deposit", bob, asset="TATA", amount="1000")
    owners: dict[str, dict[str, str]] = {}

    async def order(headers: dict[str, str], **body: object) -> str:
        order_id: str = (await post_ok(client, "/order", headers, market=T, **body))["orderId"]
        owners[order_id] = headers
        return order_id

    for i in range(12):
        await order(bob, kind="sell", type="limit", price=f"{100 + i}.25", quantity=str(3 + i))
    # 4 fills (3+4+5+6), 2 left resting, then cancelled: partially filled, then cancelled.
    sweep = await order(alice, kind="buy", type="limit", price="103.25", quantity="20", clientOrderId="sw-1")
    await order(alice, kind="buy", type="market", quantity="9")  # 104.25 x 7, 105.25 x 2: 2 fills
    for _ in range(8):  # 105.25 x 6, then 106.25 x 2 of 9: Bob's 106.25 stays partially filled
        await order(alice, kind="buy", type="market", quantity="1")
    await order(alice, kind="buy", type="limit", price="1.00", quantity="5", timeInForce="IOC")  # expired
    response = await client.delete(f"/order/{sweep}", headers=alice)
    assert response.json()["fillStatus"] == "cancelled"
    return alice, bob, owners


@pytest.fixture
def database_url(own_database: str) -> str:
    """A database of this test's own: other tests' history must not mix into this one's."""
    return own_database


@pytest.mark.asyncio
async def test_an_order_the_engine_forgot_is_the_same_object_from_the_database(
        client, start_engine, sync_redis, keys, aredis, database_url):
    engine = start_engine()
    alice, bob, mine = await trade_some(client)
    live = {}
    for order_id, headers in mine.items():
        response = await client.get(f"/order/{order_id}", headers=headers)
        assert response.status_code == 200
        live[order_id] = response.content
    statuses = {orjson.loads(body)["fillStatus"] for body in live.values()}
    assert statuses >= {"filled", "partially_filled", "cancelled", "expired", "new"}
    async with running_writer(aredis, database_url, keys):
        await wait_drained(aredis, keys)
    # The engine forgets: a fresh engine with no snapshot or journal (as after 24 h for closed orders).
    engine.stop()
    sync_redis.delete(keys.snapshot("all"), keys.journal("all"))
    start_engine()
    for order_id, headers in mine.items():
        response = await client.get(f"/order/{order_id}", headers=headers)
        assert response.status_code == 200, (order_id, response.text)
        assert response.content == live[order_id], order_id  # byte for byte: the same view
        other = alice if headers is bob else bob
        refused = await client.get(f"/order/{order_id}", headers=other)
        assert (refused.status_code, error_code(refused)) == (404, "ORDER_NOT_FOUND")
    first = next(iter(mine)).rpartition("-")[2]
    for unknown in (f"{T}-999999", f"INFY-INR-{first}"):
        response = await client.get(f"/order/{unknown}", headers=alice)
        assert (response.status_code, error_code(response)) == (404, "ORDER_NOT_FOUND")


@pytest.mark.asyncio
async def test_trades_beyond_the_redis_list_come_from_the_database_newest_first(
        client, engine, sync_redis, keys, aredis, database_url):
    await trade_some(client)
    everything = await client.get("/trades", params={"market": T, "limit": 1000})
    full = everything.json()
    assert len(full) == 14
    assert [int(t["tradeId"].rpartition("-")[2]) for t in full] == sorted(
        (int(t["tradeId"].rpartition("-")[2]) for t in full), reverse=True)
    async with running_writer(aredis, database_url, keys):
        await wait_drained(aredis, keys)
    assert (await client.get("/trades", params={"market": T, "limit": 1000})).content == everything.content
    sync_redis.ltrim(keys.trades(T), 0, 4)  # Redis now holds only the 5 newest
    for limit in (3, 5, 6, 10, 13, 100):
        response = await client.get("/trades", params={"market": T, "limit": limit})
        assert response.status_code == 200
        assert response.json() == full[:limit], limit
    sync_redis.delete(keys.trades(T))  # nothing in Redis at all: the database alone
    response = await client.get("/trades", params={"market": T, "limit": 7})
    assert response.json() == full[:7]
    assert (await client.get("/trades", params={"market": "INFY-INR"})).json() == []
