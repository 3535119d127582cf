"""Orders: place, look up, cancel (one or all), list the open ones, and quote a market order."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api import order_ops
from api.body import read_body, read_json_object
from api.deps import CurrentUser, ServicesDep
from api.history_db import stored_order
from api.merge import first_error, merge_orders
from api.order_ops import order_ref
from api.responses import engine_response, json_response, raw_json
from api.schemas import Order, PlaceOrderRequest, Quote, QuoteRequest, body_schema, error_responses
from api.services import Services
from api.validation import market_for, parse_quote

router = APIRouter(tags=["orders"])

OrderIdPath = Annotated[str, Path(alias="orderId", description="market and number",
                                  examples=["TATA-INR-1042"])]
MarketFilter = Annotated[str | None, Query(description="only this market", examples=["TATA-INR"])]


@router.post("/order/quote", response_model=Quote, responses=error_responses(400, 503),
             openapi_extra=body_schema(QuoteRequest))
async def quote(request: Request, services: ServicesDep) -> Response:
    """Walk the book as a market order of this quantity would, without changing anything (public)."""
    fields = parse_quote(await read_json_object(request), services.markets)
    shard = await services.engine.shard_for_market(fields["market"])
    return engine_response(await services.engine.request(shard, "quote", **fields))


@router.post("/order", status_code=201, response_model=Order,
             responses=error_responses(400, 401, 409, 429, 503), openapi_extra=body_schema(PlaceOrderRequest))
async def place_order(request: Request, services: ServicesDep, user: CurrentUser) -> Response:
    """Place a limit or market order; answers the order as it stands after matching."""
    return engine_response(await order_ops.place(services, user, await read_body(request)))


@router.get("/order/{orderId}", response_model=Order, responses=error_responses(401, 404, 429, 503))
async def get_order(order_id: OrderIdPath, services: ServicesDep, user: CurrentUser) -> Response:
    """One of the caller's orders, open or recently closed, with all its fills."""
    market, number = order_ref(order_id, services)
    shard = await services.engine.shard_for_market(market)
    reply = await services.engine.request(shard, "order", user=user, market=market, orderId=number)
    if reply.status == 404:  # closed long ago, forgotten by the engine: its final state in the database
        stored = await stored_order(services, user, services.markets.markets[market], number)
        if stored is not None:
            return json_response(stored)
    return engine_response(reply)


@router.delete("/order/{orderId}", response_model=Order, responses=error_responses(401, 404, 409, 429, 503))
async def cancel_order(order_id: OrderIdPath, services: ServicesDep, user: CurrentUser) -> Response:
    """Cancel one of the caller's open orders."""
    return engine_response(await order_ops.cancel(services, user, order_id))


@router.get("/orders", response_model=list[Order], responses=error_responses(400, 401, 429, 503))
async def open_orders(services: ServicesDep, user: CurrentUser, market: MarketFilter = None) -> Response:
    """The caller's open orders, oldest first."""
    return await _per_shard(services, "orders", user, market)


@router.delete("/orders", response_model=list[Order], responses=error_responses(400, 401, 429, 503))
async def cancel_all(services: ServicesDep, user: CurrentUser, market: MarketFilter = None) -> Response:
    """Cancel the caller's open orders (of one market, or all); answers the orders cancelled."""
    return await _per_shard(services, "cancel_all", user, market)


async def _per_shard(services: Services, op: str, user: str, market: str | None) -> Response:
    """Ask the market's shard, or every shard when no market is given, and merge oldest first."""
    engine = services.engine
    if market is not None:
        market_for(market, services.markets)
        shard = await engine.shard_for_market(market)
        return engine_response(await engine.request(shard, op, user=user, market=market))
    shards = await engine.all_shards()
    replies = await asyncio.gather(*(engine.request(shard, op, user=user, market=None) for shard in shards))
    if len(replies) == 1:
        return engine_response(replies[0])
    error = first_error(replies)
    return engine_response(error) if error is not None else raw_json(merge_orders(replies))
