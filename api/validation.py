"""Check a decoded request body field by field and turn it into the engine's integer request fields.

The order of checks is API.md's: the request's shape (unknown or mistyped fields, enums) ->
values that are wrong in any market (missing, unparseable, <= 0 or too large price / quantity) ->
UNKNOWN_MARKET -> the market's grid (tick, lot, minQuantity). Everything after that (duplicate
clientOrderId, balance, postOnly, FOK) is the engine's to decide.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from api.errors import ApiError, invalid_request
from shared.errors import ErrorCode
from shared.markets import Market, MarketsConfig
from shared.money import MAX_UNITS, ConversionError, parse_decimal

CLIENT_ORDER_ID = re.compile(r"[A-Za-z0-9_-]{1,36}")
SIDES = ("buy", "sell")
ORDER_TYPES = ("limit", "market")
TIMES_IN_FORCE = ("GTC", "IOC", "FOK")

PLACE_FIELDS = frozenset({"market", "kind", "type", "price", "quantity", "timeInForce", "postOnly",
                          "clientOrderId"})
QUOTE_FIELDS = frozenset({"market", "kind", "quantity"})
DEPOSIT_FIELDS = frozenset({"asset", "amount"})


def parse_place_order(body: dict[str, Any], markets: MarketsConfig) -> dict[str, Any]:
    """POST /order -> the fields of the engine's ``place`` request."""
    only_fields(body, PLACE_FIELDS)
    symbol = required_str(body, "market")
    side = enum_field(body, "kind", SIDES, required=True)
    order_type = enum_field(body, "type", ORDER_TYPES, required=True)
    tif = enum_field(body, "timeInForce", TIMES_IN_FORCE, required=False)
    post_only = optional_bool(body, "postOnly")
    client_order_id = optional_client_order_id(body)
    raw_price = body.get("price")
    if order_type == "market":
        if tif not in (None, "GTC"):
            raise invalid_request("timeInForce applies to limit orders only")
        if post_only:
            raise invalid_request("postOnly applies to limit orders only")
        if raw_price is not None:
            raise ApiError(ErrorCode.INVALID_PRICE, "a market order takes no price")
    elif raw_price is None:
        raise ApiError(ErrorCode.INVALID_PRICE, "a limit order needs a price")
    else:
        precheck(raw_price, "price", ErrorCode.INVALID_PRICE)
    raw_quantity = require_amount(body, "quantity")
    market = market_for(symbol, markets)
    price = None if raw_price is None else convert(market.parse_price, raw_price, "price",
                                                   ErrorCode.INVALID_PRICE)
    quantity = convert(market.parse_quantity, raw_quantity, "quantity", ErrorCode.INVALID_QUANTITY)
    return {"market": symbol, "side": side, "type": order_type, "price": price, "quantity": quantity,
            "tif": tif or "GTC", "postOnly": bool(post_only), "clientOrderId": client_order_id}


def parse_quote(body: dict[str, Any], markets: MarketsConfig) -> dict[str, Any]:
    """POST /order/quote -> the fields of the engine's ``quote`` request."""
    only_fields(body, QUOTE_FIELDS)
    symbol = required_str(body, "market")
    side = enum_field(body, "kind", SIDES, required=True)
    raw_quantity = require_amount(body, "quantity")
    market = market_for(symbol, markets)
    quantity = convert(market.parse_quantity, raw_quantity, "quantity", ErrorCode.INVALID_QUANTITY)
    return {"market": symbol, "side": side, "quantity": quantity}


def parse_deposit(body: dict[str, Any], markets: MarketsConfig) -> dict[str, Any]:
    """POST /deposit -> the fields of the engine's ``deposit`` request (amount in minor units)."""
    only_fields(body, DEPOSIT_FIELDS)
    symbol = required_str(body, "asset")
    raw_amount = require_amount(body, "amount")
    asset = markets.assets.get(symbol)
    if asset is None:
        raise invalid_request(f"unknown asset {_show(symbol)}")
    amount = convert(asset.parse_amount, raw_amount, "amount", ErrorCode.INVALID_QUANTITY)
    return {"asset": symbol, "amount": amount}


# ------------------------------------------------------------------ field helpers


def only_fields(body: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid_request(f"unknown field(s): {', '.join(_show(name) for name in unknown)}")


def required_str(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        raise invalid_request(f"{name} is required")
    if not isinstance(value, str):
        raise invalid_request(f"{name} must be a string")
    return value


def enum_field(body: dict[str, Any], name: str, values: tuple[str, ...], *, required: bool) -> str | None:
    """One of ``values``; None when optional and absent or null."""
    value = body.get(name)
    if value is None:
        if required:
            raise invalid_request(f"{name} is required: one of {', '.join(values)}")
        return None
    if not isinstance(value, str) or value not in values:
        raise invalid_request(f"{name} must be one of {', '.join(values)}")
    return value


def optional_bool(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise invalid_request(f"{name} must be true or false")
    return value


def optional_client_order_id(body: dict[str, Any]) -> str | None:
    value = body.get("clientOrderId")
    if value is None:
        return None
    if not isinstance(value, str) or not CLIENT_ORDER_ID.fullmatch(value):
        raise invalid_request("clientOrderId must be 1-36 characters of A-Z a-z 0-9 _ -")
    return value


def require_amount(body: dict[str, Any], name: str) -> object:
    """A quantity or amount that must be there: missing or out of range is INVALID_QUANTITY."""
    value = body.get(name)
    if value is None:
        raise ApiError(ErrorCode.INVALID_QUANTITY, f"{name} is required")
    precheck(value, name, ErrorCode.INVALID_QUANTITY)
    return value


def precheck(value: object, name: str, code: ErrorCode) -> None:
    """What is wrong with a number in any market or asset: not a decimal, <= 0 or above the bound."""
    try:
        number = parse_decimal(value)
    except ConversionError as exc:
        raise ApiError(code, f"{name} {exc.reason}") from None
    if number <= 0:
        raise ApiError(code, f"{name} must be greater than zero")
    if number > MAX_UNITS:
        raise ApiError(code, f"{name} must be at most {MAX_UNITS}")


def convert(parse: Callable[[object], int], value: object, name: str, code: ErrorCode) -> int:
    try:
        return parse(value)
    except ConversionError as exc:
        raise ApiError(code, f"{name} {exc.reason}") from None


def market_for(symbol: str, markets: MarketsConfig) -> Market:
    market = markets.markets.get(symbol)
    if market is None:
        raise ApiError(ErrorCode.UNKNOWN_MARKET, f"unknown market {_show(symbol)}")
    return market


def _show(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")
