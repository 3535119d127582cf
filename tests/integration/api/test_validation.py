"""Every validation error the API itself answers, with its status and the contract's envelope.

These requests are all rejected before any engine is asked, so no engine runs here.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.api.conftest import error_code, sign_up

LIMIT = {"market": "TATA-INR", "kind": "buy", "type": "limit", "price": "101.50", "quantity": "10"}
MARKET = {"market": "TATA-INR", "kind": "buy", "type": "market", "quantity": "10"}


def order(base: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    body = dict(LIMIT if base is None else base)
    for name, value in changes.items():
        if value is ...:
            body.pop(name, None)
        else:
            body[name] = value
    return body


async def post_order(client: httpx.AsyncClient, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
    return await client.post("/order", headers=headers, **kwargs)


@pytest.mark.asyncio
@pytest.mark.parametrize(("raw", "why"), [
    (b'{"market": "TATA-INR", ', "truncated JSON"),
    (b"not json", "not JSON at all"),
    (b"[1, 2]", "an array, not an object"),
    (b'"TATA-INR"', "a string, not an object"),
    (b"", "an empty body"),
    (b'{"market": "TATA-INR", "market": "INFY-INR", "kind": "buy", "type": "market", "quantity": "1"}',
     "a duplicate key"),
    (b'{"market": "TATA-INR", "kind": "buy", "type": "limit", "price": NaN, "quantity": "1"}', "NaN"),
    (b'\xff\xfe{"market": 1}', "not UTF-8"),
    (b"[" * 40_000 + b"]" * 40_000, "nested too deeply"),
])
async def test_malformed_body_is_invalid_request(client: httpx.AsyncClient, raw: bytes, why: str) -> None:
    _, headers = await sign_up(client)
    response = await post_order(client, headers, content=raw)
    assert response.status_code == 400, why
    assert error_code(response) == "INVALID_REQUEST", why


@pytest.mark.asyncio
async def test_body_over_64_kib_is_invalid_request(client: httpx.AsyncClient) -> None:
    _, headers = await sign_up(client)
    padding = "x" * (1024 * 1024)
    response = await post_order(client, headers, json=order(clientOrderId=padding))
    assert response.status_code == 400
    assert error_code(response) == "INVALID_REQUEST"
    assert "larger than" in response.json()["error"]["message"]


@pytest.mark.asyncio
async def test_form_content_type_is_invalid_request(client: httpx.AsyncClient) -> None:
    _, headers = await sign_up(client)
    response = await post_order(client, headers, data={"market": "TATA-INR"})
    assert response.status_code == 400
    assert error_code(response) == "INVALID_REQUEST"


@pytest.mark.asyncio
@pytest.mark.parametrize(("body", "why"), [
    (order(leverage=10), "unknown field"),
    (order(market=...), "missing market"),
    (order(market=7), "market not a string"),
    (order(kind=...), "missing kind"),
    (order(kind="BUY"), "kind is case-sensitive"),
    (order(kind="hold"), "bad kind"),
    (order(type="stop"), "bad type"),
    (order(type=1), "type not a string"),
    (order(timeInForce="GTD"), "bad timeInForce"),
    (order(postOnly="true"), "postOnly as a string"),
    (order(postOnly=1), "postOnly as a number"),
    (order(clientOrderId=""), "empty clientOrderId"),
    (order(clientOrderId="x" * 37), "clientOrderId too long"),
    (order(clientOrderId="has space"), "clientOrderId bad character"),
    (order(clientOrderId=12), "clientOrderId not a string"),
    (order(MARKET, timeInForce="IOC"), "timeInForce on a market order"),
    (order(MARKET, postOnly=True), "postOnly on a market order"),
    (order(leverage=10, price="-1"), "shape is checked before values"),
])
async def test_bad_shape_is_invalid_request(client: httpx.AsyncClient, body: dict[str, Any],
                                            why: str) -> None:
    _, headers = await sign_up(client)
    response = await post_order(client, headers, json=body)
    assert response.status_code == 400, why
    assert error_code(response) == "INVALID_REQUEST", (why, response.text)


@pytest.mark.asyncio
@pytest.mark.parametrize(("raw_price", "why"), [
    (None, "missing on a limit order"),
    ('"0"', "zero"),
    ("0", "zero as a JSON number"),
    ('"-101.50"', "negative string"),
    ("-101.5", "negative JSON number"),
    ('"101.505"', "off tick"),
    ("101.505", "off tick as a JSON number"),
    ('"abc"', "unparseable"),
    ('"1e3"', "exponent in a string"),
    ('" 101.50"', "spaces"),
    ("true", "a boolean"),
    ('{"v": 1}', "an object"),
    ('"1000000000.01"', "above the bound"),
    ("1" + "0" * 400, "a huge JSON integer"),
    ("1e999999999", "a huge exponent"),
    ("1e-999999999", "a tiny exponent"),
])
async def test_bad_price_is_invalid_price(client: httpx.AsyncClient, raw_price: str | None, why: str) -> None:
    _, headers = await sign_up(client)
    price = "" if raw_price is None else f', "price": {raw_price}'
    raw = f'{{"market": "TATA-INR", "kind": "buy", "type": "limit", "quantity": "10"{price}}}'
    response = await post_order(client, headers, content=raw.encode())
    assert response.status_code == 400, why
    assert error_code(response) == "INVALID_PRICE", (why, response.text)


@pytest.mark.asyncio
async def test_price_on_a_market_order_is_invalid_price(client: httpx.AsyncClient) -> None:
    _, headers = await sign_up(client)
    response = await post_order(client, headers, json=order(MARKET, price="101.50"))
    assert response.status_code == 400
    assert error_code(response) == "INVALID_PRICE"


@pytest.mark.asyncio
@pytest.mark.parametrize(("raw_quantity", "why"), [
    (None, "missing"),
    ('"0"', "zero"),
    ('"-1"', "negative"),
    ('"1.5"', "off lot"),
    ("1.5", "off lot as a JSON number"),
    ('"ten"', "unparseable"),
    ('"1000000001"', "above the bound"),
    ("9" * 5000, "a 5000-digit JSON integer"),
    ("null", "null"),
])
async def test_bad_quantity_is_invalid_quantity(client: httpx.AsyncClient, raw_quantity: str | None,
                                                why: str) -> None:
    _, headers = await sign_up(client)
    quantity = "" if raw_quantity is None else f', "quantity": {raw_quantity}'
    raw = f'{{"market": "TATA-INR", "kind": "sell", "type": "limit", "price": "100"{quantity}}}'
    response = await post_order(client, headers, content=raw.encode())
    assert response.status_code == 400, why
    assert error_code(response) == "INVALID_QUANTITY", (why, response.text)


@pytest.mark.asyncio
async def test_values_are_checked_before_the_market(client: httpx.AsyncClient) -> None:
    """Values wrong in any market come first, then UNKNOWN_MARKET, then the market's grid."""
    _, headers = await sign_up(client)
    cases = [
        (order(market="DOGE-INR", price="-1"), "INVALID_PRICE"),
        (order(market="DOGE-INR", quantity="0"), "INVALID_QUANTITY"),
        (order(market="DOGE-INR", price="101.505"), "UNKNOWN_MARKET"),  # the grid needs a market
        (order(market="DOGE-INR", quantity="1.5"), "UNKNOWN_MARKET"),
        (order(market="tata-inr"), "UNKNOWN_MARKET"),
        (order(price="101.505", quantity="1.5"), "INVALID_PRICE"),
    ]
    for body, expected in cases:
        response = await post_order(client, headers, json=body)
        assert response.status_code == 400
        assert error_code(response) == expected, (body, response.text)


