"""GET /orders/history: the caller's orders as the DB writer stored them, each the object GET /order shows.

Real engine process, DB writer, Redis and PostgreSQL (a database per test: no other test's orders)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from tests.integration.api.conftest import error_code, post_ok, sign_up
from tests.support.services import PG_BASE
from tests.support.writer import running_writer, wait_drained

T = "TATA-INR"
INFY = "INFY-INR"
HISTORY = "/orders/history"


@pytest.fixture
def database_url(own_database: str) -> str:
    """A database of this test's own: other tests' history must not mix into this one's."""
    return own_database


@pytest.fixture
def fast_path() -> bool:
    """The history route is never on the fast path: one run is enough."""
    return True


async def trade(client) -> tuple[dict[str, str], dict[str, str], dict[str, list[str]]]:
    """Bob rests asks on two markets, Alice takes some: every fillStatus on both sides.

    Returns Alice's and Bob's headers and each one's order ids in the order they were placed."""
    _, alice = await sign_up(client)
    _, bob = await sign_up(client)
    await post_ok(client, "/deposit", alice, asset="INR", amount="1000000")
    await post_ok(client, "/deposit", bob, asset="TATA", amount="1000")
    await post_ok(client, "/deposit", bob, asset="INFY", amount="1000")
    placed: dict[str, list[str]] = {"alice": [], "bob": []}

    async def order(who: str, **body: object) -> str:
        headers = alice if who == "alice" else bob
        order_id: str = (await post_ok(client, "/order", headers, **body))["orderId"]
        placed[who].append(order_id)
        return order_id

    for i in range(4):  # 100.25 x 3, 101.25 x 4, 102.25 x 5, 103.25 x 6
        await order("bob", market=T, kind="sell", type="limit", price=f"{100 + i}.25", quantity=str(3 + i))
    await order("bob", market=INFY, kind="sell", type="limit", price="50.00", quantity="10")
    # Alice: filled (100.25 x 3), partially filled then cancelled, expired IOC, market, open, INFY fill.
    await order("alice", market=T, kind="buy", type="limit", price="100.25", quantity="3",
                clientOrderId="f-1")
    sweep = await order("alice", market=T, kind="buy", type="limit", price="101.25", quantity="9")
    await order("alice", market=T, kind="buy", type="limit", price="1.00", quantity="5", timeInForce="IOC")
    await order("alice", market=T, kind="buy", type="market", quantity="2")
    await order("alice", market=T, kind="buy", type="limit", price="90.00", quantity="7")  # stays open
    await order("alice", market=INFY, kind="buy", type="limit", price="50.00", quantity="4")
    # Sent at once, so that the engine likely takes them in one batch, with one createdAt: ties by number.
    await asyncio.gather(*(order("alice", market=T, kind="buy", type="limit", price=f"{80 + i}.00",
                                 quantity="1") for i in range(6)))
    response = await client.delete(f"/order/{sweep}", headers=alice)
    assert response.json()["fillStatus"] == "cancelled"
    cancelled = await order("bob", market=T, kind="sell", type="limit", price="200.00", quantity="1")
    assert (await client.delete(f"/order/{cancelled}", headers=bob)).status_code == 200
    return alice, bob, placed


