"""End to end through a real engine process: sign-up, deposits, orders, trades, exact balances."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.integration.api.conftest import EngineProcess, error_code, json_of, sign_up

Headers = dict[str, str]


async def deposit(client: httpx.AsyncClient, headers: Headers, asset: str, amount: str) -> dict[str, Any]:
    response = await client.post("/deposit", json={"asset": asset, "amount": amount}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def place(client: httpx.AsyncClient, headers: Headers, expected: int = 201, *, raw: bytes | None = None,
                **fields: Any) -> dict[str, Any]:
    body = {"market": "TATA-INR", "type": "limit", **fields}
    response = await (client.post("/order", content=raw, headers=headers) if raw is not None
                      else client.post("/order", json=body, headers=headers))
    assert response.status_code == expected, response.text
    result: dict[str, Any] = response.json()
    return result


async def balances(client: httpx.AsyncClient, headers: Headers) -> dict[str, tuple[str, str]]:
    body = json_of(await client.get("/balances", headers=headers))
    return {asset: (b["available"], b["locked"]) for asset, b in body.items()}


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 3.0) -> None:
    """Market data follows the engine within ~100 ms (API.md): poll for it."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "market data did not follow"
        await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_two_users_trade_with_exact_balances(client: httpx.AsyncClient, engine: EngineProcess) -> None:
    assert json_of(await client.get("/health")) == {"status": "ok", "engine": "up"}
    _, alice = await sign_up(client)
    _, bob = await sign_up(client)
    assert await deposit(client, alice, "INR", "100000") == {
        "INR": {"available": "100000.00", "locked": "0.00"}, "TATA": {"available": "0", "locked": "0"},
        "RELIANCE": {"available": "0", "locked": "0"}, "INFY": {"available": "0", "locked": "0"}}
    await deposit(client, bob, "TATA", "50")

    # JSON numbers are parsed exactly: 101.5 is 101.50, never a binary float.
    raw = b'{"market": "TATA-INR", "kind": "buy", "type": "limit", "price": 101.5, "quantity": 10,' \
          b' "clientOrderId": "alice-1"}'
    bid = await place(client, alice, raw=raw)
    assert bid["price"] == "101.50" and bid["quantity"] == "10"
    assert (bid["fillStatus"], bid["executedQuantity"], bid["fills"]) == ("new", "0", [])
    assert bid["clientOrderId"] == "alice-1" and bid["orderId"].startswith("TATA-INR-")
    assert (bid["timeInForce"], bid["postOnly"], bid["type"], bid["kind"]) == ("GTC", False, "limit", "buy")
    assert (await balances(client, alice))["INR"] == ("98985.00", "1015.00")

    duplicate = await client.post("/order", content=raw, headers=alice)
    assert duplicate.status_code == 409
    assert error_code(duplicate) == "DUPLICATE_CLIENT_ORDER_ID"
    assert duplicate.json()["error"]["orderId"] == bid["orderId"]

    ask = await place(client, bob, kind="sell", price="101.40", quantity="4")
    assert ask["fillStatus"] == "filled"
    assert ask["executedQuantity"] == "4" and ask["executedQuoteQuantity"] == "406.00"
    assert [(f["price"], f["quantity"]) for f in ask["fills"]] == [("101.50", "4")]  # the maker's price

    seen = json_of(await client.get(f"/order/{bid['orderId']}", headers=alice))
    assert (seen["fillStatus"], seen["executedQuantity"], seen["executedQuoteQuantity"]) == (
        "partially_filled", "4", "406.00")
    assert seen["fills"] == ask["fills"]
    hidden = await client.get(f"/order/{bid['orderId']}", headers=bob)
    assert hidden.status_code == 404 and error_code(hidden) == "ORDER_NOT_FOUND"
    assert (await client.delete(f"/order/{bid['orderId']}", headers=bob)).status_code == 404

    assert (await balances(client, alice))["INR"] == ("98985.00", "609.00")
    assert (await balances(client, alice))["TATA"] == ("4", "0")
    assert (await balances(client, bob))["INR"] == ("406.00", "0.00")
    assert (await balances(client, bob))["TATA"] == ("46", "0")

    quote = json_of(await client.post("/order/quote", json={"market": "TATA-INR", "kind": "sell",
                                                            "quantity": "8"}))
    assert quote == {"market": "TATA-INR", "kind": "sell", "quantity": "8", "fillableQuantity": "6",
                     "averagePrice": "101.50", "worstPrice": "101.50", "quoteQuantity": "609.00",
                     "fullyFillable": False}
    empty = json_of(await client.post("/order/quote", json={"market": "TATA-INR", "kind": "buy",
                                                            "quantity": 1}))
    assert (empty["fillableQuantity"], empty["averagePrice"], empty["quoteQuantity"]) == ("0", None, "0")

    assert [o["orderId"] for o in json_of(await client.get("/orders", headers=alice))] == [bid["orderId"]]
    assert json_of(await client.get("/orders", params={"market": "INFY-INR"}, headers=alice)) == []
    cancelled = json_of(await client.delete(f"/order/{bid['orderId']}", headers=alice))
    assert cancelled["fillStatus"] == "cancelled" and cancelled["executedQuantity"] == "4"
    again = await client.delete(f"/order/{bid['orderId']}", headers=alice)
    assert again.status_code == 409 and error_code(again) == "ORDER_NOT_OPEN"
    assert (await balances(client, alice))["INR"] == ("99594.00", "0.00")

    async def trade_published() -> bool:
        trades = json_of(await client.get("/trades", params={"market": "TATA-INR"}))
        return len(trades) == 1

    await eventually(trade_published)
    [trade] = json_of(await client.get("/trades", params={"market": "TATA-INR"}))
    assert (trade["price"], trade["quantity"], trade["quoteQuantity"], trade["isBuyerMaker"]) == (
        "101.50", "4", "406.00", True)
    assert trade["tradeId"] == ask["fills"][0]["tradeId"]

    async def book_empty_again() -> bool:
        depth = json_of(await client.get("/depth", params={"market": "TATA-INR"}))
        return depth["sequence"] >= 2 and depth["bids"] == [] and depth["asks"] == []

    await eventually(book_empty_again)
    ticker = json_of(await client.get("/ticker", params={"market": "TATA-INR"}))
    assert (ticker["lastPrice"], ticker["volume"], ticker["quoteVolume"], ticker["trades"]) == (
        "101.50", "4", "406.00", 1)