@pytest.mark.asyncio
async def test_quote_validation(client: httpx.AsyncClient) -> None:
    cases = [
        ({"market": "TATA-INR", "kind": "buy"}, "INVALID_QUANTITY"),
        ({"market": "TATA-INR", "kind": "buy", "quantity": "2", "price": "1"}, "INVALID_REQUEST"),
        ({"market": "TATA-INR", "kind": "short", "quantity": "2"}, "INVALID_REQUEST"),
        ({"market": "NOPE-INR", "kind": "buy", "quantity": "2"}, "UNKNOWN_MARKET"),
        ({"market": "TATA-INR", "kind": "buy", "quantity": "0.5"}, "INVALID_QUANTITY"),
    ]
    for body, expected in cases:
        response = await client.post("/order/quote", json=body)
        assert response.status_code == 400
        assert error_code(response) == expected, (body, response.text)


@pytest.mark.asyncio
async def test_deposit_validation(client: httpx.AsyncClient) -> None:
    _, headers = await sign_up(client)
    cases = [
        ({"asset": "INR"}, "INVALID_QUANTITY"),
        ({"asset": "INR", "amount": "0"}, "INVALID_QUANTITY"),
        ({"asset": "INR", "amount": "10.001"}, "INVALID_QUANTITY"),
        ({"asset": "TATA", "amount": "1.5"}, "INVALID_QUANTITY"),
        ({"asset": "INR", "amount": "1000000000.01"}, "INVALID_QUANTITY"),
        ({"asset": "DOGE", "amount": "10"}, "INVALID_REQUEST"),
        ({"asset": 5, "amount": "10"}, "INVALID_REQUEST"),
        ({"amount": "10"}, "INVALID_REQUEST"),
        ({"asset": "INR", "amount": "10", "note": "x"}, "INVALID_REQUEST"),
    ]
    for body, expected in cases:
        response = await client.post("/deposit", json=body, headers=headers)
        assert response.status_code == 400
        assert error_code(response) == expected, (body, response.text)


@pytest.mark.asyncio
@pytest.mark.parametrize("order_id", ["nope", "TATA-INR-", "TATA-INR-abc", "DOGE-INR-5", "TATA-INR--5",
                                      "TATA-INR-1" + "0" * 30])
async def test_unparseable_or_foreign_order_id_is_not_found(client: httpx.AsyncClient, order_id: str) -> None:
    _, headers = await sign_up(client)
    for method in ("GET", "DELETE"):
        response = await client.request(method, f"/order/{order_id}", headers=headers)
        assert response.status_code == 404
        assert error_code(response) == "ORDER_NOT_FOUND"


@pytest.mark.asyncio
async def test_open_orders_of_an_unknown_market(client: httpx.AsyncClient) -> None:
    _, headers = await sign_up(client)
    for method in ("GET", "DELETE"):
        response = await client.request(method, "/orders", params={"market": "DOGE-INR"}, headers=headers)
        assert response.status_code == 400
        assert error_code(response) == "UNKNOWN_MARKET"