def newest_first(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """API.md's order objects sorted as the history lists them: createdAt, then order number, newest first."""
    def key(o: dict[str, Any]) -> tuple[int, int, str]:
        market, _, number = o["orderId"].rpartition("-")
        return o["createdAt"], int(number), market
    return sorted(orders, key=key, reverse=True)


@pytest.mark.asyncio
async def test_order_history_is_the_callers_get_order_objects_newest_first(
        client, engine, keys, aredis, database_url):
    _, nobody = await sign_up(client)
    # The writer has not created its tables yet: no history, not an error.
    before = await client.get(HISTORY, headers=nobody)
    assert (before.status_code, before.json()) == (200, [])
    alice, bob, placed = await trade(client)
    live: dict[str, list[dict[str, Any]]] = {}
    for who, headers in (("alice", alice), ("bob", bob)):
        live[who] = []
        for order_id in placed[who]:
            response = await client.get(f"/order/{order_id}", headers=headers)
            assert response.status_code == 200
            live[who].append(response.json())
    statuses = {o["fillStatus"] for o in live["alice"] + live["bob"]}
    assert statuses == {"new", "partially_filled", "filled", "cancelled", "expired"}
    async with running_writer(aredis, database_url, keys):
        await wait_drained(aredis, keys)

    for who, headers in (("alice", alice), ("bob", bob)):
        response = await client.get(HISTORY, headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == newest_first(live[who]), who
    assert (await client.get(HISTORY, headers=nobody)).json() == []

    mine = newest_first(live["alice"])
    assert any(o["fills"] for o in mine) and any(o["clientOrderId"] == "f-1" for o in mine)
    by_market = await client.get(HISTORY, params={"market": T}, headers=alice)
    assert by_market.json() == [o for o in mine if o["market"] == T]
    assert (await client.get(HISTORY, params={"market": "RELIANCE-INR"}, headers=alice)).json() == []
    for limit in (1, 2, 5, 1000):
        limited = await client.get(HISTORY, params={"limit": limit}, headers=alice)
        assert limited.json() == mine[:limit], limit
    oldest, newest = mine[-1]["createdAt"], mine[0]["createdAt"]
    window = await client.get(HISTORY, params={"startTime": oldest, "endTime": oldest}, headers=alice)
    assert window.json() == [o for o in mine if o["createdAt"] == oldest]
    after = await client.get(HISTORY, params={"startTime": newest + 1}, headers=alice)
    assert after.json() == []
    upto = await client.get(HISTORY, params={"endTime": newest, "market": INFY, "limit": 1}, headers=alice)
    assert upto.json() == [o for o in mine if o["market"] == INFY][:1]


@pytest.mark.asyncio
async def test_order_history_refuses_bad_parameters_with_the_contracts_envelopes(client, database_url):
    _, alice = await sign_up(client)
    for params, code in (
            ({"limit": 0}, "INVALID_REQUEST"), ({"limit": 1001}, "INVALID_REQUEST"),
            ({"limit": "ten"}, "INVALID_REQUEST"), ({"market": ""}, "INVALID_REQUEST"),
            ({"market": "X" * 65}, "INVALID_REQUEST"), ({"startTime": -1}, "INVALID_REQUEST"),
            ({"startTime": 5, "endTime": 4}, "INVALID_REQUEST"), ({"endTime": "now"}, "INVALID_REQUEST"),
            ({"market": "GOLD-INR"}, "UNKNOWN_MARKET"), ({"market": "tata-inr"}, "UNKNOWN_MARKET")):
        response = await client.get(HISTORY, params=params, headers=alice)
        assert (response.status_code, error_code(response)) == (400, code), params
    anonymous = await client.get(HISTORY)
    assert (anonymous.status_code, error_code(anonymous)) == (401, "UNAUTHORIZED")
    stranger = await client.get(HISTORY, headers={"Authorization": "Bearer nope"})
    assert (stranger.status_code, error_code(stranger)) == (401, "UNAUTHORIZED")
    assert (await client.get(HISTORY, headers=alice)).json() == []  # the key is now known to this API
    admin = await asyncpg.connect(f"{PG_BASE}/postgres")
    try:  # PostgreSQL is gone for this API: its connections ended, new ones refused
        await admin.execute(f'DROP DATABASE "{database_url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await admin.close()
    gone = await client.get(HISTORY, headers=alice)
    assert (gone.status_code, error_code(gone)) == (503, "SERVICE_UNAVAILABLE")


@pytest.mark.asyncio
async def test_order_history_path_is_neither_an_order_id_nor_the_open_orders(client, engine):
    _, alice = await sign_up(client)
    await post_ok(client, "/deposit", alice, asset="INR", amount="1000")
    placed = await post_ok(client, "/order", alice, market=T, kind="buy", type="limit", price="1.00",
                        quantity="1")
    assert (await client.get(HISTORY, headers=alice)).json() == []  # no writer ran: nothing stored yet
    assert [o["orderId"] for o in (await client.get("/orders", headers=alice)).json()] == [placed["orderId"]]
    assert (await client.get(f"/order/{placed['orderId']}", headers=alice)).status_code == 200
    wrong = await client.delete(HISTORY, headers=alice)
    assert (wrong.status_code, error_code(wrong)) == (405, "METHOD_NOT_ALLOWED")
    slash = await client.get("/order/history", headers=alice)
    assert (slash.status_code, error_code(slash)) == (404, "ORDER_NOT_FOUND")
    schema = (await client.get("http://test/openapi.json")).json()
    ref = schema["paths"]["/api/v1/orders/history"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ref["schema"]["items"]["$ref"].endswith("/Order")