@pytest.mark.asyncio
async def test_engine_rejections_come_back_with_their_status(client: httpx.AsyncClient,
                                                             engine: EngineProcess) -> None:
    _, alice = await sign_up(client)
    _, bob = await sign_up(client)
    poor = await place(client, alice, 400, kind="buy", price="100", quantity="1")
    assert poor["error"]["code"] == "INSUFFICIENT_BALANCE"
    await deposit(client, alice, "INR", "10000")
    await deposit(client, bob, "TATA", "10")
    assert (await place(client, alice, 400, kind="buy", price="100.01", quantity="100"))["error"]["code"] == \
        "INSUFFICIENT_BALANCE"

    ask = await place(client, bob, kind="sell", price="100", quantity="5", clientOrderId="b1")
    cross = await place(client, alice, 400, kind="buy", price="100", quantity="1", postOnly=True)
    assert cross["error"]["code"] == "WOULD_CROSS"
    fok = await place(client, alice, 400, kind="buy", price="100", quantity="6", timeInForce="FOK")
    assert fok["error"]["code"] == "UNFILLABLE"
    ioc = await place(client, alice, kind="buy", price="100", quantity="7", timeInForce="IOC")
    assert (ioc["fillStatus"], ioc["executedQuantity"], ioc["timeInForce"]) == ("expired", "5", "IOC")
    assert ioc["clientOrderId"] is None and ask["clientOrderId"] == "b1"
    assert (await balances(client, alice))["INR"] == ("9500.00", "0.00")
    assert json_of(await client.get(f"/order/{ask['orderId']}", headers=bob))["fillStatus"] == "filled"

    market = await place(client, alice, type="market", kind="buy", quantity="3")
    assert (market["fillStatus"], market["executedQuantity"], market["price"]) == ("expired", "0", None)
    sold = await place(client, alice, type="market", kind="sell", quantity="2", timeInForce="GTC")
    assert sold["fillStatus"] == "expired"

    # DELETE /orders: the orders cancelled, and GET /orders oldest first.
    first = await place(client, bob, kind="sell", price="120", quantity="1", market="TATA-INR")
    second = await place(client, bob, kind="sell", price="110", quantity="2")
    listed = json_of(await client.get("/orders", headers=bob))
    assert [o["orderId"] for o in listed] == [first["orderId"], second["orderId"]]
    cancelled = json_of(await client.delete("/orders", params={"market": "TATA-INR"}, headers=bob))
    assert sorted(o["orderId"] for o in cancelled) == sorted([first["orderId"], second["orderId"]])
    assert all(o["fillStatus"] == "cancelled" for o in cancelled)
    assert json_of(await client.get("/orders", headers=bob)) == []
    assert json_of(await client.delete("/orders", headers=bob)) == []
    assert (await balances(client, bob))["TATA"] == ("5", "0")
