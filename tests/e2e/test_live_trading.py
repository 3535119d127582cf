"""The live trading path end to end: HTTP orders in, WebSocket events out, all services as processes."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.support.services import Exchange

MARKET = "TATA-INR"
pytestmark = pytest.mark.asyncio


class Stream:
    """A WebSocket client that keeps replies and events apart."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.events: list[dict[str, Any]] = []
        self.replies: dict[int, dict[str, Any]] = {}
        self._next_id = 0

    async def call(self, method: str, params: Any) -> dict[str, Any]:
        self._next_id += 1
        request_id = self._next_id
        await self.conn.send(orjson.dumps({"method": method, "params": params, "id": request_id}).decode())
        while request_id not in self.replies:
            await self._read_one(5)
        return self.replies[request_id]

    async def _read_one(self, timeout: float) -> None:
        message = orjson.loads(await asyncio.wait_for(self.conn.recv(), timeout))
        if "stream" in message:
            self.events.append(message)
        else:
            self.replies[message["id"]] = message

    async def wait_for(self, predicate: Any, timeout: float = 5) -> dict[str, Any]:
        """The first event (old or new) that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for event in self.events[seen:]:
                if predicate(event):
                    return event
            seen = len(self.events)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching event; got {self.events[-5:]}")
            await self._read_one(remaining)


async def sign_up(http: httpx.AsyncClient) -> dict[str, str]:
    response = await http.post("/users")
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['apiKey']}"}, response.json()  # type: ignore[return-value]


async def order(http: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await http.post("/order", headers=headers, json={"market": MARKET, "type": "limit", **body})


async def test_two_users_trade_and_see_it_on_the_websocket(exchange: Exchange):
    async with httpx.AsyncClient(base_url=exchange.api_url, timeout=10) as http:
        (alice, alice_user), (bob, _) = await sign_up(http), await sign_up(http)
        for headers, asset, amount in ((alice, "INR", "10000"), (bob, "TATA", "10")):
            deposited = await http.post("/deposit", headers=headers, json={"asset": asset, "amount": amount})
            assert deposited.status_code == 200, deposited.text
        async with connect(exchange.ws_url) as conn:
            ws = Stream(conn)
            assert (await ws.call("AUTH", {"apiKey": alice_user["apiKey"]})) == {"id": 1, "result": None}
            reply = await ws.call("SUBSCRIBE", [f"depth@{MARKET}", f"trade@{MARKET}", "orders"])
            assert reply == {"id": 2, "result": None}
            snapshot = await ws.wait_for(lambda e: e["stream"] == f"depth@{MARKET}")
            assert snapshot["data"]["type"] == "snapshot"

            sell = await order(http, bob, kind="sell", price="100.00", quantity="5")
            assert sell.status_code == 201, sell.text
            update = await ws.wait_for(lambda e: e["stream"] == f"depth@{MARKET}"
                                       and e["data"]["type"] == "update" and e["data"]["asks"])
            assert update["data"]["asks"] == [["100.00", "5"]]

            buy = await order(http, alice, kind="buy", price="100.50", quantity="2", clientOrderId="a-1")
            assert buy.status_code == 201, buy.text
            placed = buy.json()
            assert (placed["fillStatus"], placed["executedQuantity"], placed["executedQuoteQuantity"]) == (
                "filled", "2", "200.00")
            trade = await ws.wait_for(lambda e: e["stream"] == f"trade@{MARKET}")
            assert (trade["data"]["price"], trade["data"]["quantity"], trade["data"]["isBuyerMaker"]) == (
                "100.00", "2", False)
            assert trade["data"]["tradeId"] == placed["fills"][0]["tradeId"]
            mine = await ws.wait_for(lambda e: e["stream"] == "orders")
            assert mine["data"] == placed  # the orders stream shows the same order object as the reply
            await ws.wait_for(lambda e: e["stream"] == f"depth@{MARKET}"
                              and e["data"]["asks"] == [["100.00", "3"]])

            balances = (await http.get("/balances", headers=alice)).json()
            assert balances["INR"] == {"available": "9800.00", "locked": "0.00"}
            assert balances["TATA"] == {"available": "2", "locked": "0"}
            cancelled = await http.delete(f"/order/{sell.json()['orderId']}", headers=bob)
            assert cancelled.status_code == 200 and cancelled.json()["fillStatus"] == "cancelled"
            await ws.wait_for(lambda e: e["stream"] == f"depth@{MARKET}"
                              and e["data"]["asks"] == [["100.00", "0"]])
            assert not any(e["stream"] == "orders" and e["data"]["orderId"] == sell.json()["orderId"]
                           for e in ws.events), "bob's order reached alice's private stream"


def apply_depth(book: dict[str, dict[Decimal, str]], data: dict[str, Any], last: int | None) -> int:
    if data["type"] == "snapshot":
        book["bids"] = {Decimal(p): q for p, q in data["bids"]}
        book["asks"] = {Decimal(p): q for p, q in data["asks"]}
        return int(data["sequence"])
    assert last is not None and data["firstSequence"] == last + 1, f"gap after {last}: {data}"
    for side in ("bids", "asks"):
        for price, quantity in data[side]:
            if quantity == "0":
                book[side].pop(Decimal(price), None)
            else:
                book[side][Decimal(price)] = quantity
    return int(data["sequence"])


def as_levels(levels: dict[Decimal, str], descending: bool) -> list[list[str]]:
    return [[format(p, "f"), q] for p, q in sorted(levels.items(), reverse=descending)]


async def test_snapshot_plus_diffs_equal_get_depth_while_2000_orders_flow(exchange: Exchange):
    rng = random.Random(3)
    async with httpx.AsyncClient(base_url=exchange.api_url, timeout=20,
                                 limits=httpx.Limits(max_connections=16)) as http:
        traders = [(await sign_up(http))[0] for _ in range(4)]
        for headers in traders:
            await http.post("/deposit", headers=headers, json={"asset": "INR", "amount": "100000000"})
            await http.post("/deposit", headers=headers, json={"asset": "TATA", "amount": "1000000"})
        async with connect(exchange.ws_url, max_size=2**24) as conn:
            ws = Stream(conn)
            assert (await ws.call("SUBSCRIBE", [f"depth@{MARKET}"]))["result"] is None
            book: dict[str, dict[Decimal, str]] = {"bids": {}, "asks": {}}
            last: int | None = None

            async def flow(n: int) -> None:
                for _ in range(n):
                    headers = rng.choice(traders)
                    kind = rng.choice(["buy", "sell"])
                    price = Decimal(rng.randint(9_900, 10_100)) / 100
                    response = await order(http, headers, kind=kind, price=str(price),
                                           quantity=str(rng.randint(1, 20)))
                    assert response.status_code == 201, response.text

            async def read_for(seconds: float) -> None:
                nonlocal last
                with contextlib.suppress(TimeoutError):
                    await ws._read_one(seconds)
                while ws.events:
                    last = apply_depth(book, ws.events.pop(0)["data"], last)

            orders = asyncio.gather(*(flow(250) for _ in range(8)))  # 2,000 orders, 8 at a time
            while not orders.done():
                await read_for(0.2)
            await orders
            # The book is quiet now: read until the client has the sequence GET /depth shows.
            deadline = time.monotonic() + 10
            while True:
                depth = (await http.get("/depth", params={"market": MARKET, "limit": 5000})).json()
                if depth["sequence"] == last or time.monotonic() > deadline:
                    break
                await read_for(0.2)
            # Most orders change the book (an order stopped at once by self-trade prevention does not).
            assert last is not None and last >= 1000
            assert depth["sequence"] == last
            assert depth["bids"] == as_levels(book["bids"], True)
            assert depth["asks"] == as_levels(book["asks"], False)
